"""What the integration tests share: the running local stack, and reading back what it stored and delivered."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
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


def admin(stack: LocalStack, path: str, body: dict[str, Any] | None = None) -> Any:
    """The Twilio stand-in's admin API (seeding what Twilio would hold, delivering what a customer sends): a POST
    of `body`, or a GET without one."""
    request = urllib.request.Request(  # noqa: S310 (the local stand-in's loopback URL)
        f"{stack.outputs['TwilioStandInAdminUrl'].rstrip('/')}/{path}",
        data=None if body is None else json.dumps(body).encode(),
        method="GET" if body is None else "POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  # nosec B310
        return json.loads(response.read())


def run_cli(stack: LocalStack, *args: str, timeout: float = 90) -> tuple[int, list[str]]:
    """`twilio-inbound ...` against the running stack, as an operator runs it: its exit code and output lines."""
    done = subprocess.run(
        [sys.executable, "-m", "twilio_inbound_cli", *args],
        env={**os.environ, "TWILIO_INBOUND_OUTPUTS": str(stack.process.outputs_file)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    print(done.stderr, end="")  # shown with a failing test's output: what the command said went wrong
    return done.returncode, done.stdout.splitlines()


def wait_until(condition: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError("not within the timeout")
