"""Conversations through `make local` over real HTTP, the Twilio API stand-in as Twilio: WhatsApp templates in and
out of the 24-hour window, free-form refused outside it, a customer known only by a business-scoped user ID
answered, an inbound event naming the message it answers, `send-sms --wait-reply`, a TwiML reply in the thread
with its status, and the opt-out commands (an import's dry run, its refusals, the audit fields)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.local_process import LocalStackProcess
from tests.integration.helpers import LocalStack, admin, receive_events, run_cli, wait_until
from twilio_inbound.cloudevent import EVENT_TYPE
from twilio_inbound.numbers import NumberConfig
from twilio_inbound.numbers_table import NumberRegistry
from twilio_inbound_cli.signing import TEST_ACCOUNT_SID

pytestmark = pytest.mark.integration

NUMBER, WHATSAPP = "+15005550001", "whatsapp:+15005550001"  # the stand-in's number, on SMS and on WhatsApp
WELCOME = "Thanks! A person answers within the hour."
USER_ID = "whatsapp:US.13491208655302741918"  # a WhatsApp user with a username: no phone number


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    process = LocalStackProcess(tmp_path_factory.mktemp("conversations"))
    stack = LocalStack(process, process.wait_for_outputs())
    registry = NumberRegistry(stack.client("dynamodb"), stack.outputs["NumbersTableName"])
    registry.put(NumberConfig(NUMBER, name="front-desk", auto_reply=WELCOME))
    registry.put(NumberConfig(WHATSAPP, name="front-desk-whatsapp"))
    yield stack
    assert process.stop() == 0, process.log()


def texted(stack: LocalStack, sender: str, to: str, body: str) -> str:
    """A customer's message, as Twilio holds it and delivers it to the webhook."""
    message = admin(stack, "messages", {"account_sid": TEST_ACCOUNT_SID, "sender": sender, "to": to, "body": body})
    assert admin(stack, f"messages/{message['sid']}/deliver", {})["status"] == 200
    return str(message["sid"])


def sms(stack: LocalStack, *args: str) -> tuple[int, list[dict[str, Any]]]:
    code, lines = run_cli(stack, "send-sms", *args)
    return code, [json.loads(line) for line in lines]


def conversation(stack: LocalStack, ours: str, theirs: str) -> list[dict[str, Any]]:
    code, lines = run_cli(stack, "messages", "conversation", ours, theirs)
    assert code == 0
    return [json.loads(line) for line in lines]


def test_a_template_goes_out_of_the_window_and_free_form_is_refused(stack: LocalStack) -> None:
    # GIVEN an approved template at Twilio, and a WhatsApp customer who never wrote
    template = admin(stack, "contents", {"account_sid": TEST_ACCOUNT_SID, "body": "Your order {{1}} has shipped."})
    customer = "whatsapp:+14155550140"
    # WHEN free-form text goes to them: refused before Twilio is called, with the reason and Twilio's code
    code, lines = sms(stack, "--from", "front-desk-whatsapp", "--to", customer, "--body", "Hi!", "--wait", "30")
    assert (code, lines[-1]["state"], lines[-1]["errorCode"]) == (1, "refused", 63016)
    assert "24-hour customer service window is closed" in lines[-1]["reason"]
    # AND the template goes, and is delivered with the body the customer saw
    code, lines = sms(
        stack,
        "--from", "front-desk-whatsapp", "--to", customer, "--content-sid", template["sid"],
        "--content-variables", '{"1": "4521"}', "--wait", "30",
    )  # fmt: skip
    assert (code, lines[-1]["status"]) == (0, "delivered"), lines
    (sent,) = conversation(stack, WHATSAPP, customer)
    assert (sent["body"], sent["contentSid"]) == ("Your order 4521 has shipped.", template["sid"])
    # AND once the customer writes, free-form answers go (their window is open), the template too
    texted(stack, customer, WHATSAPP, "Where is it now?")
    assert sms(stack, "--from", WHATSAPP, "--to", customer, "--body", "Out for delivery.", "--wait", "30")[0] == 0
    again = ("--content-sid", template["sid"], "--content-variables", '{"1": "4522"}', "--wait", "30")
    assert sms(stack, "--from", WHATSAPP, "--to", customer, *again)[0] == 0


def test_the_template_make_local_prints_can_be_sent_at_once(stack: LocalStack) -> None:
    # GIVEN the template line make local prints
    (line,) = [line for line in stack.process.log().splitlines() if line.startswith("template  ")]
    template = line.split()[1]
    # WHEN a newcomer sends it, with its variables, to a WhatsApp customer who never wrote
    command = ("--content-sid", template, "--content-variables", '{"1": "12/3", "2": "10am"}', "--wait", "30")
    code, lines = sms(stack, "--from", "front-desk-whatsapp", "--to", "whatsapp:+14155550143", *command)
    # THEN it is delivered, with the body Twilio rendered
    assert (code, lines[-1]["status"]) == (0, "delivered"), lines
    (sent,) = conversation(stack, WHATSAPP, "whatsapp:+14155550143")
    assert sent["body"] == "Your appointment is on 12/3 at 10am. Reply C to confirm."


def test_a_whatsapp_message_make_send_posts_is_held_by_twilio_and_answered_in_its_window(stack: LocalStack) -> None:
    # GIVEN a WhatsApp customer's message posted with `twilio-inbound send` (make send), not through the console
    code, lines = run_cli(stack, "send", "--whatsapp", "--from", "+14155550144", "--body", "Is the shop open?")
    assert code == 0, lines
    received = lines[0].split()[-1]
    # THEN Twilio (the stand-in) holds it, as it holds every message it delivers
    assert admin(stack, f"messages/{received}")["direction"] == "inbound"
    # AND a free-form answer inside the customer's window is delivered (not failed by Twilio with 63016)
    code, answer = sms(stack, "--in-reply-to", received, "--body", "Until 6pm!", "--wait", "30")
    assert (code, answer[-1]["status"]) == (0, "delivered"), answer


def test_a_username_sender_is_answered_in_their_thread(stack: LocalStack) -> None:
    received = texted(stack, USER_ID, WHATSAPP, "hola")
    wait_until(lambda: conversation(stack, WHATSAPP, USER_ID))
    code, lines = sms(stack, "--in-reply-to", received, "--body", "¡Hola! ¿En qué te ayudo?", "--wait", "30")
    assert (code, lines[-1]["status"]) == (0, "delivered"), lines
    thread = conversation(stack, WHATSAPP, USER_ID)
    assert [(m["direction"], m["from"], m["to"]) for m in thread] == [
        ("inbound", USER_ID, WHATSAPP),
        ("outbound", WHATSAPP, USER_ID),
    ]


def test_a_twiml_reply_is_in_the_thread_with_its_status(stack: LocalStack) -> None:
    customer = "+14155550141"
    asked = texted(stack, customer, NUMBER, "Are you open today?")
    thread = wait_until(
        lambda: (
            (found := conversation(stack, NUMBER, customer))
            and len(found) == 2
            and found[1].get("status") == "delivered"
            and found
        )
    )
    assert [(m["direction"], m["body"]) for m in thread] == [("inbound", "Are you open today?"), ("outbound", WELCOME)]
    assert (thread[1]["inReplyTo"], thread[1]["entryPoint"]["name"]) == (asked, "front-desk")


def test_wait_reply_prints_the_answer_and_the_event_names_what_it_answers(stack: LocalStack) -> None:
    customer = "+14155550142"
    queue = stack.subscribe("appointments", {"inReplyToKey": [{"prefix": "appointment:"}]})
    # WHEN a service asks and waits for the answer, and the customer answers while it waits
    waiting = subprocess.Popen(
        [
            sys.executable, "-m", "twilio_inbound_cli", "send-sms", "--from", "front-desk", "--to", customer,
            "--body", "Reply YES to confirm Monday 9am", "--key", "appointment:4521", "--wait-reply", "60",
        ],
        env={**os.environ, "TWILIO_INBOUND_OUTPUTS": str(stack.process.outputs_file)},
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    question = wait_until(lambda: [m for m in conversation(stack, NUMBER, customer) if m["direction"] == "outbound"])
    answer = texted(stack, customer, NUMBER, "YES")
    out, _ = waiting.communicate(timeout=90)
    # THEN it prints the answer and exits 0
    assert waiting.returncode == 0, out
    report = json.loads(out.splitlines()[-1])
    assert (report["reply"]["messageSid"], report["reply"]["body"], report["messageSid"]) == (
        answer,
        "YES",
        question[0]["messageSid"],
    )
    # AND the answer's event names the message it answers; the appointments service got it by its key
    (event,) = receive_events(stack, queue, expected=1)
    assert event["type"] == EVENT_TYPE
    assert event["data"]["inReplyTo"]["idempotencyKey"] == "appointment:4521"
    assert event["data"]["inReplyTo"]["messageSid"] == question[0]["messageSid"]
    # AND with no answer, --wait-reply times out with its own exit code
    code, lines = sms(stack, "--from", "front-desk", "--to", "+14155550143", "--body", "Anyone?", "--wait-reply", "3")
    assert (code, lines[-1]["timedOut"]) == (3, True)


def test_opt_out_lists_import_with_a_dry_run_and_keep_who_did_what(stack: LocalStack, tmp_path: Path) -> None:
    # GIVEN a customer who texted STOP, and a previous system's list
    texted(stack, "+14155550150", NUMBER, "STOP")
    wait_until(lambda: "+14155550150" in "\n".join(run_cli(stack, "opt-outs", "list")[1]))
    previous = tmp_path / "previous.csv"
    with previous.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerows(
            [
                ["scope", "sender", "optedOut", "at", "source"],
                [NUMBER, "+14155550151", "true", "2025-03-01T12:00:00Z", "old CRM"],
                [NUMBER, "+14155550150", "false", "2025-03-01T12:00:00Z", "old CRM"],
                [NUMBER, "whatsapp:+14155550152", "true", "2025-03-01T12:00:00Z", "old CRM"],
            ]
        )
    # WHEN it is imported, first as a dry run
    code, dry = run_cli(stack, "opt-outs", "import", str(previous), "--dry-run")
    assert code == 1
    assert dry[-1] == "dry run: 1 would be applied, 0 unchanged, 2 refused"
    assert "line 2: +15005550001 +14155550150: refused: an import never clears an opt-out" in dry[0]
    assert "line 3: +15005550001 whatsapp:+14155550152: refused: a whatsapp sender under a sms scope" in dry[1]
    assert "+14155550151" not in "\n".join(run_cli(stack, "opt-outs", "list")[1])
    code, done = run_cli(stack, "opt-outs", "import", str(previous), "--by", "migration")
    assert done[-1] == "1 applied, 0 unchanged, 2 refused"
    # THEN the export for an audit says who did what, when, from where
    code, lines = run_cli(stack, "opt-outs", "export", "--format", "jsonl")
    audit = {entry["sender"]: entry for entry in map(json.loads, lines)}
    assert (audit["+14155550150"]["origin"], audit["+14155550150"]["optedOut"]) == ("text", True)
    imported = audit["+14155550151"]
    assert (imported["origin"], imported["requestedBy"], imported["source"], imported["updatedAt"]) == (
        "import",
        "migration",
        "old CRM",
        "2025-03-01T12:00:00.000Z",
    )
    assert imported["actor"].startswith("arn:aws:")
    # AND the imported opt-out holds: a send to that customer is refused
    code, outcome = sms(stack, "--from", "front-desk", "--to", "+14155550151", "--body", "Sale!", "--wait", "30")
    assert (code, outcome[-1]["state"]) == (1, "refused")
