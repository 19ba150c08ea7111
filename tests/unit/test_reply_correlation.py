"""Reply correlation: each message.received event names the last message the stack sent in its conversation before
it arrived, within ReplyWindowMinutes (data.inReplyTo, and the inReplyToKey attribute a subscriber filters on), or
none; computed by the fanout from the thread, off the webhook's path, and the same on a replay."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from devtools.lambda_runtime import Invoke
from devtools.pollers import StreamPoller
from devtools.template import Stack
from tests.unit.helpers import drain, function_with, replayer, sent_message, signed_event, subscribe_queue
from twilio_inbound.clock import iso_millis
from twilio_inbound.cloudevent import EVENT_TYPE
from twilio_inbound_cli.signing import inbound_form

NUMBER, CUSTOMER = "+15005550001", "+15005550006"  # sent_message's thread: our number | the customer


def published(stack: Stack, fanout: Invoke) -> Callable[[str], list[dict[str, Any]]]:
    """Runs the fanout over the table's stream, then what a queue received (event and attributes)."""
    (source,) = stack.functions()["FanoutFunction"].events
    stream = StreamPoller(stack.session, source.arn, fanout, source.properties, function="FanoutFunction")

    def received(queue: str) -> list[dict[str, Any]]:
        while stream.poll_once():
            pass
        return drain(stack, queue)

    return received


def texted(ingest: Invoke, body: str, sender: str = CUSTOMER) -> str:
    form = inbound_form(body=body, sender=sender, to=NUMBER)
    assert ingest(signed_event(form))["statusCode"] == 200
    return dict(form)["MessageSid"]


def ago(**delta: float) -> str:
    return iso_millis(datetime.now(UTC) - timedelta(**delta))


def test_an_answer_names_the_last_message_sent_and_a_subscriber_filters_on_its_key(
    stack: Stack, ingest: Invoke, fanout: Invoke
) -> None:
    # GIVEN a survey service's subscription to the answers to its own messages, and one to everything received
    survey = subscribe_queue(stack, "survey", {"inReplyToKey": [{"prefix": "survey:"}]})
    everything = subscribe_queue(stack, "everything", {"eventType": [EVENT_TYPE]})
    received = published(stack, fanout)
    # AND a customer who wrote first, then got an order update, then a survey question
    first = texted(ingest, "Where is my order?")
    time.sleep(0.002)  # each a millisecond apart at least: the thread is ordered by receivedAt
    sent_message(stack, key="order-4521:shipped")
    time.sleep(0.002)
    question = sent_message(stack, key="survey:4521:q1")
    time.sleep(0.002)
    # WHEN the customer answers
    answer = texted(ingest, "5")
    # THEN the answer's event names the survey question: its MessageSid, key and time
    events = {item["event"]["id"]: item for item in received(everything)}
    data = events[answer]["event"]["data"]
    assert data["inReplyTo"]["messageSid"] == question
    assert data["inReplyTo"]["idempotencyKey"] == "survey:4521:q1"
    assert events[answer]["attributes"]["inReplyToKey"]["StringValue"] == "survey:4521:q1"
    # AND the first message, before anything was sent, names none (and carries no attribute for it)
    assert events[first]["event"]["data"]["inReplyTo"] is None
    assert "inReplyToKey" not in events[first]["attributes"]
    # AND the survey service received only its answer
    assert [item["event"]["id"] for item in received(survey)] == [answer]


def test_only_a_message_sent_before_the_answer_and_within_the_window_counts(
    stack: Stack, ingest: Invoke, fanout: Invoke
) -> None:
    queue = subscribe_queue(stack, "received", {"eventType": [EVENT_TYPE]})
    received = published(stack, fanout)
    # a message of ours 25 hours ago (outside the default window of 24 hours), another customer's thread
    sent_message(stack, key="old", receivedAt=ago(hours=25))
    sent_message(stack, key="elsewhere", to="+14155550199", conversation=f"{NUMBER}|+14155550199")
    late = texted(ingest, "hello?")
    (event,) = [item["event"] for item in received(queue)]
    assert (event["id"], event["data"]["inReplyTo"]) == (late, None)


def test_a_replay_names_the_same_message_whatever_was_sent_since(stack: Stack, ingest: Invoke, fanout: Invoke) -> None:
    queue = subscribe_queue(stack, "received", {"eventType": [EVENT_TYPE]})
    received = published(stack, fanout)
    asked = sent_message(stack, key="appointment:confirm", receivedAt=ago(minutes=2))
    answer = texted(ingest, "YES please")
    (live,) = [item["event"] for item in received(queue)]
    # WHEN the stack sends more in the thread, and then the answer is replayed
    sent_message(stack, key="appointment:thanks")
    assert replayer(stack).by_message_sids([answer]).published == [answer]
    (again,) = [item["event"] for item in drain(stack, queue)]
    # THEN the replay names the message the answer came after, as the live event did
    assert live["data"]["inReplyTo"]["messageSid"] == again["data"]["inReplyTo"]["messageSid"] == asked


def test_a_window_of_zero_turns_it_off_without_reading_the_thread(stack: Stack, ingest: Invoke) -> None:
    queue = subscribe_queue(stack, "received", {"eventType": [EVENT_TYPE]})
    sent_message(stack, key="k", receivedAt=ago(minutes=1))
    texted(ingest, "hi")
    with function_with(stack, "FanoutFunction", {"REPLY_WINDOW_MINUTES": "0"}) as fanout:
        from fanout import handler as fanout_handler

        reads: list[str] = []
        client = fanout_handler.dynamodb
        client.meta.events.register("before-call.dynamodb.Query", lambda **_: reads.append("Query"))
        (event,) = [item["event"] for item in published(stack, fanout)(queue)]
        assert event["data"]["inReplyTo"] is None
        assert reads == []
