"""The ingest function's configuration, read once per container from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from twilio_inbound.secret_source import SecretSource
from twilio_inbound.signature import SigningMode, signing_mode_from
from twilio_inbound.webhook import check_public_base_url

DEFAULT_MAX_BODY_BYTES = 32 * 1024  # a 1,600-character body with 10 media URLs is under 8 KiB
UNKNOWN_NUMBER_POLICIES = ("accept", "reject")


@dataclass(frozen=True)
class IngestSettings:
    table_name: str
    numbers_table_name: str
    opt_outs_table_name: str
    public_base_url: str = ""  # scheme://host[:port][/path prefix], when Twilio calls another URL than API Gateway's
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    retention_days: int = 0
    # Deployed: the Secrets Manager secret. Offline (tests, sam local): tokens in the environment.
    secrets: SecretSource = field(default_factory=SecretSource)
    signing_mode: SigningMode = "auth-token"
    unknown_number_policy: str = "accept"
    registry_cache_seconds: int = 60
    log_message_content: bool = False  # full numbers and bodies in logs, for debugging only
    status_callback_url: str = ""  # a TwiML reply's StatusCallback; "" for the /status route beside the webhook's

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> IngestSettings:
        policy = (env.get("UNKNOWN_NUMBER_POLICY") or "accept").strip().lower()
        if policy not in UNKNOWN_NUMBER_POLICIES:
            raise ValueError(f"UNKNOWN_NUMBER_POLICY must be one of {UNKNOWN_NUMBER_POLICIES}, not {policy!r}")
        public_base_url = check_public_base_url(env.get("PUBLIC_BASE_URL", "").strip())
        return cls(
            table_name=env["TABLE_NAME"],
            numbers_table_name=env["NUMBERS_TABLE_NAME"],
            opt_outs_table_name=env["OPT_OUTS_TABLE_NAME"],
            public_base_url=public_base_url,
            signing_mode=signing_mode_from(env.get("WEBHOOK_SIGNING", "auth-token")),
            max_body_bytes=int(env.get("MAX_BODY_BYTES") or DEFAULT_MAX_BODY_BYTES),
            retention_days=int(env.get("RETENTION_DAYS") or 0),
            secrets=SecretSource.from_env(env),
            unknown_number_policy=policy,
            registry_cache_seconds=int(env.get("REGISTRY_CACHE_SECONDS") or 60),
            log_message_content=(env.get("LOG_MESSAGE_CONTENT") or "").strip().lower() == "true",
            status_callback_url=env.get("STATUS_CALLBACK_URL", "").strip(),
        )
