"""Issue 20 through `make local` over real HTTP: a STOP through a Messaging Service holds whichever way `send-sms`
names the sender (item 1), and the local stack takes a registry change at once, prints every refusal with its
reason, and gives what reconcile recovers the RetentionDays expiry (item 16)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devtools.local_process import LocalStackProcess
from devtools.twilio_api.sdk import twilio_client
from tests.integration.helpers import LocalStack, admin, run_cli, stored, wait_until
from twilio_inbound.message_item import item_values
from twilio_inbound.numbers import NumberConfig
from twilio_inbound.numbers_table import NumberRegistry
from twilio_inbound_cli.send_command import post_signed
from twilio_inbound_cli.signing import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, inbound_form

pytestmark = pytest.mark.integration

NUMBER, LATE = "+15005550001", "+14155550120"  # the stand-in's seeded number; one registered while running
REPLY = "Thanks, we got it."


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    process = LocalStackProcess(
        tmp_path_factory.mktemp("second-review"),
        extra_args=("--parameter", f"AutoReplyText={REPLY}", "--parameter", "RetentionDays=7"),
    )
    stack = LocalStack(process, process.wait_for_outputs())
    yield stack
    assert process.stop() == 0, process.log()


def cli(stack: LocalStack, *args: str) -> tuple[int, list[dict[str, Any]]]:
    """`twilio-inbound ...` against the running stack; its JSON lines (or one JSON document: reconcile)."""
    code, lines = run_cli(stack, *args)
    try:
        return code, [json.loads("\n".join(lines))]
    except ValueError:
        return code, [json.loads(line) for line in lines]


def registry(stack: LocalStack) -> NumberRegistry:
    return NumberRegistry(stack.client("dynamodb"), stack.outputs["NumbersTableName"])


def test_1_a_stop_through_a_messaging_service_holds_whichever_way_send_sms_names_the_sender(
    stack: LocalStack,
) -> None:
    # GIVEN the stack's number in Messaging Service `marketing`, both registered
    twilio = twilio_client(stack.outputs["TwilioApiUrl"], TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)
    (number,) = twilio.incoming_phone_numbers.list(phone_number=NUMBER)
    service = admin(stack, "services", {"account_sid": TEST_ACCOUNT_SID, "number_sids": [number.sid]})["sid"]
    registry(stack).put(NumberConfig(service, name="marketing"))
    registry(stack).put(NumberConfig(NUMBER, name="support-line"))
    # WHEN a customer texts STOP to the number (Twilio names the service in the webhook)
    customer = "+14155550177"
    stop = inbound_form(body="STOP", sender=customer, to=NUMBER, extra=[("MessagingServiceSid", service)])
    assert post_signed(stack.url, stop, TEST_AUTH_TOKEN)[0] == 200
    # THEN send-sms is refused from the number, the service's SID and its name: nothing reaches Twilio
    for sender in ("marketing", service, NUMBER):
        code, lines = cli(stack, "send-sms", "--from", sender, "--to", customer, "--body", "Sale!", "--wait", "30")
        assert (code, lines[-1]["state"]) == (1, "refused"), (sender, lines)
        assert "opted out of Messaging Service" in lines[-1]["reason"]
    # while another customer still gets the service's message
    code, lines = cli(stack, "send-sms", "--from", "marketing", "--to", "+14155550178", "--body", "Hi", "--wait", "30")
    assert (code, lines[-1]["status"]) == (0, "delivered"), lines


def test_16_a_number_registered_while_running_is_answered_at_once_and_refusals_are_printed(
    stack: LocalStack,
) -> None:
    admin(stack, "numbers", {"account_sid": TEST_ACCOUNT_SID, "phone_number": LATE})
    # GIVEN a message to a number the stack does not know yet: the consumer's auto-reply is refused, and says why
    first = inbound_form(body="hello?", sender="+14155550188", to=LATE)
    assert post_signed(stack.url, first, TEST_AUTH_TOKEN)[0] == 200
    refusal = f"refused   auto-reply:{dict(first)['MessageSid']}: from: +•••••••0120 is not a registered number"
    wait_until(lambda: refusal in stack.process.log())
    # WHEN the number is registered, and a message comes right after
    registry(stack).put(NumberConfig(LATE, name="late-line"))
    second = inbound_form(body="anyone?", sender="+14155550189", to=LATE)
    assert post_signed(stack.url, second, TEST_AUTH_TOKEN)[0] == 200
    # THEN it is stored as the registered number's, and answered
    assert item_values(stored(stack, dict(second)["MessageSid"]) or {})["entryPoint"]["name"] == "late-line"
    intents = stack.client("dynamodb")

    def answered() -> bool:
        item = intents.get_item(
            TableName=stack.outputs["SendsTableName"],
            Key={"idempotencyKey": {"S": f"auto-reply:{dict(second)['MessageSid']}"}},
            ConsistentRead=True,
        ).get("Item", {})
        return bool(item.get("state", {}).get("S") == "sent")

    wait_until(answered)


def test_16_reconcile_gives_what_it_recovers_the_retention_locally(stack: LocalStack) -> None:
    registry(stack).put(NumberConfig(NUMBER, name="support-line"))
    sent = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    seeded = {"account_sid": TEST_ACCOUNT_SID, "sender": "+14155550199", "to": NUMBER, "body": "missed"}
    message = admin(stack, "messages", {**seeded, "date_sent": sent.isoformat()})
    _, (report,) = cli(stack, "reconcile", "--since", (sent - timedelta(hours=1)).isoformat(), "--backfill")
    assert message["sid"] in report["recovered"], report
    item = item_values(stored(stack, message["sid"]) or {})
    assert item["expiresAt"] == int(sent.timestamp()) + 7 * 86_400
