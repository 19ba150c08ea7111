"""The reconcile function's configuration, read once per container from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from twilio_inbound.http_fields import api_url_from_env

# Messages younger than this are left to the webhook: Twilio may still be delivering (15 s timeout, retries
# from connection overrides), and a recovery then would count a message that was never lost.
SETTLE_SECONDS = 120
DEFAULT_WINDOW_MINUTES = 30  # a manual invocation's window when the template passes no schedule


@dataclass(frozen=True)
class ReconcileSettings:
    table_name: str
    numbers_table_name: str
    opt_outs_table_name: str
    secret_arn: str
    every_minutes: int = 0  # the schedule's period; each run looks at twice that, so one failed run loses nothing
    run_seconds: float = 240.0  # the run's own bound, below the function's timeout
    retention_days: int = 0
    twilio_api_url: str = ""  # empty: Twilio itself (another server only for stand-ins)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> ReconcileSettings:
        return cls(
            table_name=env["TABLE_NAME"],
            numbers_table_name=env["NUMBERS_TABLE_NAME"],
            opt_outs_table_name=env["OPT_OUTS_TABLE_NAME"],
            secret_arn=env["TWILIO_AUTH_TOKEN_SECRET_ARN"],
            every_minutes=int(env.get("RECONCILE_EVERY_MINUTES") or 0),
            run_seconds=float(env.get("RUN_SECONDS") or 240),
            retention_days=int(env.get("RETENTION_DAYS") or 0),
            twilio_api_url=api_url_from_env(env),
        )

    def window(self, now: datetime, minutes: int | None = None) -> tuple[datetime, datetime]:
        """(since, until): the last `minutes` (default twice the schedule's period) up to SETTLE_SECONDS ago."""
        length = minutes or (2 * self.every_minutes if self.every_minutes > 0 else DEFAULT_WINDOW_MINUTES)
        until = now - timedelta(seconds=SETTLE_SECONDS)
        return until - timedelta(minutes=length), until
