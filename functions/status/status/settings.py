"""The status function's configuration, read once per container from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from twilio_inbound.secret_source import SecretSource
from twilio_inbound.signature import SigningMode, signing_mode_from
from twilio_inbound.webhook import check_public_base_url

MAX_BODY_BYTES = 8 * 1024  # a status callback is a dozen short parameters


@dataclass(frozen=True)
class StatusSettings:
    table_name: str
    sends_table_name: str
    public_base_url: str = ""  # as for the ingest function: the URL Twilio calls, up to the route
    signing_mode: SigningMode = "auth-token"
    secrets: SecretSource = field(default_factory=SecretSource)
    retention_days: int = 0
    max_body_bytes: int = MAX_BODY_BYTES
    # Record callbacks for messages the stack did not send (another application's StatusCallback pointed here).
    accept_other_callbacks: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> StatusSettings:
        return cls(
            table_name=env["TABLE_NAME"],
            sends_table_name=env["SENDS_TABLE_NAME"],
            public_base_url=check_public_base_url(env.get("PUBLIC_BASE_URL", "").strip()),
            signing_mode=signing_mode_from(env.get("WEBHOOK_SIGNING", "auth-token")),
            secrets=SecretSource.from_env(env),
            retention_days=int(env.get("RETENTION_DAYS") or 0),
            accept_other_callbacks=(env.get("ACCEPT_OTHER_STATUS_CALLBACKS") or "").strip().lower() == "true",
        )
