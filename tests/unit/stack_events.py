"""The stack publishing one event of each type, through its own functions against moto: a message with media
(message.received), its media not archivable (media.archived), and a send command the stack refuses
(message.status). Shared by the client package's and the EventBridge tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from devtools.lambda_runtime import load_function
from devtools.pollers import QueuePoller, StreamPoller
from devtools.template import Stack
from tests.unit.helpers import OFFLINE_ENV, load_event

Captured = list[dict[str, Any]]


def publish_one_of_each(stack: Stack) -> None:
    """Each function loaded with this stack's environment (its module-level publisher is the one PublishTo asks for)."""
    functions = stack.functions()
    ingest = load_function(functions["IngestFunction"], OFFLINE_ENV)
    fanout = load_function(functions["FanoutFunction"])
    media = load_function(functions["MediaFunction"])
    send = load_function(functions["SenderFunction"], OFFLINE_ENV)
    assert ingest(load_event("http-api-mms.json"))["statusCode"] == 200
    (source,) = functions["FanoutFunction"].events
    stream = StreamPoller(stack.session, source.arn, fanout, source.properties, function="FanoutFunction")
    while stream.poll_once():
        pass
    (record, *_) = [r for r in load_event("sqs-subscriber.json")["Records"] if json.loads(r["body"])["data"]["media"]]
    event = json.loads(record["body"])
    for item in event["data"]["media"]:
        item["url"] = "https://media.example/not-twilio.jpg"  # never fetched: recorded as not archived
    assert media({"Records": [{**record, "body": json.dumps(event)}]}) == {"batchItemFailures": []}
    # inReplyTo names no stored message: refused, and a message.status event says so
    assert send(load_event("send-command-sqs.json")) == {"batchItemFailures": []}


def capture(stack: Stack, queue_arn: str) -> Callable[[], Captured]:
    """The Lambda SQS events a function on this queue would get (one per batch), as the local stack's poller
    builds them from what the queue holds."""

    def read() -> Captured:
        events: Captured = []
        poller = QueuePoller(stack.session, queue_arn, events.append, {"BatchSize": 10}, function=None)
        while poller.poll_once():
            pass
        return events

    return read


def bus_subscriber(stack: Stack, name: str, input_path: str | None = None) -> Callable[[], Captured]:
    """A subscriber's queue behind a rule on the stack's bus taking every event of the stack (the whole event, or
    what `input_path` selects)."""
    sqs, events, bus = stack.session.client("sqs"), stack.session.client("events"), stack.physical["MessagesBus"]["Ref"]
    arn = queue_arn(stack, sqs.create_queue(QueueName=name)["QueueUrl"])
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"source": ["twilio-inbound"]}))
    target: dict[str, Any] = {"Id": name, "Arn": arn, **({"InputPath": input_path} if input_path else {})}
    events.put_targets(Rule=name, EventBusName=bus, Targets=[target])  # type: ignore[list-item]
    return capture(stack, arn)


def bodies(captured: Captured) -> list[str]:
    return [record["body"] for event in captured for record in event["Records"]]


def queue_arn(stack: Stack, url: str) -> str:
    attributes = stack.session.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])
