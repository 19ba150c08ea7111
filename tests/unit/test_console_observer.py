"""The console's observer and journal, given the events the local stack hands the functions: what a message's flow
says, in what order, under which key; and that a console bug never changes what a function answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from devtools.apigw import http_api_event
from devtools.console.journal import EVERYTHING, Journal
from devtools.console.observe import Observer
from devtools.lambda_events import sqs_record, stored_record, stream_record
from twilio_inbound.webhook import twiml_response
from twilio_inbound_cli.signing import encode_form, inbound_form

STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/messages/stream/2026-01-01T00:00:00.000"
OUTBOUND_QUEUE = "arn:aws:sqs:us-east-1:123456789012:local-OutboundQueue"
SUBSCRIBER_QUEUE = "arn:aws:sqs:us-east-1:123456789012:local-SubscriberQueue"


@pytest.fixture
def journal() -> Journal:
    return Journal()


@pytest.fixture
def observer(journal: Journal) -> Observer:
    return Observer(journal, lambda arn: arn.rsplit(":", 1)[-1].removeprefix("local-"))


def queue_message(message_id: str, body: str, queue_arn: str) -> dict[str, Any]:
    return sqs_record(
        message_id=message_id,
        receipt_handle=f"receipt-{message_id}",
        body=body,
        queue_arn=queue_arn,
        attributes={},
        message_attributes={},
    )


def webhook(form: list[tuple[str, str]]) -> dict[str, Any]:
    return http_api_event("POST", "http://127.0.0.1:3000/sms", {}, encode_form(form), route_key="ANY /sms")


def test_a_webhook_answer_and_the_stored_record_decoded_make_the_flow(observer: Observer, journal: Journal) -> None:
    # GIVEN a message Twilio posts, and the compact item the ingest function stores for it
    form = inbound_form(body="Où est ma commande ?", sender="+14155550100", to="+15005550001")
    sid = dict(form)["MessageSid"]
    record = stored_record(form, datetime(2026, 12, 1, tzinfo=UTC))
    # WHEN the webhook answers with a reply, and the fanout function is handed the stream record
    observer.observe("IngestFunction", lambda event: twiml_response("Merci !"))(webhook(form))
    event = {
        "Records": [
            stream_record(record, event_id="1", sequence_number=1, stream_arn=STREAM, created_at=datetime.now(UTC))
        ]
    }
    observer.observe("FanoutFunction", lambda event: {"batchItemFailures": []})(event)
    # THEN the flow has the answer's reply, and the record as every function reads it (not the compressed bytes)
    flow = journal.flow(sid)
    assert flow is not None
    assert [step.summary for step in flow.steps] == ["webhook answered 200, reply: Merci !", "stored (INSERT)"]
    assert flow.record == {**record, "receivedAt": record["receivedAt"]}
    assert (flow.direction, flow.sender, flow.body, flow.state) == (
        "inbound",
        "+14155550100",
        "Où est ma commande ?",
        "answered 200",
    )


def test_a_refused_request_says_why(observer: Observer, journal: Journal) -> None:
    form = inbound_form(body="let me in")
    answer = {"statusCode": 403, "headers": {}, "body": "invalid signature\n"}
    observer.observe("IngestFunction", lambda event: answer)(webhook(form))
    flow = journal.flow(dict(form)["MessageSid"])
    assert flow is not None
    assert (flow.state, flow.problem, flow.record) == ("refused 403", True, None)
    assert flow.steps[0].summary == "webhook answered 403: refused, invalid signature"


def test_a_send_command_becomes_its_message_once_twilio_named_it(observer: Observer, journal: Journal) -> None:
    # GIVEN the sender is handed a reply's command, and stores the message Twilio created while it runs
    command = {"idempotencyKey": "console:1", "inReplyTo": "SM" + "1" * 32, "body": "On its way"}
    outbound = {
        "messageSid": {"S": "SM" + "2" * 32},
        "direction": {"S": "outbound"},
        "idempotencyKey": {"S": "console:1"},
        "inReplyTo": {"S": "SM" + "1" * 32},
        "status": {"S": "queued"},
        "body": {"S": "On its way"},
    }
    change = {
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "dynamodb": {"NewImage": outbound, "SequenceNumber": "7"},
    }

    def sender(event: dict[str, Any]) -> dict[str, Any]:
        observer.observe("FanoutFunction", lambda event: {"batchItemFailures": []})({"Records": [change]})
        return {"batchItemFailures": []}

    queued = queue_message("m1", json.dumps(command), OUTBOUND_QUEUE)
    # WHEN the sender's invocation ends after the message was stored
    observer.observe("SenderFunction", sender)({"Records": [queued]})
    # THEN one flow, the message's, holds the command and the stored message, and answers the inbound one
    assert journal.flow("console:1") == journal.flow("SM" + "2" * 32)
    flow = journal.flow("SM" + "2" * 32)
    assert flow is not None
    assert flow.key == "SM" + "2" * 32
    assert [step.kind for step in flow.steps] == ["send", "stored"]  # in time order: the command came first
    assert "OutboundQueue → SenderFunction: taken" in flow.steps[0].summary
    assert flow.state == "queued"
    original = journal.flow("SM" + "1" * 32)
    assert original is not None
    assert original.replies == ["SM" + "2" * 32]


def test_a_subscriber_that_failed_is_shown_as_such(observer: Observer, journal: Journal) -> None:
    event = {
        "specversion": "1.0",
        "id": "SM" + "3" * 32,
        "type": "twilio-inbound.message.received",
        "data": {"messageSid": "SM" + "3" * 32},
    }
    delivered = queue_message("m2", json.dumps(event), SUBSCRIBER_QUEUE)
    observer.observe("ConsumerFunction", lambda event: {"batchItemFailures": [{"itemIdentifier": "m2"}]})(
        {"Records": [delivered]}
    )
    flow = journal.flow("SM" + "3" * 32)
    assert flow is not None
    assert flow.problem
    assert flow.received["SM" + "3" * 32] == [
        "SubscriberQueue → ConsumerFunction: failed: it goes back to the queue, then to its DLQ"
    ]


def test_a_console_bug_never_changes_what_the_function_answers(journal: Journal) -> None:
    def broken(arn: str) -> str:
        raise RuntimeError("a bug in the console")

    observer = Observer(journal, broken)
    delivered = queue_message("m3", "{}", SUBSCRIBER_QUEUE)
    assert observer.observe("ConsumerFunction", lambda event: {"batchItemFailures": []})({"Records": [delivered]}) == {
        "batchItemFailures": []
    }


def test_a_page_waiting_hears_which_parts_changed(journal: Journal) -> None:
    start = journal.version
    journal.record("SM1")
    journal.touch("numbers")
    version, topics = journal.wait(start, timeout=0)
    assert topics == {"messages", "flow:SM1", "numbers"}
    assert journal.wait(version, timeout=0) == (version, set())


def test_a_page_too_far_behind_refreshes_everything() -> None:
    journal = Journal()
    for number in range(3000):
        journal.touch(f"topic-{number}")
    assert journal.wait(0, timeout=0)[1] == {EVERYTHING}
