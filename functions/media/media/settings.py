"""The media function's configuration, read once per container from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from twilio_inbound.http_fields import api_url_from_env

# Twilio's largest attachment is a WhatsApp document of 100 MB (MMS: 5 MB per message; WhatsApp video: 16 MB);
# the margin covers a provider's MB being 2^20 bytes. Larger files are not archived (the event says why).
DEFAULT_MAX_MEDIA_BYTES = 128 * 1024 * 1024


@dataclass(frozen=True)
class MediaSettings:
    bucket_name: str
    topic_arn: str  # "" when the stack publishes to EventBridge only
    queue_url: str  # its own queue, to schedule a failed message's next attempt (visibility backoff)
    secret_id: str  # the Twilio secret (ARN or name): auth tokens and optional API keys per account
    event_bus_name: str = ""  # "" unless the stack publishes to EventBridge
    twilio_api_url: str = ""  # a stand-in for Twilio's API (the local stack's); empty: Twilio itself
    delete_after_archive: bool = False
    max_media_bytes: int = DEFAULT_MAX_MEDIA_BYTES
    token_cache_seconds: int = 300
    retry_base_seconds: float = 1.0
    http_timeout_seconds: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> MediaSettings:
        api_url = api_url_from_env(env)
        max_bytes = int(env.get("MAX_MEDIA_BYTES") or DEFAULT_MAX_MEDIA_BYTES)
        if max_bytes <= 0:
            raise ValueError("MAX_MEDIA_BYTES must be positive")
        return cls(
            bucket_name=env["MEDIA_BUCKET_NAME"],
            topic_arn=env["TOPIC_ARN"],
            event_bus_name=env["EVENT_BUS_NAME"],
            queue_url=env["MEDIA_QUEUE_URL"],
            secret_id=env["TWILIO_AUTH_TOKEN_SECRET_ARN"],
            twilio_api_url="" if api_url.rstrip("/") == "https://api.twilio.com" else api_url,
            delete_after_archive=(env.get("DELETE_TWILIO_MEDIA_AFTER_ARCHIVE") or "").strip().lower() == "true",
            max_media_bytes=max_bytes,
            token_cache_seconds=int(env.get("TOKEN_CACHE_SECONDS") or 300),
            retry_base_seconds=float(env.get("FETCH_RETRY_BASE_SECONDS") or 1.0),
        )
