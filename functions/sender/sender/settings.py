"""The sender function's configuration, read once per container from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from twilio_inbound.http_fields import api_url_from_env
from twilio_inbound.secret_source import SecretSource
from twilio_inbound.webhook import check_public_base_url

STATUS_ROUTE = "/status"


@dataclass(frozen=True)
class SenderSettings:
    table_name: str
    sends_table_name: str
    numbers_table_name: str
    opt_outs_table_name: str
    topic_arn: str  # "" when the stack publishes to EventBridge only
    dead_letter_queue_url: str
    event_bus_name: str  # "" unless the stack publishes to EventBridge
    status_callback_url: str  # where Twilio posts this stack's statuses: PublicBaseUrl, else the API's URL, + /status
    secrets: SecretSource = field(default_factory=SecretSource)
    twilio_api_url: str = ""  # another server than Twilio's (the stand-in, locally); empty in AWS
    twilio_timeout_seconds: float = 10.0
    in_flight_seconds: int = 120  # twice the function's timeout: a younger "sending" intent may still be calling
    attempts: int = 3  # Messages.create calls per delivery of a command, for 429 and 5xx, before SQS redelivers it
    max_deliveries: int = 5  # the outbound queue's maxReceiveCount: the last delivery gives a command up
    retention_days: int = 0
    registry_cache_seconds: int = 60
    log_message_content: bool = False

    @property
    def command_budget_seconds(self) -> float:
        """The longest one command can take: reading a Messaging Service's numbers, every attempt timing out, the
        backoff between them, the writes."""
        return (1 + self.attempts) * self.twilio_timeout_seconds + 2.0 * self.attempts + 5.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> SenderSettings:
        base = check_public_base_url(env.get("PUBLIC_BASE_URL", "").strip()) or env["API_URL"].strip()
        return cls(
            table_name=env["TABLE_NAME"],
            sends_table_name=env["SENDS_TABLE_NAME"],
            numbers_table_name=env["NUMBERS_TABLE_NAME"],
            opt_outs_table_name=env["OPT_OUTS_TABLE_NAME"],
            topic_arn=env["TOPIC_ARN"],
            event_bus_name=env["EVENT_BUS_NAME"],
            dead_letter_queue_url=env["DEAD_LETTER_QUEUE_URL"],
            status_callback_url=base.rstrip("/") + STATUS_ROUTE,
            secrets=SecretSource.from_env(env),
            twilio_api_url=api_url_from_env(env),
            twilio_timeout_seconds=float(env.get("TWILIO_TIMEOUT_SECONDS") or 10.0),
            attempts=int(env.get("TWILIO_ATTEMPTS") or 3),
            max_deliveries=int(env.get("MAX_RECEIVE_COUNT") or 5),
            in_flight_seconds=int(env.get("IN_FLIGHT_SECONDS") or 120),
            retention_days=int(env.get("RETENTION_DAYS") or 0),
            registry_cache_seconds=int(env.get("REGISTRY_CACHE_SECONDS") or 60),
            log_message_content=(env.get("LOG_MESSAGE_CONTENT") or "").strip().lower() == "true",
        )
