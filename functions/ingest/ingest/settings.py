"""The ingest function's configuration, read once per container from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from ingest.signature import SIGNING_MODES, SigningMode

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
    # Deployed: the Secrets Manager ARN. Offline (tests, local stack, sam local): tokens in the environment.
    token_secret_arn: str = ""
    local_tokens: tuple[str, ...] = ()
    signing_mode: SigningMode = "auth-token"
    token_cache_seconds: int = 300
    unknown_number_policy: str = "accept"
    registry_cache_seconds: int = 60
    log_message_content: bool = False  # full numbers and bodies in logs, for debugging only

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> IngestSettings:
        local_tokens = (env.get("TWILIO_AUTH_TOKEN", ""), env.get("TWILIO_SECONDARY_AUTH_TOKEN", ""))
        policy = (env.get("UNKNOWN_NUMBER_POLICY") or "accept").strip().lower()
        if policy not in UNKNOWN_NUMBER_POLICIES:
            raise ValueError(f"UNKNOWN_NUMBER_POLICY must be one of {UNKNOWN_NUMBER_POLICIES}, not {policy!r}")
        public_base_url = env.get("PUBLIC_BASE_URL", "").strip()
        _check_public_base_url(public_base_url)
        signing_mode = next((mode for mode in SIGNING_MODES if mode == env.get("WEBHOOK_SIGNING", "auth-token")), None)
        if signing_mode is None:
            raise ValueError(f"WEBHOOK_SIGNING must be one of {SIGNING_MODES}")
        return cls(
            table_name=env["TABLE_NAME"],
            numbers_table_name=env["NUMBERS_TABLE_NAME"],
            opt_outs_table_name=env["OPT_OUTS_TABLE_NAME"],
            public_base_url=public_base_url,
            signing_mode=signing_mode,
            max_body_bytes=int(env.get("MAX_BODY_BYTES") or DEFAULT_MAX_BODY_BYTES),
            retention_days=int(env.get("RETENTION_DAYS") or 0),
            token_secret_arn=env.get("TWILIO_AUTH_TOKEN_SECRET_ARN", "").strip(),
            local_tokens=tuple(token.strip() for token in local_tokens if token.strip()),
            token_cache_seconds=int(env.get("TOKEN_CACHE_SECONDS") or 300),
            unknown_number_policy=policy,
            registry_cache_seconds=int(env.get("REGISTRY_CACHE_SECONDS") or 60),
            log_message_content=(env.get("LOG_MESSAGE_CONTENT") or "").strip().lower() == "true",
        )


def _check_public_base_url(url: str) -> None:
    """Fails at start-up, not on every message, when the URL cannot be the one Twilio calls."""
    if not url:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"PUBLIC_BASE_URL must be scheme://host[:port][/path], not {url!r}")
