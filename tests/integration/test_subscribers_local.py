"""Subscribers through `make local` with PublishTo=SnsAndEventBridge, over real HTTP: a service written only against
the subscribers' package receives, parses and answers a message (tests/integration/help_desk.py); a rule on the
stack's bus delivers every event to an SQS queue; the bus's archive replays them to that rule.

The emulator (moto) matches rules, delivers to SQS targets and archives; it replays at once, whatever the time
window or the rules named (docs/eventbridge.md lists what it cannot do)."""

from __future__ import annotations

import ast
import json
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from devtools.local_process import LocalStackProcess
from tests.integration.help_desk import ANSWER, HelpDesk
from tests.integration.helpers import LocalStack
from twilio_inbound.numbers import NumberConfig
from twilio_inbound.numbers_table import NumberRegistry
from twilio_inbound_cli.send_command import post_signed
from twilio_inbound_cli.signing import TEST_AUTH_TOKEN, inbound_form
from twilio_inbound_client import EVENT_TYPES, MessageReceived, MessageStatus, parse_event

pytestmark = pytest.mark.integration

NUMBER = "+15005550001"  # the local account's own number: the stand-in sends from it


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    process = LocalStackProcess(
        tmp_path_factory.mktemp("subscribers"), extra_args=("--parameter", "PublishTo=SnsAndEventBridge")
    )
    stack = LocalStack(process, process.wait_for_outputs())
    NumberRegistry(stack.client("dynamodb"), stack.outputs["NumbersTableName"]).put(NumberConfig(NUMBER, name="desk"))
    yield stack
    assert process.stop() == 0, process.log()


def until(condition: Callable[[], bool], step: Callable[[], object], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        step()
    assert condition(), "timed out"


def test_the_help_desk_imports_nothing_of_the_stack_but_the_client_package() -> None:
    source = Path(__file__).with_name("help_desk.py").read_text(encoding="utf-8")
    imported = {
        ((node.module or "") if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported - set(sys.stdlib_module_names) == {"twilio_inbound_client"}


def test_a_service_written_against_the_client_package_receives_parses_and_answers(stack: LocalStack) -> None:
    # GIVEN a help desk on the topic (raw delivery), taking messages and the statuses of what it sends
    queue = stack.subscribe(
        "help-desk", {"eventType": ["twilio-inbound.message.received", "twilio-inbound.message.status"]}
    )
    desk = HelpDesk(stack.client("sqs"), queue, stack.outputs["OutboundQueueUrl"])
    # WHEN a customer texts the number
    form = inbound_form(body="My order never arrived", sender="+14155550177", to=NUMBER)
    assert post_signed(stack.url, form, TEST_AUTH_TOKEN)[0] == 200
    # THEN the desk gets the message as a MessageReceived, answers it, and its answer is delivered
    until(lambda: bool(desk.answers) and desk.final_status(desk.answers[0]) is not None, desk.poll)
    (message,) = desk.received
    assert (message.data.messageSid, message.data.from_, message.data.body) == (
        dict(form)["MessageSid"],
        "+14155550177",
        "My order never arrived",
    )
    (answer,) = desk.answers
    assert (answer.inReplyTo, answer.body) == (message.data.messageSid, ANSWER)
    assert desk.final_status(answer) == "delivered"
    statuses = [event for event in desk.statuses if event.data.idempotencyKey == answer.idempotencyKey]
    assert all(isinstance(event, MessageStatus) for event in statuses)
    assert {(event.data.to, event.data.from_, event.data.inReplyTo) for event in statuses} == {
        ("+14155550177", NUMBER, message.data.messageSid)
    }


@pytest.fixture(scope="module")
def bus_queue(stack: LocalStack) -> str:
    """A subscriber's rule on the stack's bus, every event of the stack to its SQS queue (the whole event)."""
    sqs, events = stack.client("sqs"), stack.client("events")
    url = sqs.create_queue(QueueName="bus-subscriber")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = stack.outputs["EventBusName"]
    events.put_rule(Name="bus-subscriber", EventBusName=bus, EventPattern=json.dumps({"source": ["twilio-inbound"]}))
    events.put_targets(Rule="bus-subscriber", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    return str(url)


def receive_for(stack: LocalStack, queue: str, message_sid: str) -> list[dict[str, Any]]:
    """The events of one message the queue gets (whole EventBridge events), once at least one has come."""
    sqs, received = stack.client("sqs"), []

    def receive() -> None:
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            received.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])

    def mine() -> list[dict[str, Any]]:
        return [event for event in received if event["detail"]["id"] == message_sid]

    until(lambda: bool(mine()), receive, timeout=30)
    return mine()


def test_a_rule_on_the_bus_delivers_each_event_to_an_sqs_queue_and_the_archive_replays_it(
    stack: LocalStack, bus_queue: str
) -> None:
    form = inbound_form(body="photo of the parcel", sender="+14155550178", to="+15005550002")
    assert post_signed(stack.url, form, TEST_AUTH_TOKEN)[0] == 200
    sid = dict(form)["MessageSid"]
    (event,) = receive_for(stack, bus_queue, sid)
    # EventBridge's envelope: detail-type the event's type, source ours, detail the CloudEvent
    assert (event["source"], event["detail-type"]) == ("twilio-inbound", EVENT_TYPES[0])
    assert isinstance(parse_event(event["detail"]), MessageReceived)
    # WHEN the subscriber replays the archive to its rule (the emulator replays every archived event)
    events = stack.client("events")
    rule = events.describe_rule(Name="bus-subscriber", EventBusName=stack.outputs["EventBusName"])
    events.start_replay(
        ReplayName=f"missed-{sid}",
        EventSourceArn=stack.outputs["EventArchiveArn"],
        EventStartTime=datetime(2026, 1, 1, tzinfo=UTC),
        EventEndTime=datetime.now(UTC),
        Destination={"Arn": stack.outputs["EventBusArn"], "FilterArns": [rule["Arn"]]},
    )
    replayed = receive_for(stack, bus_queue, sid)
    # THEN the same CloudEvent arrives again, marked as replayed: dedupe on detail.id
    assert [(event["replay-name"], event["detail"]) for event in replayed] == [(f"missed-{sid}", event["detail"])]


def test_with_the_bus_only_the_example_consumer_gets_its_messages_through_the_bus_s_rule(
    tmp_path: Path,
) -> None:
    process = LocalStackProcess(tmp_path, extra_args=("--parameter", "PublishTo=EventBridge"))
    try:
        stack = LocalStack(process, process.wait_for_outputs())
        topic_subscriber = stack.subscribe("topic-subscriber")
        form = inbound_form(body="hello through the bus", sender="+14155550179")
        assert post_signed(stack.url, form, TEST_AUTH_TOKEN)[0] == 200
        until(lambda: f"delivered {dict(form)['MessageSid']}" in process.log(), lambda: time.sleep(0.2), timeout=30)
        sqs = stack.client("sqs")
        assert "Messages" not in sqs.receive_message(
            QueueUrl=topic_subscriber, WaitTimeSeconds=1
        )  # the topic is silent
    finally:
        assert process.stop() == 0, process.log()
