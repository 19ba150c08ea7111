"""Faults injected at the SDK level: nothing partial is stored, nothing is lost, and replay heals the rest."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from devtools.lambda_runtime import Invoke, load_function
from devtools.pollers import QueuePoller, StreamPoller
from devtools.template import Stack
from tests.unit.helpers import Injector, drain, replayer, signed_event, subscribe_queue
from twilio_inbound.publishing import Outgoing, Publisher, TopicPublisher
from twilio_inbound_cli.signing import inbound_form, new_message_sid


@pytest.fixture
def ingest_dynamodb(ingest: Invoke) -> Any:
    from ingest import handler as ingest_handler

    return ingest_handler.dynamodb


def items(stack: Stack, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = stack.session.client("dynamodb").scan(TableName=stack.physical[table]["Ref"])["Items"]
    return items


@pytest.mark.parametrize(
    "error",
    [(400, "ProvisionedThroughputExceededException"), (500, "InternalServerError"), (400, "ThrottlingException")],
)
def test_dynamodb_error_answers_503_stores_nothing_and_the_retry_succeeds(
    stack: Stack, ingest: Invoke, ingest_dynamodb: Any, error: tuple[int, str]
) -> None:
    event = signed_event(inbound_form(message_sid=new_message_sid()))
    # GIVEN DynamoDB answering with an error WHEN Twilio delivers a message
    with Injector(ingest_dynamodb, "before-call.dynamodb.PutItem", error):
        response = ingest(event)
    # THEN it gets a 503, and nothing is stored
    assert response["statusCode"] == 503
    assert items(stack, "MessagesTable") == []
    # and Twilio's retry, once DynamoDB is back, is stored once
    assert ingest(event)["statusCode"] == 200
    assert len(items(stack, "MessagesTable")) == 1


def test_dynamodb_timeouts_are_retried_a_bounded_number_of_times(
    stack: Stack, ingest: Invoke, ingest_dynamodb: Any
) -> None:
    event = signed_event(inbound_form(message_sid=new_message_sid()))
    with Injector(ingest_dynamodb, "before-send.dynamodb.PutItem") as injector:
        response = ingest(event)
    assert response["statusCode"] == 503
    assert injector.attempts == 3  # then Twilio's own retry or fallback URL takes over, well inside 15 s
    assert items(stack, "MessagesTable") == []
    assert ingest(event)["statusCode"] == 200


def test_failed_opt_out_transaction_leaves_neither_message_nor_state(
    stack: Stack, ingest: Invoke, ingest_dynamodb: Any
) -> None:
    event = signed_event(inbound_form(body="STOP", message_sid=new_message_sid()))
    with Injector(ingest_dynamodb, "before-call.dynamodb.TransactWriteItems", (500, "InternalServerError")):
        assert ingest(event)["statusCode"] == 503
    assert items(stack, "MessagesTable") == []
    assert items(stack, "OptOutsTable") == []
    assert ingest(event)["statusCode"] == 200
    assert len(items(stack, "MessagesTable")) == len(items(stack, "OptOutsTable")) == 1


class BrokenTopic(TopicPublisher):
    """SNS that refuses some messages (or all, while `outage`), around the real topic."""

    def __init__(self, real: Publisher, refuse: set[str] | None = None) -> None:
        self.real = real
        self.refuse = refuse or set()
        self.outage = False
        self.calls = 0

    def publish_batch(self, batch: Any) -> list[Outgoing]:
        self.calls += 1
        if self.outage:
            raise ClientError({"Error": {"Code": "InternalError", "Message": "injected"}}, "PublishBatch")
        accepted = [item for item in batch if item.message_sid not in self.refuse]
        failed = self.real.publish_batch(accepted) if accepted else []
        return failed + [item for item in batch if item.message_sid in self.refuse]


@pytest.fixture
def broken_topic(fanout: Invoke, monkeypatch: pytest.MonkeyPatch) -> BrokenTopic:
    from fanout import handler as fanout_handler

    topic = BrokenTopic(fanout_handler.publisher)
    monkeypatch.setattr(fanout_handler, "publisher", topic)
    return topic


def stream_poller(stack: Stack, fanout: Invoke) -> StreamPoller:
    (source,) = stack.functions()["FanoutFunction"].events
    return StreamPoller(
        stack.session, source.arn, fanout, source.properties, retry_delay=0.001, function="FanoutFunction"
    )


def send_messages(ingest: Invoke, count: int) -> list[str]:
    forms = [inbound_form(body=f"message {index}") for index in range(count)]
    for form in forms:
        assert ingest(signed_event(form))["statusCode"] == 200
    return [dict(form)["MessageSid"] for form in forms]


def test_sns_outage_is_retried_and_every_message_published_after_recovery(
    stack: Stack, ingest: Invoke, fanout: Invoke, broken_topic: BrokenTopic
) -> None:
    queue = subscribe_queue(stack)
    sids = send_messages(ingest, 12)
    broken_topic.outage = True
    heal_after = 4

    def heal(event: dict[str, Any]) -> Any:
        if broken_topic.calls >= heal_after:
            broken_topic.outage = False
        return fanout(event)

    (source,) = stack.functions()["FanoutFunction"].events
    poller = StreamPoller(
        stack.session, source.arn, heal, source.properties, retry_delay=0.001, function="FanoutFunction"
    )
    while poller.poll_once():
        pass
    delivered = [item["event"]["id"] for item in drain(stack, queue)]
    assert sorted(delivered) == sorted(sids)  # every message, once
    assert broken_topic.calls > heal_after
    dead = stack.session.client("sqs").receive_message(QueueUrl=stack.physical["FanoutDeadLetterQueue"]["Ref"])
    assert "Messages" not in dead


def test_a_message_that_keeps_failing_lands_in_the_dlq_and_replay_delivers_it(
    stack: Stack, ingest: Invoke, fanout: Invoke, broken_topic: BrokenTopic
) -> None:
    queue = subscribe_queue(stack)
    sids = send_messages(ingest, 6)
    poison = sids[3]
    broken_topic.refuse = {poison}
    poller = stream_poller(stack, fanout)
    while poller.poll_once():
        pass
    # every other message went out (bisecting around the failure; the ones after it in its batch are sent
    # again when Lambda resumes from the failure: delivery is at least once), the poison one did not
    assert {item["event"]["id"] for item in drain(stack, queue)} == set(sids) - {poison}
    sqs = stack.session.client("sqs")
    dlq_url = stack.physical["FanoutDeadLetterQueue"]["Ref"]
    (dead,) = sqs.receive_message(QueueUrl=dlq_url, VisibilityTimeout=0)["Messages"]
    info = json.loads(dead["Body"])["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1  # enough to find it: the stream range of exactly that record
    assert info["streamArn"] == stack.physical["MessagesTable"]["StreamArn"]

    # WHEN SNS is healed and the operator replays the dead letters
    broken_topic.refuse = set()
    result = replayer(stack).from_dead_letters(sqs, dlq_url, stack.session.client("dynamodbstreams"))
    # THEN the message reaches the subscriber with the same event id, and the DLQ is empty
    assert result.published == [poison]
    assert result.dead_letters_done == 1
    assert [item["event"]["id"] for item in drain(stack, queue)] == [poison]
    assert "Messages" not in sqs.receive_message(QueueUrl=dlq_url)


def test_replay_by_sid_and_time_range_republishes_the_same_events(stack: Stack, ingest: Invoke) -> None:
    queue = subscribe_queue(stack)
    sids = send_messages(ingest, 3)
    other_number = inbound_form(body="other line", to="+15005550002")
    ingest(signed_event(other_number))

    result = replayer(stack).by_message_sids([sids[1], "SM" + "f" * 32])
    assert result.published == [sids[1]]
    assert result.not_found == ["SM" + "f" * 32]
    assert [item["event"]["id"] for item in drain(stack, queue)] == [sids[1]]

    everything = replayer(stack).by_time_range("2000-01-01T00:00:00.000Z", "2999-01-01T00:00:00.000Z")
    assert sorted(everything.published) == sorted([*sids, dict(other_number)["MessageSid"]])
    one_line = replayer(stack).by_time_range("2000-01-01T00:00:00.000Z", "2999-01-01T00:00:00.000Z", "+15005550001")
    assert sorted(one_line.published) == sorted(sids)
    none = replayer(stack).by_time_range("2000-01-01T00:00:00.000Z", "2000-01-02T00:00:00.000Z")
    assert none.published == []


def test_a_failing_subscriber_retries_then_dead_letters(stack: Stack, ingest: Invoke, fanout: Invoke) -> None:
    from consumer import handler as consumer_handler

    send_messages(ingest, 3)
    poller = stream_poller(stack, fanout)
    while poller.poll_once():
        pass
    (source,) = stack.functions()["ConsumerFunction"].events
    consumer = load_function(stack.functions()["ConsumerFunction"])
    real_handle = consumer_handler.handle_message
    received: dict[str, int] = {}

    def flaky(event: Any) -> Any:
        received[event.data.body] = received.get(event.data.body, 0) + 1
        if event.data.body == "message 1":
            raise RuntimeError("downstream system is down")
        return real_handle(event)

    consumer_handler.handle_message = flaky
    try:
        queue = QueuePoller(
            stack.session, source.arn, consumer, source.properties, retry_visibility=0, function="ConsumerFunction"
        )
        for _ in range(20):
            queue.poll_once()
    finally:
        consumer_handler.handle_message = real_handle
    sqs = stack.session.client("sqs")
    dead = sqs.receive_message(QueueUrl=stack.physical["SubscriberDeadLetterQueue"]["Ref"])["Messages"]
    assert [json.loads(message["Body"])["data"]["body"] for message in dead] == ["message 1"]
    assert received == {"message 0": 1, "message 1": 5, "message 2": 1}  # maxReceiveCount attempts, then the DLQ
