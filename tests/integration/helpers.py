"""What the integration tests share: the running local stack, and reading back what it stored and delivered."""

from __future__ import annotations

import json
import time
from typing import Any

from devtools.local_process import LocalStackProcess
from devtools.subscriber import subscribe_queue
from twilio_inbound_cli.target import local_target
from twilio_inbound_client import parse_event


class LocalStack:
    """The stack the session started: its outputs, and clients for its emulator."""

    def __init__(self, process: LocalStackProcess, outputs: dict[str, str]) -> None:
        self.process = process
        self.iam_source = process.iam_source  # its functions' AWS calls, checked after each test (tests/iam_check.py)
        self.outputs = outputs
        self.url = outputs["WebhookUrl"]
        self._target = local_target(outputs)

    def client(self, service: Any) -> Any:
        return self._target.client(service)

    def subscribe(self, queue_name: str, filter_policy: dict[str, Any] | None = None) -> str:
        """A test subscriber's own queue on the local topic, as a downstream service would set it up."""
        topic = self.outputs["MessagesTopicArn"]
        return subscribe_queue(self.client("sqs"), self.client("sns"), topic, queue_name, filter_policy)[0]


def receive_events(stack: LocalStack, queue: str, expected: int, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Everything delivered to the queue until `expected` arrived, plus a short wait for extras; each event is
    parsed with twilio_inbound_client on the way (pydantic's ValidationError if it does not parse)."""
    sqs = stack.client("sqs")
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    quiet_until = None
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        for message in messages:
            parse_event(message["Body"])  # every event the stack publishes parses with the subscribers' package
            events.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        if len(events) >= expected and quiet_until is None:
            quiet_until = time.monotonic() + 1.5  # anything published twice would show up by now
        if quiet_until is not None and time.monotonic() > quiet_until:
            break
    return events


def stored(stack: LocalStack, message_sid: str) -> dict[str, Any] | None:
    item: dict[str, Any] = stack.client("dynamodb").get_item(
        TableName=stack.outputs["MessagesTableName"], Key={"messageSid": {"S": message_sid}}, ConsistentRead=True
    )
    return item.get("Item")
