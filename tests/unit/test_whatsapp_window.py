"""WhatsApp's templates and 24-hour window, and the addresses that are no phone number (WhatsApp business-scoped
user IDs, RCS), through the sender function's own wiring with the Twilio API stand-in as Twilio (held to Twilio's
description) and moto as AWS.

A free-form WhatsApp message is allowed within 24 hours of the customer's last message; outside, only an approved
template (https://www.twilio.com/docs/whatsapp/key-concepts, "Customer service windows"). The stack refuses such a
command before Twilio is called; Twilio's own 63016 is the backstop for what slips past (a message in flight).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devtools.lambda_runtime import Invoke
from devtools.template import Stack
from devtools.twilio_api import TwilioStandIn
from sender.customer_window import EDGE_MARGIN, TWILIO_ERROR, WINDOW
from sender.sending import Sender
from tests.unit.helpers import signed_event
from tests.unit.test_sender import (  # noqa: F401 (fixtures)
    WHATSAPP,
    command,
    conversation,
    creates,
    registry,
    sender,
    sleeps,
    status_events,
    twilio,
    wire,
)
from twilio_inbound.message import StorageOptions, build_record, check_parameters, group_pairs
from twilio_inbound.messages_table import MessageStore
from twilio_inbound.numbers import NumberConfig
from twilio_inbound.numbers_table import NumberRegistry
from twilio_inbound_cli.signing import TEST_ACCOUNT_SID, inbound_form

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

CUSTOMER = "whatsapp:+14155550100"
TEMPLATE_BODY = "Your appointment is on {{1}} at {{2}}."
# A WhatsApp user known only by their business-scoped user ID: Twilio sends it as From, "whatsapp:" + the BSUID
# (https://www.twilio.com/en-us/changelog/whatsapp-bsuid-format-in-conversations-and-webhook-fields; the format,
# a country code, a period and up to 128 letters and digits: Meta's "Business-scoped user IDs" page).
USER_ID = "whatsapp:US.13491208655302741918"


def stored_inbound(stack: Stack, sender: str, to: str, at: datetime, body: str = "hi") -> str:
    """An inbound message in the table as the ingest function stores it, received at `at`."""
    form = check_parameters(group_pairs(inbound_form(body=body, sender=sender, to=to)))
    record = build_record(form, at, StorageOptions())
    store = MessageStore(stack.session.client("dynamodb"), stack.physical["MessagesTable"]["Ref"], "")
    assert store.put_new(record)
    return record["messageSid"]


@pytest.fixture
def template(twilio: TwilioStandIn) -> str:
    return twilio.add_content(TEST_ACCOUNT_SID, TEMPLATE_BODY).sid


def test_a_template_goes_to_a_customer_who_never_wrote_and_the_thread_keeps_what_they_saw(
    stack: Stack, sender: Sender, twilio: TwilioStandIn, template: str, status_events: Any
) -> None:
    # WHEN a service sends a template with its variables to a WhatsApp customer who never wrote
    variables = {"1": "Monday", "2": "3pm"}
    outcome = sender.handle(
        json.dumps(
            {
                "idempotencyKey": "reminder-1",
                "to": CUSTOMER,
                "from": "support-whatsapp",
                "contentSid": template,
                "contentVariables": variables,
            }
        ),
        "m1",
    )
    # THEN Twilio gets ContentSid and ContentVariables as its Messages API defines them, and delivers it
    assert outcome.kind == "sent"
    (create,) = creates(twilio)
    form = dict(create.form)
    assert (form["ContentSid"], json.loads(form["ContentVariables"]), "Body" in form) == (template, variables, False)
    twilio.wait_for(lambda: len(twilio.callbacks(outcome.message_sid)) == 3)
    # AND the thread holds the message with the body the customer saw and the template it came from
    (stored,) = conversation(stack, f"{WHATSAPP}|{CUSTOMER}")
    assert (stored["body"], stored["contentSid"], stored["status"]) == (
        "Your appointment is on Monday at 3pm.",
        template,
        "delivered",
    )
    assert [event["data"]["status"] for event in status_events()] == ["queued", "sending", "sent", "delivered"]


def test_free_form_to_a_customer_outside_the_window_is_refused_before_twilio_is_called(
    stack: Stack, sender: Sender, twilio: TwilioStandIn, status_events: Any
) -> None:
    # GIVEN one customer who wrote 25 hours ago, and one who never wrote
    stored_inbound(stack, CUSTOMER, WHATSAPP, datetime.now(UTC) - timedelta(hours=25))
    for key, to in (("late", CUSTOMER), ("stranger", "whatsapp:+14155550101")):
        # WHEN a service sends them free-form text
        outcome = sender.handle(command(idempotencyKey=key, to=to, **{"from": WHATSAPP}), key)
        # THEN it is refused with the reason and Twilio's code for it, and nothing reaches Twilio
        assert (outcome.kind, outcome.error_code) == ("refused", TWILIO_ERROR)
        assert "24-hour customer service window is closed" in outcome.reason
        assert "contentSid" in outcome.reason
    assert creates(twilio) == []
    events = status_events()
    assert [(e["data"]["status"], e["data"]["errorCode"], e["data"]["to"]) for e in events] == [
        ("refused", TWILIO_ERROR, CUSTOMER),
        ("refused", TWILIO_ERROR, "whatsapp:+14155550101"),
    ]


@pytest.mark.parametrize(
    ("age", "kind"),
    [
        (timedelta(hours=1), "sent"),
        (WINDOW - EDGE_MARGIN - timedelta(seconds=30), "sent"),  # inside, the margin left
        (WINDOW - EDGE_MARGIN + timedelta(seconds=30), "refused"),  # within the margin: closed a minute early
    ],
)
def test_the_window_is_the_customers_last_stored_message_with_a_margin_at_its_edge(
    stack: Stack, sender: Sender, twilio: TwilioStandIn, age: timedelta, kind: str
) -> None:
    # GIVEN the customer's message as Twilio holds it (its own window check) and as the stack stored it
    received_at = datetime.now(UTC) - age
    twilio.add_inbound_message(TEST_ACCOUNT_SID, sender=CUSTOMER, to=WHATSAPP, body="hi", date_sent=received_at)
    stored_inbound(stack, CUSTOMER, WHATSAPP, received_at)
    # AND a later message of ours in the thread, which does not open the window
    assert sender.handle(command(idempotencyKey="sms", to="+14155550100", **{"from": "+15005550001"}), "m0")
    # WHEN free-form text goes to the customer
    assert sender.handle(command(to=CUSTOMER, **{"from": WHATSAPP}), "m1").kind == kind


def test_a_reply_inside_the_window_is_sent_and_a_template_needs_no_window(
    stack: Stack, ingest: Invoke, sender: Sender, twilio: TwilioStandIn, template: str
) -> None:
    received = twilio.add_inbound_message(TEST_ACCOUNT_SID, sender=CUSTOMER, to=WHATSAPP, body="Is it ready?")
    assert ingest(signed_event(twilio.webhook_form(received.sid)))["statusCode"] == 200
    assert sender.handle(command(idempotencyKey="reply", inReplyTo=received.sid, body="Yes"), "m1").kind == "sent"
    reminder = {"idempotencyKey": "t", "inReplyTo": received.sid, "contentSid": template}
    assert sender.handle(json.dumps({**reminder, "contentVariables": {"1": "Monday", "2": "9am"}}), "m2").kind == "sent"


def test_twilios_63016_is_the_backstop_for_what_the_stack_could_not_see(
    stack: Stack, sender: Sender, twilio: TwilioStandIn, status_events: Any
) -> None:
    # GIVEN a thread whose last customer message the stack stored, but which Twilio took 25 hours earlier
    # (the stack's clock, or a message recovered late): the stack sees the window open, Twilio does not
    twilio.add_inbound_message(
        TEST_ACCOUNT_SID, sender=CUSTOMER, to=WHATSAPP, date_sent=datetime.now(UTC) - timedelta(hours=25)
    )
    stored_inbound(stack, CUSTOMER, WHATSAPP, datetime.now(UTC) - timedelta(hours=1))
    # WHEN free-form text goes out
    outcome = sender.handle(command(to=CUSTOMER, **{"from": WHATSAPP}), "m1")
    # THEN Twilio accepts it and fails it with 63016, and the stack reports that as the message's status
    assert outcome.kind == "sent"
    twilio.wait_for(lambda: len(twilio.callbacks(outcome.message_sid)) == 1)
    assert [(e["data"]["status"], e["data"]["errorCode"]) for e in status_events()] == [
        ("queued", None),
        ("failed", TWILIO_ERROR),
    ]


def test_a_customer_known_only_by_their_business_scoped_user_id_is_threaded_answered_and_can_opt_out(
    stack: Stack, ingest: Invoke, sender: Sender, twilio: TwilioStandIn, table_items: Any
) -> None:
    # GIVEN a message from a WhatsApp user with a username: From is their business-scoped user ID, no WaId
    received = twilio.add_inbound_message(TEST_ACCOUNT_SID, sender=USER_ID, to=WHATSAPP, body="hola")
    form = twilio.webhook_form(received.sid)
    assert ("ExternalUserIdentifier", "US.13491208655302741918") in form
    assert "WaId" not in dict(form)
    # WHEN it comes in
    assert ingest(signed_event(form))["statusCode"] == 200
    # THEN it is stored and threaded under that address
    (stored,) = conversation(stack, f"{WHATSAPP}|{USER_ID}")
    assert (stored["from"], stored["channel"]) == (USER_ID, "whatsapp")
    # AND answered with inReplyTo, to that address
    outcome = sender.handle(command(idempotencyKey="answer", inReplyTo=received.sid, body="¡Hola!"), "m1")
    assert outcome.kind == "sent"
    assert twilio.message(outcome.message_sid).to == USER_ID
    # AND when they text STOP, nothing more is sent to them, by reply or by address
    stop = twilio.add_inbound_message(TEST_ACCOUNT_SID, sender=USER_ID, to=WHATSAPP, body="STOP")
    assert ingest(signed_event(twilio.webhook_form(stop.sid)))["statusCode"] == 200
    refused = sender.handle(command(idempotencyKey="after-stop", inReplyTo=received.sid, body="Still there?"), "m2")
    assert (refused.kind, refused.reason) == ("refused", f"the recipient has opted out of {WHATSAPP} (STOP)")
    direct = sender.handle(command(idempotencyKey="direct", to=USER_ID, **{"from": WHATSAPP}), "m3")
    assert direct.kind == "refused"


def test_an_rcs_message_with_a_button_payload_is_stored_published_and_answered_from_the_rcs_sender(
    stack: Stack, ingest: Invoke, sender: Sender, twilio: TwilioStandIn, *, registry: NumberRegistry, table_items: Any
) -> None:
    """An RCS user taps a button: Twilio posts From rcs:<their number>, To rcs:<our sender>, and the button's
    ButtonPayload (the id given in the Content template) and ButtonText
    (https://www.twilio.com/docs/rcs/send-an-rcs-message; https://www.twilio.com/en-us/changelog/rcs-button-payload)."""
    agent = twilio.add_sender(TEST_ACCOUNT_SID, "rcs:owlair_ab12cd34_agent")
    registry.put(NumberConfig(agent, name="owl-air"))
    form = inbound_form(
        body="Confirm",
        sender="rcs:+14155550100",
        to=agent,
        extra=[("ButtonPayload", "confirm_appt_1043"), ("ButtonText", "Confirm"), ("MessageType", "button")],
    )
    assert ingest(signed_event(form))["statusCode"] == 200
    (stored,) = table_items()
    assert (stored["channel"], stored["entryPoint"]["name"]) == ("rcs", "owl-air")
    assert stored["parameters"]["ButtonPayload"] == "confirm_appt_1043"
    outcome = sender.handle(command(inReplyTo=dict(form)["MessageSid"], body="Confirmed, see you Monday."), "m1")
    assert outcome.kind == "sent"
    message = twilio.message(outcome.message_sid)
    assert (message.from_, message.to) == (agent, "rcs:+14155550100")


def test_a_free_form_message_through_a_messaging_service_looks_at_every_number_of_its_pool(
    stack: Stack, sender: Sender, twilio: TwilioStandIn
) -> None:
    # GIVEN a service whose WhatsApp pool has two numbers, and a customer who wrote to the second one
    pool = [twilio.store.numbers[sid] for sid in twilio.store.numbers]
    service = twilio.add_service(TEST_ACCOUNT_SID, number_sids=[number.sid for number in pool])
    NumberRegistry(stack.session.client("dynamodb"), stack.physical["NumbersTable"]["Ref"], ttl=0).put(
        NumberConfig(service.sid, name="whatsapp-service")
    )
    second = f"whatsapp:{pool[1].phone_number}"
    twilio.add_inbound_message(TEST_ACCOUNT_SID, sender=CUSTOMER, to=second, body="hi")
    stored_inbound(stack, CUSTOMER, second, datetime.now(UTC) - timedelta(hours=2))
    # THEN free-form text through the service is allowed; to another customer it is not
    assert sender.handle(command(to=CUSTOMER, **{"from": "whatsapp-service"}), "m1").kind == "sent"
    other = sender.handle(command(idempotencyKey="k2", to="whatsapp:+14155550109", **{"from": service.sid}), "m2")
    assert other.kind == "refused"


@pytest.mark.parametrize(
    ("sender_named", "to"),
    [
        ("support-line", CUSTOMER),  # an SMS number to a WhatsApp address
        ("+15005550001", CUSTOMER),
        ("support-whatsapp", "+14155550100"),  # a WhatsApp sender to a phone number
    ],
)
def test_a_command_across_channels_is_refused_before_twilio_is_called(
    *, stack: Stack, sender: Sender, twilio: TwilioStandIn, template: str, sender_named: str, to: str
) -> None:
    # GIVEN a customer whose window is open, and a template (neither makes a cross-channel message possible)
    stored_inbound(stack, CUSTOMER, WHATSAPP, datetime.now(UTC) - timedelta(minutes=5))
    # WHEN a command names a sender of one channel and a recipient of another
    outcome = sender.handle(
        json.dumps({"idempotencyKey": "across", "from": sender_named, "to": to, "contentSid": template}), "m1"
    )
    # THEN it is refused, saying so, with Twilio's code for it, and nothing reaches Twilio
    assert (outcome.kind, outcome.error_code) == ("refused", 21910), outcome
    assert "not of the same channel" in outcome.reason
    assert creates(twilio) == []


def test_a_templates_body_is_stored_when_its_first_callback_came_before_twilios_answer_was_recorded(
    *, stack: Stack, twilio: TwilioStandIn, gateway: str, registry: NumberRegistry, template: str, status_events: Any
) -> None:
    # GIVEN a sender that records Twilio's answer only once the message's callbacks reached /status (they can come
    # first: Twilio posts them as it sends), so the status route stores the message from the command alone
    client = stack.session.client("dynamodb")
    sends_table = stack.physical["SendsTable"]["Ref"]

    def after_the_callbacks(params: dict[str, Any], **_: Any) -> None:
        if params.get("TableName") == sends_table and ":created" in json.dumps(params, default=str):
            twilio.wait_for(lambda: any(len(twilio.callbacks(sid)) == 3 for sid in twilio.store.messages))

    client.meta.events.register("before-parameter-build.dynamodb.UpdateItem", after_the_callbacks)
    sender = wire(stack, twilio.base_url, gateway, [], client=client)
    # WHEN a template goes to a WhatsApp customer
    variables = {"1": "Monday", "2": "3pm"}
    outcome = sender.handle(
        json.dumps({"idempotencyKey": "k", "to": CUSTOMER, "from": WHATSAPP, "contentSid": template,
                    "contentVariables": variables}),
        "m1",
    )  # fmt: skip
    # THEN the thread holds the body the customer saw (Twilio rendered it; only its answer says so)
    assert outcome.kind == "sent"
    (stored,) = conversation(stack, f"{WHATSAPP}|{CUSTOMER}")
    assert (stored["body"], stored["contentSid"], stored["status"]) == (
        "Your appointment is on Monday at 3pm.",
        template,
        "delivered",
    )
    # AND subscribers heard the status Twilio created it with first (no callback reports it), then each callback's
    assert [event["data"]["status"] for event in status_events()] == ["queued", "sending", "sent", "delivered"]
