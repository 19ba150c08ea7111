"""Complete threads: a reply the webhook answers in TwiML (a registry auto-reply, a keyword reply) is in the thread
with its status, so a conversation read back is what the customer saw.

The ingest stores what it answered in the same single write as the message, and puts a statusCallback on the
TwiML <Message> (https://www.twilio.com/docs/messaging/twiml/message, the statusCallback attribute) naming the
message it answers (/status?replyTo=<MessageSid>); Twilio (the stand-in, which creates the message and posts its
callbacks as Twilio does) calls back, and the status route stores the reply from what the ingest stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devtools.lambda_runtime import Invoke, load_function
from devtools.template import Stack
from devtools.twilio_api import TwilioStandIn
from tests.unit.helpers import OFFLINE_ENV, serving, signed_event, status_subscriber
from twilio_inbound.messages_table import BY_CONVERSATION_INDEX, MessageStore
from twilio_inbound.numbers import NumberConfig
from twilio_inbound.numbers_table import NumberRegistry
from twilio_inbound.webhook import sibling_url
from twilio_inbound_cli.signing import (
    TEST_ACCOUNT_SID,
    TEST_AUTH_TOKEN,
    TEST_WEBHOOK_URL,
    inbound_form,
    new_message_sid,
    status_callback_form,
)

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

NUMBER, CUSTOMER = "+15005550001", "+14155550100"
WELCOME = "Thanks! We answer within the hour."
HOURS = "We are open 9-5 & on Saturdays."


@pytest.fixture
def webhooks(stack: Stack) -> Iterator[str]:
    """/sms and /status on loopback, as the HTTP API serves them."""
    functions = stack.functions()
    routes = {
        "/sms": load_function(functions["IngestFunction"], OFFLINE_ENV),
        "/status": load_function(functions["StatusFunction"], OFFLINE_ENV),
    }
    with serving(routes) as url:
        yield url


@pytest.fixture
def twilio(twilio: TwilioStandIn, webhooks: str, stack: Stack) -> TwilioStandIn:
    """The account, its number pointed at /sms, registered with an auto-reply and a keyword reply."""
    twilio.add_account(sid=TEST_ACCOUNT_SID, auth_token=TEST_AUTH_TOKEN)
    twilio.add_number(TEST_ACCOUNT_SID, NUMBER, sms_url=f"{webhooks}/sms")
    registry = NumberRegistry(stack.session.client("dynamodb"), stack.physical["NumbersTable"]["Ref"], ttl=0)
    registry.put(NumberConfig(NUMBER, name="front-desk", auto_reply=WELCOME, keywords={"HOURS": HOURS}))
    return twilio


def thread(stack: Stack) -> list[dict[str, Any]]:
    store = MessageStore(stack.session.client("dynamodb"), stack.physical["MessagesTable"]["Ref"], "")
    return store.read_many(store.sids_between(BY_CONVERSATION_INDEX, f"{NUMBER}|{CUSTOMER}"))


def texted(twilio: TwilioStandIn, body: str) -> str:
    """The customer texts the number; Twilio delivers the webhook and sends what it answered."""
    message = twilio.add_inbound_message(TEST_ACCOUNT_SID, sender=CUSTOMER, to=NUMBER, body=body)
    assert twilio.deliver_inbound(message.sid).status == 200
    return message.sid


def replies(twilio: TwilioStandIn) -> list[Any]:
    return [message for message in twilio.store.messages.values() if message.direction == "outbound-reply"]


def test_an_auto_reply_and_a_keyword_reply_are_in_the_thread_with_their_status(
    stack: Stack, twilio: TwilioStandIn, webhooks: str, fanout: Invoke
) -> None:
    statuses = status_subscriber(stack, fanout)
    # WHEN the customer texts a question, then the keyword HOURS
    question = texted(twilio, "Can I come by today?")
    keyword = texted(twilio, "hours")
    # THEN Twilio sent both replies, each with a statusCallback naming the message it answers
    sent = replies(twilio)
    assert [reply.body for reply in sent] == [WELCOME, HOURS]
    assert [reply.status_callback for reply in sent] == [
        f"{webhooks}/status?replyTo={question}",
        f"{webhooks}/status?replyTo={keyword}",
    ]
    twilio.wait_for(lambda: all(len(twilio.callbacks(reply.sid)) == 3 for reply in sent))
    assert {callback.status for reply in sent for callback in twilio.callbacks(reply.sid)} == {200}
    # AND the thread, read back, is what the customer saw: each message and the reply to it, delivered
    assert [(item["direction"], item["body"], item.get("status")) for item in thread(stack)] == [
        ("inbound", "Can I come by today?", None),
        ("outbound", WELCOME, "delivered"),
        ("inbound", "hours", None),
        ("outbound", HOURS, "delivered"),
    ]
    welcome = thread(stack)[1]
    assert (welcome["messageSid"], welcome["inReplyTo"], welcome["idempotencyKey"], welcome["from"]) == (
        sent[0].sid,
        question,
        "",
        NUMBER,
    )
    assert welcome["entryPoint"]["name"] == "front-desk"
    # AND subscribers heard each reply's statuses, naming the message it answers
    events = statuses()
    assert [
        (e["data"]["inReplyTo"], e["data"]["status"]) for e in events if e["data"]["messageSid"] == sent[0].sid
    ] == [
        (question, "queued"),  # the status Twilio created it with: no callback reports it, the first stores it
        (question, "sending"),
        (question, "sent"),
        (question, "delivered"),
    ]


def test_the_reply_is_stored_with_the_message_in_one_write(
    stack: Stack, ingest: Invoke, twilio: TwilioStandIn, table_items: Any
) -> None:
    # WHEN the webhook answers a message (a repeat delivery gets the same answer)
    form = inbound_form(body="hello", sender=CUSTOMER, to=NUMBER)
    first = ingest(signed_event(form))
    again = ingest(signed_event(form))
    # THEN its TwiML carries the reply and where its statuses go, and the stored message says what was answered
    sid = dict(form)["MessageSid"]
    callback = TEST_WEBHOOK_URL.replace("/sms", f"/status?replyTo={sid}")  # beside the webhook's URL
    assert first["body"] == again["body"]
    assert f'<Message statusCallback="{callback}">{WELCOME}</Message>' in first["body"]
    (stored,) = table_items()
    assert stored["reply"] == WELCOME
    # AND a message that gets no reply (a STOP) stores none and answers empty TwiML
    stop = ingest(signed_event(inbound_form(body="STOP", sender="+14155550111", to=NUMBER)))
    assert stop["body"].endswith("<Response/>")
    assert [item.get("reply") for item in table_items() if item["body"] == "STOP"] == [None]


@pytest.mark.parametrize(
    ("names", "change", "status", "reason"),
    [
        ("answered", {"account_sid": "AC" + "f" * 32}, 403, "AccountSid is not the account of the message"),
        ("answered", {"to": "+14155550199"}, 404, "the callback is not for a reply to the message replyTo names"),
        ("unanswered", {}, 404, "replyTo names no message this stack answered"),
        ("nothing", {}, 404, "replyTo names no message this stack answered"),
        ("both", {}, 400, "the callback URL names both idempotencyKey and replyTo"),
    ],
)
def test_a_callback_for_a_reply_the_stack_did_not_cause_is_refused(
    stack: Stack, ingest: Invoke, table_items: Any, names: str, change: dict[str, str], *, status: int, reason: str
) -> None:
    # GIVEN a message the webhook answered, and one it did not (to an unregistered number)
    NumberRegistry(stack.session.client("dynamodb"), stack.physical["NumbersTable"]["Ref"], ttl=0).put(
        NumberConfig(NUMBER, auto_reply=WELCOME)
    )
    answered = inbound_form(body="hello", sender=CUSTOMER, to=NUMBER)
    unanswered = inbound_form(body="hello", sender=CUSTOMER, to="+15005550099")
    for form in (answered, unanswered):
        assert ingest(signed_event(form))["statusCode"] == 200
    reply_to = {
        "answered": dict(answered)["MessageSid"],
        "unanswered": dict(unanswered)["MessageSid"],
        "nothing": "SM" + "0" * 32,
        "both": dict(answered)["MessageSid"],
    }[names]
    query = f"replyTo={reply_to}" + ("&idempotencyKey=k" if names == "both" else "")
    # WHEN a signed callback names it
    callback = status_callback_form(new_message_sid(), "delivered", sender=NUMBER, to=CUSTOMER)
    callback = [(name, change.get(_FIELD.get(name, ""), value)) for name, value in callback]
    status_function = load_function(stack.functions()["StatusFunction"], OFFLINE_ENV)
    answer = status_function(signed_event(callback, url=f"https://example.com/status?{query}"))
    # THEN it is refused with the reason, and nothing is stored
    assert (answer["statusCode"], answer["body"].strip()) == (status, reason)
    assert [item for item in table_items() if item.get("direction") == "outbound"] == []


_FIELD = {"AccountSid": "account_sid", "To": "to"}


def test_replies_of_a_number_without_one_are_not_sent(stack: Stack, twilio: TwilioStandIn) -> None:
    NumberRegistry(stack.session.client("dynamodb"), stack.physical["NumbersTable"]["Ref"], ttl=0).put(
        NumberConfig(NUMBER, name="front-desk")
    )
    texted(twilio, "hello")
    assert replies(twilio) == []
    assert [item["direction"] for item in thread(stack)] == ["inbound"]


def test_the_callback_url_beside_the_webhook_keeps_a_stage_path() -> None:
    assert sibling_url("https://abc.execute-api.us-east-1.amazonaws.com/Prod/sms?x=1", "status") == (
        "https://abc.execute-api.us-east-1.amazonaws.com/Prod/status"
    )
    assert sibling_url("https://hooks.example.com/twilio/sms", "status") == "https://hooks.example.com/twilio/status"
