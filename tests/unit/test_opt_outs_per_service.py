"""Issue 20, item 1: an opt-out holds whichever way a send names its sender.

Twilio keeps opt-outs per Messaging Service: a STOP to any number of a service opts the customer out of the whole
service, a STOP to a number outside any service out of that number. Here a customer texts STOP to a number of a
service, and every way of naming a sender of that service is tried through the sender function itself (its own
wiring, the Twilio API stand-in as Twilio, moto as AWS): the number, its sibling in the service (registered on its
own), the service's SID, the service's entry point name, and a reply to a message the customer sent earlier.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError

from devtools.lambda_runtime import Invoke
from devtools.template import Stack
from devtools.twilio_api import TwilioStandIn
from devtools.twilio_api.models import PhoneNumber, Service
from devtools.twilio_api.spec import TwilioSpec
from tests.unit.helpers import (
    drain,
    function_with,
    put_twilio_secret,
    signed_event,
    status_subscriber,
    subscribe_queue,
)
from twilio_inbound.numbers import NumberConfig
from twilio_inbound.numbers_table import NumberRegistry
from twilio_inbound.sends_table import SendIntent, SendIntentStore
from twilio_inbound_cli.signing import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, FormPairs, inbound_form

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

MEMBER = "+15005550001"  # a number of the marketing service, registered on its own as support-line
SIBLING = "+15005550005"  # another number of the service, registered on its own as alerts
ALONE = "+15005550010"  # a number outside any service, registered as billing
CUSTOMER, OTHER = "+14155550100", "+14155550101"


@pytest.fixture
def twilio(spec: TwilioSpec) -> Iterator[TwilioStandIn]:
    with TwilioStandIn.start(spec=spec) as standin:
        standin.add_account(sid=TEST_ACCOUNT_SID, auth_token=TEST_AUTH_TOKEN)
        yield standin
        assert standin.violations == []


@pytest.fixture
def numbers(twilio: TwilioStandIn) -> dict[str, PhoneNumber]:
    return {number: twilio.add_number(TEST_ACCOUNT_SID, number) for number in (MEMBER, SIBLING, ALONE)}


@pytest.fixture
def service(twilio: TwilioStandIn, numbers: dict[str, PhoneNumber]) -> Service:
    """Messaging Service `marketing` holding MEMBER and SIBLING."""
    return twilio.add_service(TEST_ACCOUNT_SID, number_sids=[numbers[MEMBER].sid, numbers[SIBLING].sid])


@pytest.fixture
def registry(stack: Stack, service: Service) -> NumberRegistry:
    registry = NumberRegistry(stack.session.client("dynamodb"), stack.physical["NumbersTable"]["Ref"], ttl=0)
    registry.put(NumberConfig(service.sid, name="marketing"))
    registry.put(NumberConfig(MEMBER, name="support-line", auto_reply="Thanks!"))
    registry.put(NumberConfig(SIBLING, name="alerts", auto_reply="Thanks!"))
    registry.put(NumberConfig(ALONE, name="billing"))
    return registry


@pytest.fixture
def sender_function(stack: Stack, twilio: TwilioStandIn, gateway: str, registry: NumberRegistry) -> Iterator[Invoke]:
    """The sender function as deployed: its handler's own wiring, the stack's secret, Twilio = the stand-in."""
    arn = put_twilio_secret(stack, {"primary": TEST_AUTH_TOKEN, "accountSid": TEST_ACCOUNT_SID})
    environment = {
        "TWILIO_AUTH_TOKEN_SECRET_ARN": arn,
        "TWILIO_AUTH_TOKEN": "",
        "TWILIO_API_URL": twilio.base_url,
        "API_URL": gateway,
        "REGISTRY_CACHE_SECONDS": "0",
    }
    with function_with(stack, "SenderFunction", environment) as sender:
        yield sender


def sqs_event(body: str) -> dict[str, Any]:
    record = {"messageId": "m1", "receiptHandle": "r1", "body": body, "attributes": {"ApproximateReceiveCount": "1"}}
    return {"Records": [{**record, "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs"}]}


@pytest.fixture
def send(stack: Stack, sender_function: Invoke) -> Callable[..., SendIntent | None]:
    """Puts one command through the sender function; returns what it decided (None: not decided, SQS retries)."""
    intents = SendIntentStore(stack.session.client("dynamodb"), stack.physical["SendsTable"]["Ref"])
    counter = iter(range(1_000))

    def send(**fields: Any) -> SendIntent | None:
        key = f"key-{next(counter)}"
        body = json.dumps({"idempotencyKey": key, "body": "Spring sale!", **fields})
        try:
            retried = sender_function(sqs_event(body))["batchItemFailures"] != []
        except BatchProcessingError:  # Powertools' answer when every record of the batch failed
            retried = True
        decided = intents.get(key)
        assert retried == (decided is None or decided.state == "pending")
        return None if retried else decided

    return send


def creates(twilio: TwilioStandIn) -> list[Any]:
    return [r for r in twilio.requests("api") if r.method == "POST" and r.path.endswith("/Messages.json")]


def texted(ingest: Invoke, body: str, to: str, service: Service | None, sender: str = CUSTOMER) -> str:
    """The customer's message to one of our numbers, as Twilio posts it (with the service's SID when through one)."""
    extra: FormPairs = [("MessagingServiceSid", service.sid)] if service else []
    form = inbound_form(body=body, sender=sender, to=to, extra=extra)
    answer = ingest(signed_event(form))
    assert answer["statusCode"] == 200, answer
    return dict(form)["MessageSid"]


def outcomes(send: Callable[..., SendIntent | None], service: Service, replies_to: list[str]) -> dict[str, str]:
    """Every way of naming a sender of the service, to CUSTOMER: what the sender decided for each."""
    ways: dict[str, dict[str, str]] = {
        "number": {"from": MEMBER, "to": CUSTOMER},
        "sibling number": {"from": SIBLING, "to": CUSTOMER},
        "service SID": {"from": service.sid, "to": CUSTOMER},
        "entry point name": {"from": "marketing", "to": CUSTOMER},
        **{f"reply {index}": {"inReplyTo": sid} for index, sid in enumerate(replies_to)},
    }
    decided = {way: send(**fields) for way, fields in ways.items()}
    return {way: intent.state if intent else "retried" for way, intent in decided.items()}


def test_1_a_stop_to_a_number_of_a_service_refuses_every_way_of_naming_a_sender_of_that_service(
    ingest: Invoke, send: Callable[..., SendIntent | None], twilio: TwilioStandIn, service: Service
) -> None:
    # GIVEN the customer wrote to both numbers of the service, then texted STOP to one of them
    earlier = [texted(ingest, "hi", MEMBER, service), texted(ingest, "hello", SIBLING, service)]
    texted(ingest, "STOP", MEMBER, service)
    # WHEN anything is sent to them from the service, whichever way the sender is named
    decided = outcomes(send, service, earlier)
    # THEN every command is refused, and nothing reaches Twilio
    assert decided == dict.fromkeys(decided, "refused")
    assert creates(twilio) == []
    # while a number outside the service, and another customer, are still sent to
    assert send(**{"from": ALONE, "to": CUSTOMER}).state == "sent"  # type: ignore[union-attr]
    assert send(**{"from": "marketing", "to": OTHER}).state == "sent"  # type: ignore[union-attr]


def test_1_the_refusal_says_what_the_customer_opted_out_of(
    ingest: Invoke, send: Callable[..., SendIntent | None], service: Service
) -> None:
    texted(ingest, "STOP", MEMBER, service)
    sibling = send(**{"from": SIBLING, "to": CUSTOMER})
    assert sibling is not None
    assert sibling.reason == (
        f"the recipient has opted out of Messaging Service {service.sid}, which {SIBLING} belongs to (STOP)"
    )
    direct = send(**{"from": service.sid, "to": CUSTOMER})
    assert direct is not None
    assert direct.reason == f"the recipient has opted out of Messaging Service {service.sid} (STOP)"
    # with Twilio's code for the same refusal, as the window's and the channel's refusals carry theirs
    assert (sibling.error_code, direct.error_code) == (21610, 21610)


def test_1_a_start_to_any_number_of_the_service_opts_back_in_to_all_of_it(
    ingest: Invoke, send: Callable[..., SendIntent | None], twilio: TwilioStandIn, service: Service
) -> None:
    earlier = [texted(ingest, "hi", MEMBER, service)]
    texted(ingest, "STOP", MEMBER, service)
    # WHEN the customer texts START to the other number of the service
    texted(ingest, "START", SIBLING, service)
    # THEN the whole service may send to them again, whichever way it is named
    decided = outcomes(send, service, earlier)
    assert decided == dict.fromkeys(decided, "sent")
    assert len(creates(twilio)) == len(decided)


def test_1_a_stop_to_a_number_outside_any_service_is_about_that_number_and_any_pool_it_joins(
    ingest: Invoke,
    send: Callable[..., SendIntent | None],
    twilio: TwilioStandIn,
    service: Service,
    numbers: dict[str, PhoneNumber],
) -> None:
    # GIVEN the customer texted STOP to a number outside any service
    texted(ingest, "STOP", ALONE, None)
    # THEN that number is refused, the service's numbers are not
    assert send(**{"from": ALONE, "to": CUSTOMER}).state == "refused"  # type: ignore[union-attr]
    assert send(**{"from": MEMBER, "to": CUSTOMER}).state == "sent"  # type: ignore[union-attr]
    # WHEN that number joins the service's pool, Twilio may pick it for a send through the service: refused
    numbers[ALONE].service_sid = service.sid
    refused = send(**{"from": service.sid, "to": CUSTOMER})
    assert refused is not None
    assert (refused.state, refused.reason) == (
        "refused",
        f"the recipient has opted out of {ALONE}, a number of Messaging Service {service.sid} (STOP)",
    )
    # and a START to that number (now through the service) lets the service send again
    texted(ingest, "START", ALONE, service)
    assert send(**{"from": "marketing", "to": CUSTOMER}).state == "sent"  # type: ignore[union-attr]


def test_1_a_whatsapp_stop_holds_for_the_whatsapp_addresses_of_a_pool(
    ingest: Invoke,
    send: Callable[..., SendIntent | None],
    service: Service,
    numbers: dict[str, PhoneNumber],
) -> None:
    customer = f"whatsapp:{CUSTOMER}"
    texted(ingest, "STOP", f"whatsapp:{ALONE}", None, sender=customer)
    numbers[ALONE].service_sid = service.sid
    # the service may pick ALONE, which the customer opted out of on WhatsApp
    refused = send(**{"from": service.sid, "to": customer})
    assert refused is not None
    assert refused.state == "refused"
    # the same person's SMS address is another recipient
    assert send(**{"from": service.sid, "to": CUSTOMER}).state == "sent"  # type: ignore[union-attr]


def test_1_when_membership_cannot_be_read_nothing_is_sent(
    ingest: Invoke, send: Callable[..., SendIntent | None], twilio: TwilioStandIn, service: Service
) -> None:
    texted(ingest, "STOP", MEMBER, service)
    # WHEN Twilio cannot say which numbers the service holds
    twilio.fail_next(r"/PhoneNumbers$", status=500, count=50, method="GET")
    # THEN a send through the service, or from a number that may belong to it, is not sent: SQS retries it
    assert send(**{"from": service.sid, "to": OTHER}) is None
    assert send(**{"from": SIBLING, "to": CUSTOMER}) is None
    assert creates(twilio) == []


def test_1_when_the_registry_or_the_opt_outs_cannot_be_read_nothing_is_sent(
    stack: Stack, send: Callable[..., SendIntent | None], twilio: TwilioStandIn
) -> None:
    from sender import handler as sender_handler

    for table in ("NumbersTable", "OptOutsTable"):
        name = stack.physical[table]["Ref"]

        def unavailable(params: dict[str, Any], name: str = name, **_: Any) -> Any:
            if params.get("TableName") == name or name in params.get("RequestItems", {}):
                raise ClientError({"Error": {"Code": "InternalServerError", "Message": "injected"}}, "read")
            return None

        events = sender_handler.dynamodb.meta.events
        events.register_first("before-parameter-build.dynamodb", unavailable)
        try:
            assert send(**{"from": MEMBER, "to": CUSTOMER}) is None, table
        finally:
            events.unregister("before-parameter-build.dynamodb", unavailable)
    assert creates(twilio) == []


def test_1_the_webhook_never_replies_to_a_customer_who_opted_out_of_the_service(
    stack: Stack, ingest: Invoke, fanout: Invoke, service: Service, registry: NumberRegistry
) -> None:
    # GIVEN a STOP to one number of the service
    texted(ingest, "STOP", MEMBER, service)
    everyone = subscribe_queue(stack, "everything")
    # WHEN the customer writes to the other number, which has an auto-reply
    form = inbound_form(body="what's new?", sender=CUSTOMER, to=SIBLING, extra=[("MessagingServiceSid", service.sid)])
    answer = ingest(signed_event(form))
    # THEN no reply, and the event says the sender is opted out
    assert answer["body"] == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    status_subscriber(stack, fanout)()  # runs the fanout over the stream
    (event,) = [
        e["event"] for e in drain(stack, everyone) if e["event"]["data"]["messageSid"] == dict(form)["MessageSid"]
    ]
    assert event["data"]["optedOut"] is True
