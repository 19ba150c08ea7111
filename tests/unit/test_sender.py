"""Sending: send commands through the sender to the Twilio API stand-in (the official SDK over loopback), status
callbacks back through the /status route, everything stored and published in moto.

Covers what the issue asks: replies with inReplyTo (SMS and WhatsApp), opt-out refusal, idempotent redelivery,
Twilio's errors of each kind (429 then success, 5xx, permanent 21211/21610, no connection, a timeout: unknown
outcome), malformed commands to the DLQ with the reason.
"""

from __future__ import annotations

import http.client
import json
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest.mock import ANY
from urllib.parse import urlsplit

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError

from devtools.apigw import GatewayServer
from devtools.lambda_runtime import Invoke, load_function
from devtools.template import Stack
from devtools.twilio_api import FAILED_TO, TwilioStandIn
from devtools.twilio_api.spec import TwilioSpec, load_spec
from sender.accounts import TwilioAccounts
from sender.dead_letters import DeadLetters
from sender.sending import Sender, SendLater
from sender.service_pools import ServicePools
from tests.unit.helpers import OFFLINE_ENV, captured_logs, load_event, signed_event, status_subscriber
from twilio_inbound.clock import utc_now
from twilio_inbound.messages_table import BY_CONVERSATION_INDEX, MessageStore
from twilio_inbound.numbers import NumberConfig
from twilio_inbound.numbers_table import NumberRegistry
from twilio_inbound.opt_outs_table import OptOutStore
from twilio_inbound.outbound_table import OutboundStore
from twilio_inbound.publishing import TopicPublisher
from twilio_inbound.secrets import secrets_from_text
from twilio_inbound.sends_table import SendIntent, SendIntentStore
from twilio_inbound.twilio_rest import Backoff
from twilio_inbound_cli.signing import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, inbound_form

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

NUMBER = "+15005550001"  # registered as support-line; the stand-in's account owns it
SECOND = "+15005550005"  # registered as alerts
WHATSAPP = "whatsapp:+15005550001"
CUSTOMER = "+15005550006"
SECRET = json.dumps({"primary": TEST_AUTH_TOKEN, "accountSid": TEST_ACCOUNT_SID})
CREATE = r"/Messages\.json$"


@pytest.fixture(scope="session")
def spec() -> TwilioSpec:
    return load_spec()


@pytest.fixture
def twilio(spec: TwilioSpec) -> Iterator[TwilioStandIn]:
    """Twilio's REST API on loopback, checking every request and answer against Twilio's description."""
    with TwilioStandIn.start(spec=spec) as standin:
        account = standin.add_account(sid=TEST_ACCOUNT_SID, auth_token=TEST_AUTH_TOKEN)
        for number in (NUMBER, SECOND):
            standin.add_number(account.sid, number)
        yield standin
        assert standin.violations == []


@pytest.fixture
def registry(stack: Stack) -> NumberRegistry:
    registry = NumberRegistry(stack.session.client("dynamodb"), stack.physical["NumbersTable"]["Ref"], ttl=0)
    registry.put(NumberConfig(NUMBER, name="support-line"))
    registry.put(NumberConfig(WHATSAPP, name="support-whatsapp"))
    registry.put(NumberConfig(SECOND, name="alerts"))
    return registry


@pytest.fixture
def sleeps() -> list[float]:
    return []


def wire(
    stack: Stack, api_url: str, callback_base: str, sleeps: list[float], *, timeout: float = 5.0, client: Any = None
) -> Sender:
    """The sender as its handler wires it, against moto, the given Twilio API and the given /status route."""
    client, physical = client or stack.session.client("dynamodb"), stack.physical
    accounts = TwilioAccounts(lambda: secrets_from_text(SECRET), api_url, timeout)
    return Sender(
        intents=SendIntentStore(client, physical["SendsTable"]["Ref"]),
        messages=MessageStore(client, physical["MessagesTable"]["Ref"], physical["OptOutsTable"]["Ref"]),
        outbound=OutboundStore(client, physical["MessagesTable"]["Ref"]),
        registry=NumberRegistry(client, physical["NumbersTable"]["Ref"], ttl=0),
        optouts=OptOutStore(client, physical["OptOutsTable"]["Ref"]),
        pools=ServicePools(accounts, ttl=0),
        publisher=TopicPublisher(stack.session.client("sns"), physical["MessagesTopic"]["Ref"]),
        dead_letters=DeadLetters(stack.session.client("sqs"), physical["OutboundDeadLetterQueue"]["Ref"]),
        accounts=accounts,
        status_callback_url=f"{callback_base}/status",
        in_flight_seconds=120,
        max_deliveries=5,
        backoff=Backoff(attempts=3, base_seconds=0.01, max_seconds=0.02),
        now=utc_now,
        sleep=sleeps.append,
    )


@pytest.fixture
def sender(stack: Stack, twilio: TwilioStandIn, gateway: str, registry: NumberRegistry, sleeps: list[float]) -> Sender:
    return wire(stack, twilio.base_url, gateway, sleeps)


@pytest.fixture
def status_events(stack: Stack, fanout: Invoke) -> Callable[[], list[Any]]:
    return status_subscriber(stack, fanout)


def command(**fields: Any) -> str:
    return json.dumps({"idempotencyKey": "key-1", "body": "Your order shipped.", **fields})


def creates(twilio: TwilioStandIn) -> list[Any]:
    """Messages.create requests the stand-in answered (whatever the answer)."""
    return [r for r in twilio.requests("api") if r.method == "POST" and r.path.endswith("/Messages.json")]


def conversation(stack: Stack, key: str) -> list[dict[str, Any]]:
    """Both directions of one thread, in time order: the index's keys, then each item (KEYS_ONLY index)."""
    store = MessageStore(stack.session.client("dynamodb"), stack.physical["MessagesTable"]["Ref"], "")
    return store.read_many(store.sids_between(BY_CONVERSATION_INDEX, key))


def intent(stack: Stack, key: str = "key-1") -> SendIntent | None:
    return SendIntentStore(stack.session.client("dynamodb"), stack.physical["SendsTable"]["Ref"]).get(key)


# ---------------------------------------------------------------- replies: out, stored, statuses back
def test_a_reply_goes_back_where_the_message_came_from_and_its_statuses_come_back(
    stack: Stack, ingest: Invoke, sender: Sender, twilio: TwilioStandIn, *, gateway: str, status_events: Any
) -> None:
    # GIVEN an inbound message from a customer to our number
    form = inbound_form(body="Is my order on its way?", sender=CUSTOMER, to=NUMBER)
    assert ingest(signed_event(form))["statusCode"] == 200
    inbound_sid = dict(form)["MessageSid"]
    # WHEN a service answers it with inReplyTo
    outcome = sender.handle(command(inReplyTo=inbound_sid, idempotencyKey="reply-1", body="It left today."), "m1")
    # THEN Twilio gets it from our number to the customer, with a StatusCallback naming the command
    assert outcome.kind == "sent"
    message = twilio.message(outcome.message_sid)
    assert (message.from_, message.to, message.body) == (NUMBER, CUSTOMER, "It left today.")
    assert message.status_callback == f"{gateway}/status?idempotencyKey=reply-1"
    # and Twilio's signed callbacks (sending, sent, delivered: none for the initial queued) are accepted by the stack
    twilio.wait_for(lambda: len(twilio.callbacks(outcome.message_sid)) == 3)
    assert [(dict(c.params)["MessageStatus"], c.status) for c in twilio.callbacks(outcome.message_sid)] == [
        ("sending", 200),
        ("sent", 200),
        ("delivered", 200),
    ]
    # and ByConversation returns both directions, in order
    thread = conversation(stack, f"{NUMBER}|{CUSTOMER}")
    assert [(item["direction"], item["body"]) for item in thread] == [
        ("inbound", "Is my order on its way?"),
        ("outbound", "It left today."),
    ]
    reply = thread[1]
    assert (reply["messageSid"], reply["status"], reply["inReplyTo"], reply["idempotencyKey"]) == (
        outcome.message_sid,
        "delivered",
        inbound_sid,
        "reply-1",
    )
    assert reply["entryPoint"]["name"] == "support-line"
    # and subscribers got one status event per status (queued from create's answer), each naming the command
    events = status_events()
    assert [event["data"]["status"] for event in events] == ["queued", "sending", "sent", "delivered"]
    assert {event["data"]["idempotencyKey"] for event in events} == {"reply-1"}


def test_a_sent_message_is_stored_with_its_first_status_in_one_write(
    stack: Stack, twilio: TwilioStandIn, registry: NumberRegistry, status_events: Any
) -> None:
    # GIVEN a sender whose DynamoDB writes are counted (Twilio's callbacks go nowhere: only the sender writes)
    client = stack.session.client("dynamodb")
    messages_table = stack.physical["MessagesTable"]["Ref"]
    writes: list[str] = []
    client.meta.events.register(
        "before-parameter-build.dynamodb",
        lambda params, model, **_: writes.append(model.name) if params.get("TableName") == messages_table else None,
    )
    sender = wire(stack, twilio.base_url, "http://127.0.0.1:9", [], client=client)
    # WHEN it sends a message
    outcome = sender.handle(command(to=CUSTOMER, **{"from": NUMBER}), "m1")
    # THEN the message and the create call's status are one write (a unit of cost per message: bench.sending_cost)
    assert outcome.kind == "sent"
    assert [name for name in writes if name != "Query"] == ["PutItem"]
    item = MessageStore(client, messages_table, "").get(outcome.message_sid) or {}
    assert (item["body"], item["status"], item["statusesSeen"]) == ("Your order shipped.", "queued", ["queued"])
    # AND subscribers hear that status once, as before
    assert [event["data"]["status"] for event in status_events()] == ["queued"]


def test_a_whatsapp_message_is_answered_on_whatsapp(
    stack: Stack, ingest: Invoke, sender: Sender, twilio: TwilioStandIn
) -> None:
    # the customer's message as Twilio holds it (a free-form answer outside WhatsApp's window would fail, 63016)
    received = twilio.add_inbound_message(TEST_ACCOUNT_SID, sender="whatsapp:+14155550199", to=WHATSAPP, body="hola")
    ingest(signed_event(twilio.webhook_form(received.sid)))
    outcome = sender.handle(command(inReplyTo=received.sid, body="¡Hola!"), "m1")
    message = twilio.message(outcome.message_sid)
    assert (message.from_, message.to) == (WHATSAPP, "whatsapp:+14155550199")
    twilio.wait_for(lambda: len(twilio.callbacks(outcome.message_sid)) == 3)
    (reply,) = [
        item for item in conversation(stack, f"{WHATSAPP}|whatsapp:+14155550199") if item["direction"] == "outbound"
    ]
    assert (reply["channel"], reply["status"]) == ("whatsapp", "delivered")


def test_a_message_the_carrier_cannot_deliver_reports_failed_with_its_error_code(
    stack: Stack, sender: Sender, twilio: TwilioStandIn, status_events: Any
) -> None:
    outcome = sender.handle(command(to=FAILED_TO, **{"from": NUMBER}), "m1")
    assert outcome.kind == "sent"
    twilio.wait_for(lambda: len(twilio.callbacks(outcome.message_sid)) == 1)
    events = status_events()
    assert [(e["data"]["status"], e["data"]["errorCode"]) for e in events] == [("queued", None), ("failed", 30008)]


def test_media_and_the_entry_point_name_as_sender(stack: Stack, sender: Sender, twilio: TwilioStandIn) -> None:
    outcome = sender.handle(
        command(to=CUSTOMER, mediaUrls=["https://media.example/receipt.png"], **{"from": "alerts"}), "m1"
    )
    assert outcome.kind == "sent"
    assert twilio.message(outcome.message_sid).from_ == SECOND
    assert len(twilio.media_of(outcome.message_sid)) == 1
    (stored,) = [
        item for item in conversation(stack, f"{SECOND}|{CUSTOMER}") if item["messageSid"] == outcome.message_sid
    ]
    assert (stored["channel"], stored["numMedia"], stored["media"]) == (
        "mms",
        1,
        [{"url": "https://media.example/receipt.png", "contentType": ""}],
    )


# ---------------------------------------------------------------- refusals: nothing sent, a reason, an event
def test_a_recipient_who_opted_out_is_never_sent_to(
    stack: Stack, ingest: Invoke, sender: Sender, twilio: TwilioStandIn, status_events: Any
) -> None:
    # GIVEN the customer texted STOP to our number
    ingest(signed_event(inbound_form(body="STOP", sender=CUSTOMER, to=NUMBER)))
    # WHEN a service sends to them from that number (directly, or as a reply)
    outcome = sender.handle(command(to=CUSTOMER, **{"from": NUMBER}), "m1")
    # THEN nothing reaches Twilio; the command is refused with a reason, and an event says so
    assert (outcome.kind, outcome.reason) == ("refused", f"the recipient has opted out of {NUMBER} (STOP)")
    assert creates(twilio) == []
    (event,) = status_events()
    assert event["id"] == "key-1:refused"
    assert (event["data"]["status"], event["data"]["reason"], event["data"]["messageSid"]) == (
        "refused",
        outcome.reason,
        "",
    )
    # and a redelivery sends nothing: the same outcome is published again, under the same id
    assert sender.handle(command(to=CUSTOMER, **{"from": NUMBER}), "m1").kind == "duplicate"
    assert creates(twilio) == []
    assert [(again["id"], again["data"]["reason"]) for again in status_events()] == [("key-1:refused", outcome.reason)]
    # while the other number, which the customer did not opt out of, may still send
    assert sender.handle(command(to=CUSTOMER, idempotencyKey="key-2", **{"from": SECOND}), "m2").kind == "sent"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"from": "+15005550009", "to": CUSTOMER}, "from: +15005550009 is not a registered number"),
        ({"from": "billing", "to": CUSTOMER}, "from: 'billing' is not the name of a registered number"),
        ({"inReplyTo": "SM" + "0" * 32}, f"inReplyTo: {'SM' + '0' * 32} is not a stored inbound message"),
    ],
)
def test_an_unknown_sender_or_message_is_refused(
    sender: Sender, twilio: TwilioStandIn, fields: dict[str, str], reason: str
) -> None:
    outcome = sender.handle(command(**fields), "m1")
    assert (outcome.kind, outcome.reason) == ("refused", reason)
    assert creates(twilio) == []


def test_a_disabled_number_does_not_send(sender: Sender, registry: NumberRegistry, twilio: TwilioStandIn) -> None:
    registry.put(NumberConfig(SECOND, name="alerts", enabled=False))
    outcome = sender.handle(command(to=CUSTOMER, **{"from": "alerts"}), "m1")
    assert (outcome.kind, outcome.reason) == ("refused", f"from: {SECOND} is disabled")
    assert creates(twilio) == []


# ---------------------------------------------------------------- idempotency
def test_a_redelivered_command_is_sent_once(stack: Stack, sender: Sender, twilio: TwilioStandIn) -> None:
    body = command(to=CUSTOMER, **{"from": NUMBER})
    first = sender.handle(body, "m1")
    # the same command again, and once more with its JSON written differently
    again = [sender.handle(body, "m1"), sender.handle(json.dumps(json.loads(body), indent=2), "m1-copy")]
    assert first.kind == "sent"
    assert [(outcome.kind, outcome.message_sid) for outcome in again] == [("duplicate", first.message_sid)] * 2
    assert len(creates(twilio)) == 1
    recorded = intent(stack)
    assert recorded is not None
    assert (recorded.state, recorded.message_sid) == ("sent", first.message_sid)


def test_a_key_reused_for_another_command_goes_to_the_dlq(stack: Stack, sender: Sender, twilio: TwilioStandIn) -> None:
    sender.handle(command(to=CUSTOMER, **{"from": NUMBER}), "m1")
    outcome = sender.handle(command(to=CUSTOMER, body="something else", **{"from": NUMBER}), "m2")
    assert (outcome.kind, outcome.reason) == ("malformed", "idempotencyKey already used for a different command")
    assert len(creates(twilio)) == 1
    assert [reason for _, reason in dead_letters(stack)] == ["idempotencyKey already used for a different command"]


def test_a_delivery_still_in_flight_is_left_alone_and_a_dead_one_is_not_sent_again(
    stack: Stack, sender: Sender, twilio: TwilioStandIn, status_events: Any
) -> None:
    # GIVEN another delivery of the command claimed it and called Twilio, and its answer was never recorded
    body = command(to=CUSTOMER, **{"from": NUMBER})
    store = SendIntentStore(stack.session.client("dynamodb"), stack.physical["SendsTable"]["Ref"])
    claimed = SendIntent("key-1", "sending", _fingerprint(body), claimed_at=int(time.time()))
    assert store.claim(claimed) is None
    # WHEN the command comes again while that delivery may still be running THEN it waits (SQS delivers it later)
    with pytest.raises(SendLater):
        sender.handle(body, "m1")
    # WHEN it comes again after that delivery must have ended THEN it is not sent: its outcome is unknown
    later = replace(sender, now=lambda: datetime.fromtimestamp(time.time() + 121, UTC))
    outcome = later.handle(body, "m1")
    assert outcome.kind == "unknown"
    assert creates(twilio) == []
    (event,) = status_events()
    assert (event["data"]["status"], event["data"]["idempotencyKey"]) == ("unknown", "key-1")


def _fingerprint(body: str) -> str:
    from twilio_inbound.outbound import parse_command

    return parse_command(body).fingerprint()


# ---------------------------------------------------------------- Twilio's errors
def test_a_rate_limit_is_retried_with_backoff_then_sent(
    sender: Sender, twilio: TwilioStandIn, sleeps: list[float]
) -> None:
    twilio.fail_next(CREATE, status=429, count=1, method="POST")
    outcome = sender.handle(command(to=CUSTOMER, **{"from": NUMBER}), "m1")
    assert outcome.kind == "sent"
    assert [r.status for r in creates(twilio)] == [429, 201]
    assert len(sleeps) == 1


@pytest.mark.parametrize("status", [429, 500, 503])
def test_errors_that_outlast_the_retries_go_back_to_sqs_then_send_once(
    stack: Stack, sender: Sender, twilio: TwilioStandIn, status: int
) -> None:
    # GIVEN Twilio answers 429 or 5xx to every attempt of this delivery
    twilio.fail_next(CREATE, status=status, count=3, method="POST")
    body = command(to=CUSTOMER, **{"from": NUMBER})
    with pytest.raises(SendLater):
        sender.handle(body, "m1")
    # THEN nothing was sent, and the command may be sent when SQS delivers it again
    recorded = intent(stack)
    assert recorded is not None
    assert recorded.state == "pending"
    assert sender.handle(body, "m1").kind == "sent"
    assert [r.status for r in creates(twilio)] == [status] * 3 + [201]


@pytest.mark.parametrize(
    ("to", "code"),
    [("+15005550001", 21211), ("+15005550004", 21610)],  # Twilio's magic numbers: invalid, unsubscribed
)
def test_permanent_errors_are_not_retried_and_are_reported(
    stack: Stack, sender: Sender, twilio: TwilioStandIn, *, status_events: Any, to: str, code: int
) -> None:
    body = command(to=to, **{"from": SECOND})
    outcome = sender.handle(body, "m1")
    assert (outcome.kind, outcome.error_code) == ("failed", code)
    assert f"error {code}" in outcome.reason
    (event,) = status_events()
    assert (event["data"]["status"], event["data"]["errorCode"], event["data"]["messageSid"]) == ("failed", code, "")
    # a redelivery does not call Twilio again (its outcome is published again, under the same id)
    assert sender.handle(body, "m1").kind == "duplicate"
    assert len(creates(twilio)) == 1
    assert [again["id"] for again in status_events()] == [event["id"]]


class Silent(socketserver.ThreadingTCPServer):
    """A server that takes the request and never answers: a read timeout after the request went out."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.release = threading.Event()
        self.connections = 0
        super().__init__(("127.0.0.1", 0), _SilentHandler)


class _SilentHandler(socketserver.BaseRequestHandler):
    server: Silent

    def handle(self) -> None:
        self.server.connections += 1
        self.request.recv(65536)
        self.server.release.wait(10)


@pytest.fixture
def silent() -> Iterator[Silent]:
    server = Silent()
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def test_a_timeout_is_an_unknown_outcome_never_sent_again(
    stack: Stack, gateway: str, registry: NumberRegistry, silent: Silent, status_events: Any
) -> None:
    # GIVEN Twilio's API takes the request and does not answer in time
    sender = wire(stack, f"http://127.0.0.1:{silent.server_address[1]}", gateway, [], timeout=0.3)
    body = command(to=CUSTOMER, **{"from": NUMBER})
    # WHEN the command is handled THEN its outcome is unknown, and reported
    outcome = sender.handle(body, "m1")
    assert outcome.kind == "unknown"
    assert "may have been created" in outcome.reason
    (event,) = status_events()
    assert (event["data"]["status"], event["data"]["reason"]) == ("unknown", outcome.reason)
    # and SQS delivering it again does not send it again (at most once)
    assert sender.handle(body, "m1").kind == "duplicate"
    assert silent.connections == 1
    assert [again["id"] for again in status_events()] == [event["id"]]


def test_an_unreachable_api_sent_nothing_and_is_retried(stack: Stack, gateway: str, registry: NumberRegistry) -> None:
    closed = GatewayServer(("127.0.0.1", 0), {})
    port = closed.server_address[1]
    closed.server_close()  # nothing listens there now
    sender = wire(stack, f"http://127.0.0.1:{port}", gateway, [])
    with pytest.raises(SendLater, match="could not be reached"):
        sender.handle(command(to=CUSTOMER, **{"from": NUMBER}), "m1")
    recorded = intent(stack)
    assert recorded is not None
    assert recorded.state == "pending"


# ---------------------------------------------------------------- the function: batches, malformed commands
def dead_letters(stack: Stack) -> list[tuple[str, str]]:
    sqs = stack.session.client("sqs")
    url = stack.physical["OutboundDeadLetterQueue"]["Ref"]
    found = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
        "Messages", []
    ):
        for message in messages:
            found.append((message["Body"], message["MessageAttributes"]["reason"]["StringValue"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def sqs_event(*bodies: str, delivery: int = 1) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m{index}",
                "receiptHandle": f"r{index}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": str(delivery)},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:twilio-inbound-test-OutboundQueue",
                "awsRegion": "us-east-1",
            }
            for index, body in enumerate(bodies)
        ]
    }


@pytest.fixture
def sender_function(stack: Stack, sender: Sender, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    invoke = load_function(stack.functions()["SenderFunction"], OFFLINE_ENV)
    from sender import handler as sender_handler

    monkeypatch.setattr(sender_handler, "sender", sender)  # pointed at this test's stand-in and /status route
    return invoke


def test_malformed_commands_go_to_the_dlq_with_the_reason_never_retried(
    stack: Stack, sender_function: Invoke, twilio: TwilioStandIn
) -> None:
    bad = {
        "not json": "not JSON",
        json.dumps({"body": "hi", "to": CUSTOMER, "from": NUMBER}): (
            "idempotencyKey is required (1-128 of A-Z a-z 0-9 . _ : -)"
        ),
        command(to=CUSTOMER, body="x" * 1601, **{"from": NUMBER}): "body is 1601 characters; Twilio's limit is 1600",
        command(to=CUSTOMER, **{"from": NUMBER, "priority": "high"}): "unknown field(s): priority",
        command(inReplyTo="SM" + "1" * 32, to=CUSTOMER): (
            "with inReplyTo, to and from come from that message: leave them out"
        ),
        command(to="0044 20 7946 0000", **{"from": NUMBER}): "to is not valid",
    }
    # WHEN they arrive in one batch THEN none is retried: each is in the DLQ, as sent, with the reason
    assert sender_function(sqs_event(*bad)) == {"batchItemFailures": []}
    assert dict(dead_letters(stack)) == bad
    assert creates(twilio) == []


def test_only_the_commands_that_must_be_retried_are_reported_as_failures(
    stack: Stack, sender_function: Invoke, twilio: TwilioStandIn
) -> None:
    twilio.fail_next(CREATE, status=503, count=3, method="POST")
    first, second = (
        command(to=CUSTOMER, **{"from": NUMBER}),
        command(to=CUSTOMER, idempotencyKey="key-2", **{"from": NUMBER}),
    )
    result = sender_function(sqs_event(first, second))
    # the first met 503s past its retries (back to SQS); the second was sent
    assert result == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert [r.status for r in creates(twilio)] == [503, 503, 503, 201]


def test_the_shipped_send_command_event_answers_the_shipped_sms(
    stack: Stack, ingest: Invoke, sender_function: Invoke, twilio: TwilioStandIn
) -> None:
    assert ingest(load_event("http-api-sms.json"))["statusCode"] == 200
    assert sender_function(load_event("send-command-sqs.json")) == {"batchItemFailures": []}
    (message,) = twilio.store.messages.values()
    assert (message.from_, message.to, message.body) == (NUMBER, CUSTOMER, "Thanks! It left this morning.")


# ---------------------------------------------------------------- issue 20, item 3: what Twilio accepted is stored
def failing_once(client: Any, operation: str, table: str) -> Callable[..., None]:
    """Makes the next `operation` on `table` fail (a DynamoDB fault), once."""
    state = {"left": 1}

    def fail(params: dict[str, Any], **_: Any) -> None:
        if params.get("TableName") == table and state["left"]:
            state["left"] -= 1
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "injected"}}, operation)

    client.meta.events.register_first(f"before-parameter-build.dynamodb.{operation}", fail)
    return fail


def test_3_a_sent_message_whose_first_write_failed_is_stored_with_its_body(
    stack: Stack, ingest: Invoke, twilio: TwilioStandIn, gateway: str, registry: NumberRegistry
) -> None:
    # GIVEN a reply Twilio accepts, and a DynamoDB fault on the write of the message it created
    form = inbound_form(body="Where is my order?", sender=CUSTOMER, to=NUMBER)
    ingest(signed_event(form))
    client = stack.session.client("dynamodb")
    failing_once(client, "PutItem", stack.physical["MessagesTable"]["Ref"])
    sender = wire(stack, twilio.base_url, gateway, [], client=client)
    body = command(inReplyTo=dict(form)["MessageSid"], body="It left today.")
    with pytest.raises(ClientError):
        sender.handle(body, "m1")
    (created,) = twilio.store.messages.values()
    twilio.wait_for(lambda: len(twilio.callbacks(created.sid)) == 3)  # its callbacks came meanwhile
    # WHEN SQS delivers the command again
    assert sender.handle(body, "m1").kind == "duplicate"
    # THEN it was not sent again, and the message is stored with its body, reply, entry point and key
    assert len(creates(twilio)) == 1
    item = MessageStore(client, stack.physical["MessagesTable"]["Ref"], "").get(created.sid) or {}
    assert (item["body"], item["inReplyTo"], item["idempotencyKey"], item["entryPoint"]["name"]) == (
        "It left today.",
        dict(form)["MessageSid"],
        "key-1",
        "support-line",
    )
    assert (item["status"], item["conversation"]) == ("delivered", f"{NUMBER}|{CUSTOMER}")


class LostAnswer(ThreadingHTTPServer):
    """Twilio's API behind a connection that drops the answer to Messages.create: the message is created, and the
    sender never learns it (an unknown outcome). Every other request is passed through."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        super().__init__(("127.0.0.1", 0), _PassThrough)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the client hanging up on a dropped answer is the point


class _PassThrough(BaseHTTPRequestHandler):
    server: LostAnswer

    def _forward(self) -> None:
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name: value for name, value in self.headers.items() if name.lower() not in ("host", "connection")}
        upstream = http.client.HTTPConnection(self.server.upstream.hostname or "", self.server.upstream.port)
        upstream.request(self.command, self.path, data, headers)
        answer = upstream.getresponse()
        content = answer.read()
        if self.command == "POST" and self.path.endswith("/Messages.json"):
            self.close_connection = True  # the answer never comes back
            return
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("connection", "transfer-encoding"):
                self.send_header(name, value)
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = _forward

    def log_message(self, *_: Any) -> None:
        pass


def test_3_an_unknown_outcome_whose_callbacks_arrive_is_stored_with_its_body(
    stack: Stack, twilio: TwilioStandIn, gateway: str, registry: NumberRegistry, status_events: Any
) -> None:
    # GIVEN Twilio creates the message, and its answer is lost on the way back
    proxy = LostAnswer(twilio.base_url)
    threading.Thread(target=proxy.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        sender = wire(stack, f"http://127.0.0.1:{proxy.server_address[1]}", gateway, [])
        outcome = sender.handle(command(to=CUSTOMER, **{"from": NUMBER}), "m1")
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert outcome.kind == "unknown"
    (created,) = twilio.store.messages.values()
    # WHEN its status callbacks arrive (they carry the command's key)
    twilio.wait_for(lambda: len(twilio.callbacks(created.sid)) == 3)
    # THEN the message is stored with its body and key, and the command is known to have been sent
    item = MessageStore(stack.session.client("dynamodb"), stack.physical["MessagesTable"]["Ref"], "").get(created.sid)
    assert item is not None
    assert (item["body"], item["idempotencyKey"], item["entryPoint"]["name"], item["status"]) == (
        "Your order shipped.",
        "key-1",
        "support-line",
        "delivered",
    )
    recorded = intent(stack)
    assert recorded is not None
    assert (recorded.state, recorded.message_sid) == ("sent", created.sid)
    # (queued: the status Twilio created it with, which no callback reports, stored with it)
    assert [event["data"]["status"] for event in status_events()] == [
        "unknown",
        "queued",
        "sending",
        "sent",
        "delivered",
    ]


# ---------------------------------------------------------------- issue 20, item 11: every command ends with a signal
def test_11_a_command_given_up_after_twilios_5xx_is_reported_failed_and_dead_lettered_with_its_reason(
    stack: Stack, sender_function: Invoke, twilio: TwilioStandIn, status_events: Any
) -> None:
    # GIVEN Twilio answers 503 to every attempt of every delivery the queue allows (maxReceiveCount 5)
    twilio.fail_next(CREATE, status=503, count=15, method="POST")
    body = command(to=CUSTOMER, **{"from": NUMBER})
    for delivery in range(1, 5):
        with pytest.raises(BatchProcessingError):  # the batch's only command failed: SQS delivers it again
            sender_function(sqs_event(body, delivery=delivery))
    assert status_events() == []
    # WHEN the last delivery fails too
    assert sender_function(sqs_event(body, delivery=5)) == {"batchItemFailures": []}
    # THEN the service hears it was not sent, and why; the dead letter says the same
    reason = "Twilio answered 503 (error 20503): Service Unavailable: given up after 5 deliveries"
    (event,) = status_events()
    assert (event["id"], event["data"]["status"], event["data"]["reason"]) == ("key-1:failed", "failed", reason)
    assert dead_letters(stack) == [(body, reason)]
    assert len(creates(twilio)) == 15
    # and a later copy of the command is not sent either: its outcome is published again
    assert sender_function(sqs_event(body)) == {"batchItemFailures": []}
    assert [again["id"] for again in status_events()] == ["key-1:failed"]
    assert len(creates(twilio)) == 15


def test_11_a_command_sent_again_after_its_refusal_hears_its_outcome_again(
    stack: Stack, ingest: Invoke, sender: Sender, twilio: TwilioStandIn, status_events: Any
) -> None:
    # GIVEN a command refused because the customer had texted STOP
    ingest(signed_event(inbound_form(body="STOP", sender=CUSTOMER, to=NUMBER)))
    body = command(to=CUSTOMER, **{"from": NUMBER})
    assert sender.handle(body, "m1").kind == "refused"
    (refused,) = status_events()
    # WHEN the customer texts START and the service sends the same command again
    ingest(signed_event(inbound_form(body="START", sender=CUSTOMER, to=NUMBER)))
    assert sender.handle(body, "m2").kind == "duplicate"
    # THEN it is not sent (a key is sent at most once), and the service hears the settled outcome again
    assert creates(twilio) == []
    assert status_events() == [{**refused, "time": ANY, "data": {**refused["data"], "timestamp": ANY}}]


def test_11_a_sent_command_delivered_again_republishes_its_current_status(
    stack: Stack, sender: Sender, twilio: TwilioStandIn, status_events: Any
) -> None:
    body = command(to=CUSTOMER, **{"from": NUMBER})
    sid = sender.handle(body, "m1").message_sid
    twilio.wait_for(lambda: len(twilio.callbacks(sid)) == 3)
    assert [event["id"] for event in status_events()][-1] == f"{sid}:delivered"
    assert sender.handle(body, "m1").kind == "duplicate"
    assert [event["id"] for event in status_events()] == [f"{sid}:delivered"]


def test_11_the_sender_knows_which_delivery_is_the_queues_last(stack: Stack) -> None:
    redrive = stack.template["Resources"]["OutboundQueue"]["Properties"]["RedrivePolicy"]
    assert stack.functions()["SenderFunction"].environment["MAX_RECEIVE_COUNT"] == str(redrive["maxReceiveCount"])


# ---------------------------------------------------------------- issue 20, item 6: logs mask Twilio's error text
@pytest.mark.parametrize("full", [False, True])
def test_6_twilios_error_text_is_logged_with_numbers_masked_unless_full_logging_is_on(
    sender_function: Invoke, monkeypatch: pytest.MonkeyPatch, *, full: bool
) -> None:
    from sender import handler as sender_handler

    monkeypatch.setattr(sender_handler, "settings", replace(sender_handler.settings, log_message_content=full))
    # WHEN Twilio refuses a recipient, naming it in its error message (21211: "The 'To' number +1500… is not …")
    with captured_logs(sender_handler.logger) as logs:
        sender_function(sqs_event(command(to="+15005550001", **{"from": SECOND})))
    logged = logs.getvalue()
    (line,) = [json.loads(text) for text in logged.splitlines() if '"command not sent"' in text]
    # THEN the log line keeps Twilio's words, and the number only when LogMessageContent=true
    assert "error 21211" in line["reason"]
    assert ("+15005550001" in logged) is full
    assert ("+•••••••0001" in line["reason"]) is not full
