"""Issue 20, item 12: the example consumer's auto-reply never ping-pongs with another auto-responder, and does not
answer a message reconcile recovered long after it was sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devtools.lambda_runtime import Invoke
from devtools.template import Stack
from tests.unit.helpers import function_with, load_event
from twilio_inbound.clock import iso_millis

NUMBER, BOT, CUSTOMER = "+15005550001", "+14155550166", "+14155550100"


@pytest.fixture
def replying(stack: Stack) -> Iterator[Invoke]:
    """The consumer of a stack deployed with AutoReplyText."""
    with function_with(stack, "ConsumerFunction", {"AUTO_REPLY_TEXT": "Thanks, we got it."}) as consumer:
        yield consumer


def message_event(sender: str, index: int, **data: Any) -> dict[str, Any]:
    """One message.received event as the subscriber queue delivers it (the shipped sample, re-addressed)."""
    (record, *_) = load_event("sqs-subscriber.json")["Records"]
    event = json.loads(record["body"])
    sid = f"SM{index:032x}"
    event["id"] = sid
    event["data"].update({"messageSid": sid, "from": sender, "to": NUMBER, "optOutType": "", "media": [], **data})
    return {"Records": [{**record, "messageId": f"m{index}", "body": json.dumps(event)}]}


def replies(stack: Stack) -> list[dict[str, Any]]:
    sqs, url = stack.session.client("sqs"), stack.physical["OutboundQueue"]["Ref"]
    found = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_12_replies_are_bounded_per_conversation_and_window(stack: Stack, replying: Invoke) -> None:
    # WHEN another auto-responder writes 30 times in a few seconds (each of our replies prompting its next)
    for index in range(30):
        assert replying(message_event(BOT, index)) == {"batchItemFailures": []}
    # THEN it is answered 3 times (AUTO_REPLY_LIMIT per AUTO_REPLY_WINDOW_SECONDS), not 30
    assert [reply["inReplyTo"] for reply in replies(stack)] == [f"SM{index:032x}" for index in range(3)]
    # while a customer writing meanwhile is answered, and an event delivered again counts once
    assert replying(message_event(CUSTOMER, 100)) == {"batchItemFailures": []}
    assert replying(message_event(CUSTOMER, 100)) == {"batchItemFailures": []}
    assert [reply["inReplyTo"] for reply in replies(stack)] == [f"SM{100:032x}"] * 2  # the sender sends it once
    assert replying(message_event(CUSTOMER, 101)) == {"batchItemFailures": []}
    assert len(replies(stack)) == 1


def test_12_a_message_recovered_long_after_it_was_sent_is_not_answered(stack: Stack, replying: Invoke) -> None:
    three_days_ago = iso_millis(datetime.now(UTC) - timedelta(days=3))
    replying(message_event(CUSTOMER, 1, recovered=True, timestamp=three_days_ago))
    assert replies(stack) == []
    # one recovered minutes after it was sent still is
    replying(message_event(CUSTOMER, 2, recovered=True, timestamp=iso_millis(datetime.now(UTC) - timedelta(minutes=5))))
    assert [reply["inReplyTo"] for reply in replies(stack)] == [f"SM{2:032x}"]


def test_12_the_bound_is_the_templates(stack: Stack) -> None:
    environment = stack.functions()["ConsumerFunction"].environment
    assert (environment["AUTO_REPLY_LIMIT"], environment["AUTO_REPLY_WINDOW_SECONDS"]) == ("3", "3600")
    assert environment["AUTO_REPLY_MAX_AGE_SECONDS"] == "3600"
