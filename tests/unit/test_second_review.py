"""Issue 20 (the second outside review), the items that are one module each: status history that cannot collide
with an item's fields (7), a stored document inflated within a bound (8). Each test is named after its item; the
others live with their area (test_opt_outs_per_service.py: 1; test_status.py: 2, 5; test_sender.py: 3, 6, 11;
test_media.py: 9, 10; twilio_side/test_twilio_side_review.py: 13, 14; twilio_side/test_reconcile.py: 4;
test_consumer.py: 12; tests/integration: 1, 16)."""

from __future__ import annotations

import tracemalloc
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from devtools.lambda_events import as_event_json
from devtools.lambda_runtime import Invoke
from devtools.template import Stack
from tests.unit.helpers import OFFLINE_ENV, captured_logs, function_with, load_event, sent_message, signed_event
from twilio_inbound.dynamo import from_item
from twilio_inbound.message_item import DOCUMENT, FORMAT_DEFLATE_JSON, item_values
from twilio_inbound_cli.signing import inbound_form, status_callback_form


# ---------------------------------------------------------------- 7. status history never overwrites an item field
@pytest.fixture
def status(stack: Stack) -> Iterator[Invoke]:
    with function_with(stack, "StatusFunction", {**OFFLINE_ENV, "RETENTION_DAYS": "7"}) as function:
        yield function


@pytest.mark.parametrize("name", ["expires", "status", "sent_at", "carrier_acknowledged"])
def test_7_a_status_twilio_adds_later_never_overwrites_the_items_own_fields(
    stack: Stack, status: Invoke, fanout: Invoke, name: str
) -> None:
    # GIVEN a sent message, delivered, with an expiry (RetentionDays)
    sid = sent_message(stack, expiresAt=2_000_000_000)
    url = "https://abc123defg.execute-api.us-east-1.amazonaws.com/status"
    assert status(signed_event(status_callback_form(sid, "delivered"), url=url))["statusCode"] == 200
    before = stored(stack, sid)
    assert isinstance(before["expiresAt"], int)
    # WHEN Twilio reports a status it adds later, whatever its name
    assert status(signed_event(status_callback_form(sid, name), url=url))["statusCode"] == 200
    # THEN it is in the history, and every field the item had is as it was (the TTL still a number)
    after = stored(stack, sid)
    assert name in after["statusesSeen"]
    assert {field: after[field] for field in before if field not in ("statusesSeen", "lastChange")} == {
        field: value for field, value in before.items() if field not in ("statusesSeen", "lastChange")
    }
    assert after["status"] == "delivered"


def stored(stack: Stack, sid: str) -> dict[str, Any]:
    item = stack.session.client("dynamodb").get_item(
        TableName=stack.physical["MessagesTable"]["Ref"], Key={"messageSid": {"S": sid}}
    )
    return from_item(item["Item"])


# ---------------------------------------------------------------- 8. a stored document is inflated within a bound
def bomb_item(megabytes: int) -> dict[str, Any]:
    """An inbound item whose `d` is small stored and huge inflated (DEFLATE of zeros reaches ~1000:1)."""
    inflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    blob = b"".join(inflater.compress(b"0" * 1024 * 1024) for _ in range(megabytes)) + inflater.flush()
    assert len(blob) < 200 * 1024
    item = load_event("dynamodb-stream.json")["Records"][0]["dynamodb"]["NewImage"]
    return {**item, DOCUMENT: {"B": bytes([FORMAT_DEFLATE_JSON]) + blob}}


def test_8_a_document_inflating_past_the_bound_is_refused_without_being_inflated() -> None:
    item = bomb_item(100)  # ~100 KiB stored, 100 MiB inflated
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="over 1,048,576 bytes"):
            item_values(item)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024


def test_8_the_fanout_refuses_such_a_record_visibly(stack: Stack, fanout: Invoke) -> None:
    from fanout import handler as fanout_handler

    stream = load_event("dynamodb-stream.json")
    stream["Records"][0]["dynamodb"]["NewImage"] = as_event_json(bomb_item(100))
    with captured_logs(fanout_handler.logger) as logs:
        result = fanout(stream)
    # the record goes back to Lambda (retried, bisected, then the fanout's DLQ: the DLQ alarm), and says why
    first = stream["Records"][0]["dynamodb"]["SequenceNumber"]
    assert {"itemIdentifier": first} in result["batchItemFailures"]
    assert "over 1,048,576 bytes" in logs.getvalue()


def test_8_the_largest_document_the_webhook_writes_is_within_the_bound(stack: Stack, ingest: Invoke) -> None:
    # A form near the webhook's 32 KiB limit, of control characters (%01 in the form, \\u0001 in the document).
    body = "\x01" * 10_000
    assert ingest(signed_event(inbound_form(body=body)))["statusCode"] == 200
    (item,) = stack.session.client("dynamodb").scan(TableName=stack.physical["MessagesTable"]["Ref"])["Items"]
    assert item_values(item)["body"] == body
