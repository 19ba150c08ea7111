"""The subscribers' package (clients/python, twilio_inbound_client) reads what the stack really publishes, in every
shape a subscriber receives it, the way Powertools users parse events, and sends what the stack's sender accepts.

The events come from the stack's own functions against moto (tests/unit/stack_events.py), delivered by SNS and
EventBridge as moto delivers them (EventBridge's SQS targets as EventBridge does: devtools/moto_eventbridge.py).
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any, cast, get_args

import boto3
import pytest
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.envelopes.base import BaseEnvelope
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

import twilio_inbound_client
from devtools.lambda_context import LocalContext
from devtools.subscriber import subscribe_queue
from devtools.template import ROOT, Stack
from tests.unit.stack_events import Captured, bodies, bus_subscriber, capture, publish_one_of_each, queue_arn
from twilio_inbound.outbound import parse_command
from twilio_inbound_client import (
    EVENT_TYPES,
    MediaArchived,
    MessageReceived,
    MessageStatus,
    SendCommand,
    Sender,
    TwilioInboundEvent,
    UnknownEvent,
    parse_event,
)
from twilio_inbound_client.envelopes import (
    EventBridgeEnvelope,
    EventBridgeEventSqsRecord,
    EventSqsRecord,
    SnsEnvelope,
    SnsEventSqsRecord,
    SnsSqsEnvelope,
    SqsEnvelope,
    SqsEventBridgeEnvelope,
)

CLIENT = ROOT / "clients" / "python"
MODELS: set[type[BaseModel]] = {MessageReceived, MediaArchived, MessageStatus}


def kinds(events: list[Any]) -> set[type]:
    return {type(event) for event in events}


def every_event(event: dict[str, Any], envelope: type[BaseEnvelope]) -> list[Any]:
    """Powertools' parse with the package's union of events (Powertools types `model` as a class: cast)."""
    parsed = parse(event, model=cast(Any, TwilioInboundEvent), envelope=envelope)
    return parsed if isinstance(parsed, list) else [parsed]


def batch_parsed(event: dict[str, Any], model: Any) -> tuple[list[Any], list[str]]:
    """Powertools' batch processor with a record model, as a subscriber's handler runs it: the events it handed
    the record handler, and the records it reported failed."""
    seen: list[Any] = []

    def record_handler(record: Any) -> None:
        seen.append(record)

    result = process_partial_response(
        event=event,
        record_handler=record_handler,
        processor=BatchProcessor(event_type=EventType.SQS, model=model),
        context=cast(LambdaContext, LocalContext("subscriber")),
    )
    return seen, [str(failure["itemIdentifier"]) for failure in result["batchItemFailures"]]


# ---------------------------------------------------------------- SNS: raw delivery, SNS's JSON, SNS -> Lambda
@pytest.fixture
def sns_deliveries(stack: Stack) -> dict[str, Any]:
    """A queue with raw delivery and one without, on the topic; then one event of each type published."""
    sqs, sns, topic = stack.session.client("sqs"), stack.session.client("sns"), stack.physical["MessagesTopic"]["Ref"]
    raw_url, _ = subscribe_queue(sqs, sns, topic, "raw-subscriber")
    plain_url = sqs.create_queue(QueueName="plain-subscriber")["QueueUrl"]
    subscription = sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(stack, plain_url), ReturnSubscriptionArn=True
    )["SubscriptionArn"]
    read_raw, read_plain = capture(stack, queue_arn(stack, raw_url)), capture(stack, queue_arn(stack, plain_url))
    publish_one_of_each(stack)
    return {"raw": read_raw(), "plain": read_plain(), "subscription": subscription}


def test_every_event_type_parses_from_a_queue_with_raw_delivery(sns_deliveries: dict[str, Any]) -> None:
    raw: Captured = sns_deliveries["raw"]
    events = [item for event in raw for item in every_event(event, SqsEnvelope)]
    assert kinds(events) == MODELS
    assert len(events) == 3
    records = [record for event in raw for record in batch_parsed(event, EventSqsRecord)[0]]
    assert kinds([record.body for record in records]) == MODELS
    assert kinds([parse_event(body) for body in bodies(raw)]) == MODELS  # a service reading its queue itself


def test_every_event_type_parses_from_a_queue_without_raw_delivery(sns_deliveries: dict[str, Any]) -> None:
    plain: Captured = sns_deliveries["plain"]
    assert all(json.loads(body)["Type"] == "Notification" for body in bodies(plain))  # SNS's own JSON
    events = [item for event in plain for item in every_event(event, SnsSqsEnvelope)]
    assert kinds(events) == MODELS
    records = [record for event in plain for record in batch_parsed(event, SnsEventSqsRecord)[0]]
    assert kinds([record.body.Message for record in records]) == MODELS


def test_every_event_type_parses_as_sns_hands_it_to_lambda(sns_deliveries: dict[str, Any]) -> None:
    # SNS -> Lambda carries the notification SQS got without raw delivery, its URL fields spelt Url
    notifications = [json.loads(body) for body in bodies(sns_deliveries["plain"])]
    event = {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": sns_deliveries["subscription"],
                "Sns": {
                    **{key: value for key, value in note.items() if not key.endswith("URL")},
                    "SigningCertUrl": note["SigningCertURL"],
                    "UnsubscribeUrl": note["UnsubscribeURL"],
                },
            }
            for note in notifications
        ]
    }
    assert kinds(every_event(event, SnsEnvelope)) == MODELS


# ---------------------------------------------------------------- EventBridge: to Lambda, to SQS whole or detail
@pytest.fixture
def bus_deliveries(aws: boto3.session.Session) -> dict[str, Captured]:
    """The stack publishing to SNS and its bus; a subscriber's rule with two SQS targets: the whole event, and
    InputPath $.detail."""
    stack = Stack(aws, stack_name="bus", parameters={"PublishTo": "SnsAndEventBridge"}).provision()
    read_whole, read_detail = bus_subscriber(stack, "whole-event"), bus_subscriber(stack, "detail-only", "$.detail")
    publish_one_of_each(stack)
    return {"whole": read_whole(), "detail": read_detail()}


def test_every_event_type_parses_as_eventbridge_delivers_it(bus_deliveries: dict[str, Captured]) -> None:
    whole = bus_deliveries["whole"]
    on_the_bus = [json.loads(body) for body in bodies(whole)]
    assert {(event["source"], event["detail-type"]) for event in on_the_bus} == {
        ("twilio-inbound", kind) for kind in EVENT_TYPES
    }
    # a Lambda function as a rule's target gets the event as it is
    parsed = [item for event in on_the_bus for item in every_event(event, EventBridgeEnvelope)]
    assert kinds(parsed) == MODELS
    assert all(event.type == raw["detail-type"] for event, raw in zip(parsed, on_the_bus, strict=True))
    # a queue as the target: the whole event in each body
    events = [item for event in whole for item in every_event(event, SqsEventBridgeEnvelope)]
    assert kinds(events) == MODELS
    records = [record for event in whole for record in batch_parsed(event, EventBridgeEventSqsRecord)[0]]
    assert kinds([record.body.detail for record in records]) == MODELS
    # a queue with InputPath $.detail: the CloudEvent alone, as SNS raw delivery gives it
    detail = bus_deliveries["detail"]
    assert kinds([item for event in detail for item in every_event(event, SqsEnvelope)]) == MODELS


# ---------------------------------------------------------------- what a later version may add
def received_event(sns_deliveries: dict[str, Any]) -> dict[str, Any]:
    (event,) = [json.loads(body) for body in bodies(sns_deliveries["raw"]) if "message.received" in body]
    return dict(event)


def test_fields_the_package_does_not_know_are_kept_not_refused(sns_deliveries: dict[str, Any]) -> None:
    document = received_event(sns_deliveries)
    document["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    document["data"]["sentiment"] = {"score": 0.9}
    document["data"]["media"][0]["width"] = 640
    event = parse_event(document)
    assert isinstance(event, MessageReceived)
    assert event.model_extra == {"traceparent": document["traceparent"]}
    assert event.data.model_extra == {"sentiment": {"score": 0.9}}
    assert event.data.media[0].model_extra == {"width": 640}
    assert event.model_dump(mode="json", by_alias=True, exclude_unset=True) == document  # nothing lost


def test_an_event_type_the_package_does_not_know_is_parsed_not_refused(sns_deliveries: dict[str, Any]) -> None:
    document = {**received_event(sns_deliveries), "type": "twilio-inbound.message.deleted", "data": {"x": 1}}
    event = parse_event(document)
    assert isinstance(event, UnknownEvent)
    assert (event.type, event.data) == ("twilio-inbound.message.deleted", {"x": 1})


def test_a_known_event_with_wrong_fields_is_refused_and_only_its_record_fails(sns_deliveries: dict[str, Any]) -> None:
    broken = received_event(sns_deliveries)
    broken["data"]["numMedia"] = "two"
    with pytest.raises(ValidationError):
        parse_event(broken)
    (event, *_) = sns_deliveries["raw"]
    event = copy.deepcopy(event)
    event["Records"][0]["body"] = json.dumps(broken)
    event["Records"][1]["body"] = "not json"
    parsed, failed = batch_parsed(event, EventSqsRecord)
    assert failed == [event["Records"][0]["messageId"], event["Records"][1]["messageId"]]
    assert len(parsed) == len(event["Records"]) - 2


# ---------------------------------------------------------------- sending
@pytest.fixture
def outbound(stack: Stack) -> tuple[Sender, Any]:
    sqs = stack.session.client("sqs")
    url = stack.physical["OutboundQueue"]["Ref"]

    def queued() -> list[str]:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [message["Body"] for message in messages]

    return Sender(url, sqs), queued


def test_reply_and_send_queue_commands_the_stack_s_sender_accepts(
    sns_deliveries: dict[str, Any], outbound: tuple[Sender, Any]
) -> None:
    sender, queued = outbound
    event = parse_event(received_event(sns_deliveries))
    assert isinstance(event, MessageReceived)
    reply = sender.reply(event, "Thanks, we got it.")
    direct = sender.send(
        to="whatsapp:+14155550100", from_="support-line", body="Your order shipped.", idempotency_key="order-4521"
    )
    media = sender.send(
        to="+14155550100",
        from_="+15005550001",
        media_urls=["https://media.example/receipt.png"],
        idempotency_key="receipt-4521",
    )
    template = sender.send(
        to="whatsapp:+14155550100",
        from_="support-whatsapp",
        content_sid="HX" + "b" * 32,
        content_variables={"1": "12/1"},
        idempotency_key="reminder-4521",
    )
    commands = [parse_command(body) for body in queued()]  # what the sender function does with each
    assert [(c.idempotency_key, c.in_reply_to, c.body) for c in commands] == [
        (f"reply:{event.data.messageSid}", event.data.messageSid, "Thanks, we got it."),
        ("order-4521", "", "Your order shipped."),
        ("receipt-4521", "", ""),
        ("reminder-4521", "", ""),
    ]
    assert (commands[3].content_sid, commands[3].content_variables) == ("HX" + "b" * 32, (("1", "12/1"),))
    assert template.contentSid == "HX" + "b" * 32
    assert (commands[1].to, commands[1].sender, commands[2].media_urls) == (
        "whatsapp:+14155550100",
        "support-line",
        ("https://media.example/receipt.png",),
    )
    assert isinstance(reply, SendCommand)
    assert reply.inReplyTo == event.data.messageSid
    assert direct.from_ == "support-line"
    assert media.mediaUrls == ["https://media.example/receipt.png"]


@pytest.mark.parametrize(
    "fields",
    [
        {"to": "+14155550100", "from_": "support-line", "idempotency_key": "k"},  # nothing to send
        {"to": "+14155550100", "from_": "support-line", "body": "x" * 1601, "idempotency_key": "k"},
        {"to": "14155550100", "from_": "support-line", "body": "hi", "idempotency_key": "k"},
        {"to": "+14155550100", "from_": "support-line", "body": "hi", "idempotency_key": "has space"},
        {"to": "+14155550100", "from_": "a\nb", "body": "hi", "idempotency_key": "k"},
        {"to": "+14155550100", "from_": "x", "media_urls": ["http://insecure.example/a.jpg"], "idempotency_key": "k"},
        {"to": "+14155550100", "from_": "x", "body": "hi", "content_sid": "HX" + "b" * 32, "idempotency_key": "k"},
        {"to": "+14155550100", "from_": "x", "body": "hi", "content_variables": {"1": "x"}, "idempotency_key": "k"},
    ],
)
def test_a_command_the_stack_would_refuse_is_refused_before_it_is_queued(
    outbound: tuple[Sender, Any], fields: dict[str, Any]
) -> None:
    sender, queued = outbound
    with pytest.raises(ValidationError):
        sender.send(**fields)
    assert queued() == []


# ---------------------------------------------------------------- the package: versioned with the schemas, complete
def test_the_package_s_major_version_is_the_schemas_version() -> None:
    project = tomllib.loads((CLIENT / "pyproject.toml").read_text())["project"]
    assert project["version"] == twilio_inbound_client.__version__
    major = int(project["version"].split(".")[0])
    assert major == twilio_inbound_client.SCHEMA_VERSION
    versions = {re.fullmatch(r".+\.v(\d+)\.json", path.name)[1] for path in (ROOT / "schemas").glob("*.json")}  # type: ignore[index]
    assert versions == {str(major)}
    for model in MODELS:
        (dataschema,) = get_args(model.model_fields["dataschema"].annotation)
        assert dataschema.endswith(f":v{major}")
    assert set(project["dependencies"]) == {"pydantic>=2.7,<3", "typing-extensions>=4.6"}  # boto3, Powertools: extras


def test_the_built_package_holds_every_module(tmp_path: Path) -> None:
    source_tree = shutil.copytree(CLIENT, tmp_path / "source", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(source_tree),
        ],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("twilio_inbound_client-*.whl")
    shipped = {name for name in zipfile.ZipFile(wheel).namelist() if not name.startswith("twilio_inbound_client-")}
    source = {
        str(path.relative_to(CLIENT))
        for path in (CLIENT / "twilio_inbound_client").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert shipped == source
