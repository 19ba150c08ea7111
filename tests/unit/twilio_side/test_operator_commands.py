"""What an operator sees from `replay` and `send-sms` against a stack (in moto): the commands docs/IAM.md gives a
minimal policy for are run here as an operator runs them (their AWS calls are recorded, tests/iam_check.py)."""

from __future__ import annotations

import json

import pytest

from devtools.lambda_runtime import Invoke
from tests.unit.helpers import drain, signed_event, subscribe_queue
from tests.unit.twilio_side.conftest import CUSTOMER, SUPPORT, Cli
from twilio_inbound_cli.signing import inbound_form, new_message_sid

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])  # the cli fixture's Twilio API stand-in


def test_replay_republishes_a_stored_message_by_its_sid(cli: Cli, ingest: Invoke) -> None:
    # GIVEN a stored message, and a subscriber
    sid = new_message_sid()
    assert ingest(signed_event(inbound_form(body="again please", message_sid=sid)))["statusCode"] == 200
    queue = subscribe_queue(cli.stack, "replayed")
    # WHEN the operator replays it
    result = cli("replay", "--message-sid", sid)
    # THEN it is published again, under its own id
    assert result.code == 0, result.out
    assert json.loads(result.out)["published"] == [sid]
    assert [item["event"]["id"] for item in drain(cli.stack, queue)] == [sid]


def test_replay_from_an_empty_dead_letter_queue_publishes_nothing(cli: Cli) -> None:
    result = cli("replay", "--from-dlq")
    assert (result.code, json.loads(result.out)) == (0, {"published": []})


def test_send_sms_queues_a_checked_command_for_the_sender(cli: Cli) -> None:
    # GIVEN a registered number
    cli.register(SUPPORT)
    # WHEN the operator sends a message from it
    result = cli("send-sms", "--from", SUPPORT, "--to", CUSTOMER, "--body", "your order shipped", "--key", "order-1")
    # THEN the command waits on the outbound queue for the sender
    assert result.code == 0, result.out
    assert json.loads(result.lines[0])["idempotencyKey"] == "order-1"
    sqs = cli.stack.session.client("sqs")
    (message,) = sqs.receive_message(QueueUrl=cli.stack.physical["OutboundQueue"]["Ref"])["Messages"]
    assert json.loads(message["Body"]) | {"to": CUSTOMER, "body": "your order shipped"} == json.loads(message["Body"])
