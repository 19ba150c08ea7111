"""Every event the tests see published, parsed with the subscribers' package (twilio_inbound_client), so that its
models cannot fall behind what the stack publishes.

Installed once per test process around botocore's one way out (BaseClient._make_api_call): SNS Publish and
PublishBatch to a messages topic, EventBridge PutEvents with the stack's source. An event that does not parse, or
parses only as an event of a type the package does not know, is recorded; tests/conftest.py fails the test that
published it. (The local stack publishes in processes of its own: the integration tests parse what they receive.)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import botocore.client
from pydantic import ValidationError

from twilio_inbound.cloudevent import EVENT_SOURCE
from twilio_inbound_client import UnknownEvent, parse_event

SEEN: Counter[str] = Counter()  # event type -> events checked, in this process
FAILURES: list[str] = []  # since the current test began


def published(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """The events a call publishes (JSON text)."""
    if service == "sns" and "MessagesTopic" in params.get("TopicArn", ""):
        if operation == "PublishBatch":
            return [entry["Message"] for entry in params.get("PublishBatchRequestEntries", [])]
        if operation == "Publish":
            return [params["Message"]]
    if service == "events" and operation == "PutEvents":
        return [entry["Detail"] for entry in params.get("Entries", []) if entry.get("Source") == EVENT_SOURCE]
    return []


def check(message: str) -> None:
    try:
        event = parse_event(message)
    except ValidationError as error:
        FAILURES.append(f"published event does not parse with twilio_inbound_client: {error}\n{message[:500]}")
        return
    if isinstance(event, UnknownEvent):
        FAILURES.append(f"published event of a type twilio_inbound_client does not know: {event.type}")
    SEEN[event.type] += 1


def _checking(make_api_call: Callable[..., Any]) -> Callable[..., Any]:
    def call(client: botocore.client.BaseClient, operation: str, params: dict[str, Any]) -> Any:
        for message in published(client.meta.service_model.service_name, operation, params):
            check(message)
        return make_api_call(client, operation, params)

    call.checking_events = True  # type: ignore[attr-defined]
    return call


def install() -> None:
    """Idempotent."""
    make_api_call = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]  # not in the stubs
    if not getattr(make_api_call, "checking_events", False):
        botocore.client.BaseClient._make_api_call = _checking(make_api_call)  # type: ignore[attr-defined]
