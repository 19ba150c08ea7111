"""Two-way through `make local` over real HTTP: inbound messages -> the example consumer replies (inReplyTo, on the
outbound queue) -> the sender -> the Twilio API stand-in (official SDK) -> signed status callbacks -> /status ->
status events; reconciled: sent (Twilio accepted) = stored (outbound items) = status-complete (a final status,
recorded and published)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from devtools.local_process import LocalStackProcess
from devtools.twilio_api.sdk import twilio_client
from tests.integration.helpers import LocalStack, admin
from twilio_inbound.delivery_status import FINAL_RANK, rank
from twilio_inbound.message_item import item_values
from twilio_inbound.messages_table import BY_CONVERSATION_INDEX, MessageStore
from twilio_inbound.numbers import NumberConfig
from twilio_inbound.numbers_table import NumberRegistry
from twilio_inbound.status_event import STATUS_EVENT_TYPE
from twilio_inbound_cli.send_command import post_signed
from twilio_inbound_cli.signing import (
    TEST_ACCOUNT_SID,
    TEST_AUTH_TOKEN,
    inbound_form,
    new_message_sid,
    status_callback_form,
)

pytestmark = pytest.mark.integration

REPLY = "Thanks, we got it."
NUMBER, WHATSAPP = "+15005550001", "whatsapp:+15005550001"
CUSTOMERS = ["+14155550101", "+14155550102", "+14155550103", "whatsapp:+14155550104", "+15005550031"]
OPTED_OUT = "+14155550109"  # texts STOP, then a question: the reply is refused


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A stack of its own, with the example consumer answering every message (AutoReplyText)."""
    process = LocalStackProcess(
        tmp_path_factory.mktemp("two-way"), extra_args=("--parameter", f"AutoReplyText={REPLY}"), record_calls=True
    )
    stack = LocalStack(process, process.wait_for_outputs())
    registry = NumberRegistry(stack.client("dynamodb"), stack.outputs["NumbersTableName"])
    registry.put(NumberConfig(NUMBER, name="support-line"))
    registry.put(NumberConfig(WHATSAPP, name="support-whatsapp"))
    yield stack
    assert process.stop() == 0, process.log()


@pytest.fixture(scope="module")
def status_queue(stack: LocalStack) -> str:
    from devtools.subscriber import subscribe_queue

    topic = stack.outputs["MessagesTopicArn"]
    filters = {"eventType": [STATUS_EVENT_TYPE]}
    return subscribe_queue(stack.client("sqs"), stack.client("sns"), topic, "status-subscriber", filters)[0]


def drain_until(stack: LocalStack, queue: str, done: Any, timeout: float = 60.0) -> list[dict[str, Any]]:
    """Events from the queue until done(events) holds (or the timeout), plus a moment for late duplicates."""
    sqs = stack.client("sqs")
    events: list[dict[str, Any]] = []
    deadline, quiet_until = time.monotonic() + timeout, None
    while time.monotonic() < deadline and (quiet_until is None or time.monotonic() < quiet_until):
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            events.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        if quiet_until is None and done(events):
            quiet_until = time.monotonic() + 1.5
    return events


def outbound_items(stack: LocalStack) -> list[dict[str, Any]]:
    pages = stack.client("dynamodb").get_paginator("scan").paginate(TableName=stack.outputs["MessagesTableName"])
    items = [item_values(item) for page in pages for item in page["Items"]]
    return [item for item in items if item.get("direction") == "outbound"]


def twilio_messages(stack: LocalStack) -> list[Any]:
    client = twilio_client(stack.outputs["TwilioApiUrl"], TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)
    return [message for message in client.messages.list() if message.direction == "outbound-api"]


def test_inbound_messages_are_answered_and_sent_equals_stored_equals_status_complete(
    stack: LocalStack, status_queue: str
) -> None:
    # GIVEN a customer who opted out of the number
    assert post_signed(stack.url, inbound_form(body="STOP", sender=OPTED_OUT, to=NUMBER), TEST_AUTH_TOKEN)[0] == 200
    # WHEN customers text the number (one on WhatsApp, one whose handset cannot be reached), and the opted-out one
    inbound: dict[str, str] = {}
    for customer in [*CUSTOMERS, OPTED_OUT]:
        to = WHATSAPP if "whatsapp" in customer else NUMBER
        form = inbound_form(body="Is my order on its way?", sender=customer, to=to)
        if to == WHATSAPP:  # Twilio holds the customer's message: their 24-hour window is open
            seeded = {"account_sid": TEST_ACCOUNT_SID, "sender": customer, "to": to, "sid": dict(form)["MessageSid"]}
            admin(stack, "messages", seeded)
        status, _, answer = post_signed(stack.url, form, TEST_AUTH_TOKEN)
        assert status == 200, answer
        inbound[dict(form)["MessageSid"]] = customer

    # THEN every reply reaches a final status, and the opted-out customer's reply is refused
    def complete(events: list[dict[str, Any]]) -> bool:
        final = {e["data"]["messageSid"] for e in events if rank(e["data"]["status"]) >= FINAL_RANK}
        return len(final) == len(CUSTOMERS) and any(e["data"]["status"] == "refused" for e in events)

    events = drain_until(stack, status_queue, complete)
    sent = twilio_messages(stack)
    stored = outbound_items(stack)
    status_complete = [item for item in stored if item.get("statusRank", 0) >= FINAL_RANK]
    final_events = {e["data"]["messageSid"]: e["data"] for e in events if rank(e["data"]["status"]) >= FINAL_RANK}
    print(
        f"reconciliation: inbound={len(inbound)} sent={len(sent)} stored={len(stored)} "
        f"status-complete={len(status_complete)} final-events={len(final_events)}"
    )
    assert len(sent) == len(stored) == len(status_complete) == len(final_events) == len(CUSTOMERS)
    assert {message.sid for message in sent} == {item["messageSid"] for item in stored} == set(final_events)
    # each reply went from the number the customer wrote to, back to the customer, and names what it answered
    for item in stored:
        assert inbound[item["inReplyTo"]] == item["to"]
        assert (item["body"], item["idempotencyKey"]) == (REPLY, f"auto-reply:{item['inReplyTo']}")
        assert item["from"] == (WHATSAPP if "whatsapp" in item["to"] else NUMBER)
    outcomes = {data["to"]: (data["status"], data["errorCode"]) for data in final_events.values()}
    assert outcomes == {
        **dict.fromkeys(CUSTOMERS[:4], ("delivered", None)),
        "+15005550031": ("failed", 30008),
    }
    # each status was published once for each message (SQS does not keep the stream's order: sorted by rank here)
    ids = [event["id"] for event in events]
    assert sorted({i for i in ids if ids.count(i) > 1}) == [], events
    per_message: dict[str, list[str]] = {}
    for event in events:
        per_message.setdefault(event["data"]["messageSid"], []).append(event["data"]["status"])
    for sid, statuses in per_message.items():
        if sid:
            ranked = sorted(statuses, key=rank)
            assert ranked[0] == "queued", statuses
            assert rank(ranked[-1]) >= FINAL_RANK, statuses
    # the opted-out customer: refused with the reason, nothing sent to them
    (refused,) = [event["data"] for event in events if event["data"]["status"] == "refused"]
    assert (refused["to"], refused["reason"]) == (OPTED_OUT, f"the recipient has opted out of {NUMBER} (STOP)")
    assert OPTED_OUT not in {message.to for message in sent}
    # ByConversation returns both directions of a thread, in order
    store = MessageStore(stack.client("dynamodb"), stack.outputs["MessagesTableName"], "")
    thread = store.read_many(store.sids_between(BY_CONVERSATION_INDEX, f"{NUMBER}|{CUSTOMERS[0]}"))
    assert [item["direction"] for item in thread] == ["inbound", "outbound"]


def test_send_sms_from_the_command_line_sends_once_per_key(stack: LocalStack) -> None:
    def send_sms(*args: str) -> tuple[int, list[dict[str, Any]]]:
        done = subprocess.run(
            [sys.executable, "-m", "twilio_inbound_cli", "send-sms", *args],
            env={**os.environ, "TWILIO_INBOUND_OUTPUTS": str(stack.process.outputs_file)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return done.returncode, [json.loads(line) for line in done.stdout.splitlines()]

    before = len(twilio_messages(stack))
    command = ("--from", "support-line", "--to", "+14155550150", "--body", "Your order shipped", "--key", "cli-once")
    first_code, first = send_sms(*command, "--wait", "30")
    again_code, again = send_sms(*command, "--wait", "30")
    assert (first_code, again_code) == (0, 0), (first, again)
    assert first[-1]["status"] == again[-1]["status"] == "delivered"
    assert first[-1]["messageSid"] == again[-1]["messageSid"]
    assert len(twilio_messages(stack)) == before + 1


def test_forged_and_misdirected_callbacks_are_refused(stack: LocalStack) -> None:
    status_url = stack.url.replace("/sms", "/status")
    sid = new_message_sid()
    callback = status_callback_form(sid, "delivered")
    # forged: signed with another token
    assert post_signed(status_url, callback, "guessed-token")[0] == 403
    # a status callback pointed at the inbound route
    status, _, answer = post_signed(stack.url, callback, TEST_AUTH_TOKEN)
    assert (status, answer.strip()) == (400, "this is a status callback; point StatusCallback at /status")
    # an inbound message pointed at the status route
    assert post_signed(status_url, inbound_form(body="hi"), TEST_AUTH_TOKEN)[0] == 400
    item = stack.client("dynamodb").get_item(
        TableName=stack.outputs["MessagesTableName"], Key={"messageSid": {"S": sid}}, ConsistentRead=True
    )
    assert "Item" not in item
