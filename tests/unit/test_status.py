"""The status route: Twilio's status callbacks verified, each status recorded once and never backwards, and a
`message.status` event for each forward move (through the table's stream, as message events)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devtools.lambda_runtime import Invoke, load_function
from devtools.template import Stack
from tests.unit.helpers import (
    OFFLINE_ENV,
    drain,
    function_with,
    load_event,
    put_twilio_secret,
    replayer,
    sent_for,
    sent_message,
    signed_event,
    status_subscriber,
    subscribe_queue,
)
from twilio_inbound.dynamo import from_item
from twilio_inbound.status_event import STATUS_EVENT_TYPE
from twilio_inbound_cli.signing import (
    TEST_ACCOUNT_SID,
    TEST_AUTH_TOKEN,
    FormPairs,
    inbound_form,
    new_message_sid,
    status_callback_form,
)

STATUS_URL = "https://abc123defg.execute-api.us-east-1.amazonaws.com/status"
NUMBER, CUSTOMER = "+15005550001", "+15005550006"


@pytest.fixture
def status(stack: Stack) -> Invoke:
    return load_function(stack.functions()["StatusFunction"], OFFLINE_ENV)


@pytest.fixture
def status_events(stack: Stack, fanout: Invoke) -> Callable[[], list[Any]]:
    return status_subscriber(stack, fanout)


def callback(sid: str, status: str, error_code: int | None = None) -> FormPairs:
    """The form Twilio posts to a StatusCallback for an SMS our number sent."""
    return status_callback_form(sid, status, error_code=error_code, sender=NUMBER, to=CUSTOMER)


def post(status: Invoke, pairs: FormPairs, url: str = STATUS_URL, **options: Any) -> dict[str, Any]:
    response: dict[str, Any] = status(signed_event(pairs, url=url, **options))
    return response


def stored(stack: Stack, sid: str) -> dict[str, Any]:
    client = stack.session.client("dynamodb")
    item = client.get_item(TableName=stack.physical["MessagesTable"]["Ref"], Key={"messageSid": {"S": sid}})
    return from_item(item.get("Item", {}))


def test_each_status_in_order_is_recorded_and_published_once(stack: Stack, status: Invoke, status_events: Any) -> None:
    sid = sent_message(stack)
    # WHEN Twilio reports queued, sent, delivered
    for name in ("queued", "sent", "delivered"):
        assert post(status, callback(sid, name))["statusCode"] == 200
    # THEN the message is delivered, with when each status came, and subscribers got one event per status
    item = stored(stack, sid)
    assert (item["status"], item["direction"], sorted(item["statusesSeen"])) == (
        "delivered",
        "outbound",
        ["delivered", "queued", "sent"],
    )
    assert item["queuedAt"] <= item["sentAt"] <= item["deliveredAt"]
    assert item["conversation"] == f"{NUMBER}|{CUSTOMER}"  # the thread of the inbound messages from CUSTOMER
    events = status_events()
    assert [event["data"]["status"] for event in events] == ["queued", "sent", "delivered"]
    assert [event["id"] for event in events] == [f"{sid}:queued", f"{sid}:sent", f"{sid}:delivered"]
    assert {(event["data"]["from"], event["data"]["to"], event["subject"]) for event in events} == {
        (NUMBER, CUSTOMER, CUSTOMER)
    }


def test_out_of_order_callbacks_never_move_a_message_backwards(
    stack: Stack, status: Invoke, status_events: Any
) -> None:
    sid = sent_message(stack)
    # WHEN delivered overtakes sent and queued (callbacks travel independently)
    for name in ("delivered", "sent", "queued"):
        assert post(status, callback(sid, name))["statusCode"] == 200
    # THEN the message stays delivered; the late statuses are in its history, and were not published
    item = stored(stack, sid)
    assert item["status"] == "delivered"
    assert sorted(item["statusesSeen"]) == ["delivered", "queued", "sent"]
    assert "sentAt" in item
    assert [event["data"]["status"] for event in status_events()] == ["delivered"]


def test_a_repeated_callback_is_recorded_and_published_once(stack: Stack, status: Invoke, status_events: Any) -> None:
    sid = sent_message(stack)
    answers = [post(status, callback(sid, "sent"))["statusCode"] for _ in range(3)]
    assert answers == [200, 200, 200]
    assert [event["id"] for event in status_events()] == [f"{sid}:sent"]


def test_the_error_code_is_kept(stack: Stack, status: Invoke, status_events: Any) -> None:
    sid = sent_message(stack)
    # GIVEN an undelivered message (30003: unreachable handset) WHEN a late sent arrives without an ErrorCode
    post(status, callback(sid, "undelivered", 30003))
    post(status, callback(sid, "sent"))
    # THEN the status and its error code stand
    item = stored(stack, sid)
    assert (item["status"], item["errorCode"]) == ("undelivered", 30003)
    (event,) = status_events()
    assert (event["data"]["status"], event["data"]["errorCode"]) == ("undelivered", 30003)


def test_a_status_twilio_adds_later_is_recorded_but_never_current(stack: Stack, status: Invoke) -> None:
    sid = sent_message(stack)
    post(status, callback(sid, "sent"))
    assert post(status, callback(sid, "carrier_acknowledged"))["statusCode"] == 200
    item = stored(stack, sid)
    assert item["status"] == "sent"
    assert "at:carrier_acknowledged" in item


def test_the_idempotency_key_in_the_callback_url_names_the_command(
    stack: Stack, status: Invoke, status_events: Any
) -> None:
    sid = sent_message(stack, key="order-4521:shipped")
    # GIVEN the StatusCallback URL the sender sets: the command's key in the query, covered by the signature
    assert (
        post(status, callback(sid, "queued"), url=f"{STATUS_URL}?idempotencyKey=order-4521:shipped")["statusCode"]
        == 200
    )
    assert stored(stack, sid)["idempotencyKey"] == "order-4521:shipped"
    (event,) = status_events()
    assert event["data"]["idempotencyKey"] == "order-4521:shipped"


@pytest.mark.parametrize(
    "forgery",
    ["wrong token", "unsigned", "signed for the inbound route", "status changed after signing", "key changed"],
)
def test_forged_status_callbacks_are_refused_and_nothing_recorded(
    stack: Stack, status: Invoke, status_events: Any, forgery: str
) -> None:
    sid = new_message_sid()
    pairs = callback(sid, "delivered")
    event = {
        "wrong token": lambda: signed_event(pairs, url=STATUS_URL, token="guessed-token"),
        "unsigned": lambda: signed_event(pairs, url=STATUS_URL, headers={"X-Twilio-Signature": ""}),
        "signed for the inbound route": lambda: signed_event(pairs, url=STATUS_URL, signed_url=STATUS_URL[:-6] + "sms"),
        "status changed after signing": lambda: signed_event(
            callback(sid, "delivered"), url=STATUS_URL, signed_url=None, headers=_signature_of(callback(sid, "failed"))
        ),
        "key changed": lambda: signed_event(
            pairs, url=f"{STATUS_URL}?idempotencyKey=other", signed_url=f"{STATUS_URL}?idempotencyKey=mine"
        ),
    }[forgery]()
    response = status(event)
    assert response["statusCode"] == 403, response
    assert stored(stack, sid) == {}
    assert status_events() == []


def _signature_of(pairs: FormPairs) -> dict[str, str]:
    from twilio_inbound_cli.signing import signature

    return {"X-Twilio-Signature": signature(STATUS_URL, pairs)}


def test_an_inbound_message_posted_to_the_status_route_is_refused(stack: Stack, status: Invoke) -> None:
    form = inbound_form(body="hello")
    response = post(status, form)
    assert response["statusCode"] == 400
    assert "this is an inbound message; point the number's messaging webhook at /sms" in response["body"]
    assert stored(stack, dict(form)["MessageSid"]) == {}


def test_a_callback_naming_an_inbound_message_leaves_it_untouched(
    stack: Stack, ingest: Invoke, status: Invoke, status_events: Any
) -> None:
    # GIVEN an inbound message in the table
    form = inbound_form(body="hello")
    assert ingest(signed_event(form))["statusCode"] == 200
    sid = dict(form)["MessageSid"]
    before = stored(stack, sid)
    # WHEN a signed status callback names its MessageSid THEN it is refused and the message is unchanged
    assert post(status, callback(sid, "delivered"))["statusCode"] == 409
    assert stored(stack, sid) == before
    assert status_events() == []


@pytest.mark.parametrize(
    ("pairs", "reason"),
    [
        ([("MessageSid", "SM123"), ("MessageStatus", "sent")], "MessageSid"),
        ([("MessageSid", "SM" + "a" * 32)], "MessageStatus"),
        ([("MessageSid", "SM" + "a" * 32), ("MessageStatus", "Sent!")], "MessageStatus"),
        ([("MessageSid", "SM" + "a" * 32), ("MessageStatus", "failed"), ("ErrorCode", "30x")], "ErrorCode"),
        (
            [("MessageSid", "SM" + "a" * 32), ("MessageStatus", "sent"), ("MessageStatus", "delivered")],
            "more than once",
        ),
    ],
)
def test_a_signed_but_unusable_callback_gets_400(stack: Stack, status: Invoke, pairs: FormPairs, reason: str) -> None:
    response = post(status, [("AccountSid", TEST_ACCOUNT_SID), *pairs])
    assert response["statusCode"] == 400
    assert reason in response["body"]


def test_other_methods_get_405(status: Invoke) -> None:
    from devtools.apigw import http_api_event

    response = status(http_api_event("GET", STATUS_URL, {}, b""))
    assert (response["statusCode"], response["headers"]["Allow"]) == (405, "POST")


def test_the_shipped_status_event_is_recorded(stack: Stack, status: Invoke) -> None:
    event = load_event("status-callback.json")
    sent_for(stack, event)
    assert status(event)["statusCode"] == 200
    (item,) = stack.session.client("dynamodb").scan(TableName=stack.physical["MessagesTable"]["Ref"])["Items"]
    assert from_item(item)["status"] == "delivered"


def test_replay_republishes_an_outbound_message_as_its_current_status_never_as_received(
    stack: Stack, ingest: Invoke, status: Invoke
) -> None:
    # GIVEN an inbound message and an outbound one that was delivered
    form = inbound_form(body="hello")
    ingest(signed_event(form))
    sid = sent_message(stack)
    for name in ("sent", "delivered"):
        post(status, callback(sid, name))
    everyone = subscribe_queue(stack, "everything")
    # WHEN everything is replayed
    result = replayer(stack).by_time_range("2000-01-01T00:00:00.000Z", "2999-01-01T00:00:00.000Z")
    # THEN the inbound message is a message event, the outbound one its status event (never "received")
    events = {item["event"]["id"]: item["event"]["type"] for item in drain(stack, everyone)}
    assert sorted(result.published) == sorted([dict(form)["MessageSid"], f"{sid}:delivered"])
    assert events == {
        dict(form)["MessageSid"]: "twilio-inbound.message.received",
        f"{sid}:delivered": STATUS_EVENT_TYPE,
    }


# ---------------------------------------------------------------- issue 20: whose callbacks are accepted
OTHER_ACCOUNT, OTHER_TOKEN = "AC" + "b" * 32, "other-account-token-not-a-secret"


@pytest.fixture
def two_accounts(stack: Stack) -> Iterator[Invoke]:
    """The status function with the stack's secret holding two accounts, each checked with its own token."""
    secret = {"accounts": {TEST_ACCOUNT_SID: {"primary": TEST_AUTH_TOKEN}, OTHER_ACCOUNT: {"primary": OTHER_TOKEN}}}
    arn = put_twilio_secret(stack, secret)
    environment = {**OFFLINE_ENV, "TWILIO_AUTH_TOKEN": "", "TWILIO_AUTH_TOKEN_SECRET_ARN": arn}
    with function_with(stack, "StatusFunction", environment) as function:
        yield function


@pytest.mark.parametrize("named_by", ["MessageSid", "idempotencyKey"])
def test_2_a_callback_signed_by_one_account_never_changes_another_accounts_message(
    stack: Stack, two_accounts: Invoke, status_events: Any, named_by: str
) -> None:
    # GIVEN a message the stack sent for the other account
    key = "order-1:shipped" if named_by == "idempotencyKey" else ""
    sid = sent_message(stack, key=key, account=OTHER_ACCOUNT)
    before = stored(stack, sid)
    # WHEN a callback correctly signed with our account's token, naming our account, names that message
    pairs = status_callback_form(sid, "failed", error_code=30008, sender=NUMBER, to=CUSTOMER)
    url = f"{STATUS_URL}?idempotencyKey={key}" if key else STATUS_URL
    response = two_accounts(signed_event(pairs, url=url))
    # THEN it is refused: the message keeps its status, and nothing is published
    assert response["statusCode"] == 403, response
    assert stored(stack, sid) == before
    assert status_events() == []
    # while the message's own account is heard
    own = status_callback_form(sid, "delivered", sender=NUMBER, to=CUSTOMER, account_sid=OTHER_ACCOUNT)
    assert two_accounts(signed_event(own, url=url, token=OTHER_TOKEN))["statusCode"] == 200
    assert stored(stack, sid)["status"] == "delivered"


@pytest.mark.parametrize("query", ["", "?idempotencyKey=no-command-used-this"])
def test_5_a_callback_for_a_message_the_stack_never_sent_is_refused_and_nothing_stored(
    stack: Stack, status: Invoke, status_events: Any, query: str
) -> None:
    sid = new_message_sid()
    response = post(status, callback(sid, "delivered"), url=STATUS_URL + query)
    assert response["statusCode"] == 404, response
    assert "no message this stack sent" in response["body"] or "no command this stack sent" in response["body"]
    assert stored(stack, sid) == {}
    assert status_events() == []


@pytest.fixture
def accepting_others(stack: Stack) -> Iterator[Invoke]:
    """The status function of a stack deployed with AcceptOtherStatusCallbacks=true."""
    environment = {**OFFLINE_ENV, "ACCEPT_OTHER_STATUS_CALLBACKS": "true"}
    with function_with(stack, "StatusFunction", environment) as function:
        yield function


def test_5_an_operator_may_opt_in_to_recording_other_applications_callbacks(
    stack: Stack, accepting_others: Invoke, status_events: Any
) -> None:
    sid = new_message_sid()
    assert post(accepting_others, callback(sid, "delivered"))["statusCode"] == 200
    assert stored(stack, sid)["status"] == "delivered"
    assert [event["id"] for event in status_events()] == [f"{sid}:delivered"]
    # but a key no command used is refused either way
    unknown = post(accepting_others, callback(new_message_sid(), "sent"), url=f"{STATUS_URL}?idempotencyKey=guess")
    assert unknown["statusCode"] == 404


def test_5_the_template_parameter_is_off_by_default_and_reaches_the_function(stack: Stack) -> None:
    parameter = stack.template["Parameters"]["AcceptOtherStatusCallbacks"]
    assert (parameter["Default"], parameter["AllowedValues"]) == ("false", ["false", "true"])
    assert stack.functions()["StatusFunction"].environment["ACCEPT_OTHER_STATUS_CALLBACKS"] == "false"
    opted_in = Stack(stack.session, stack_name="opted-in", parameters={"AcceptOtherStatusCallbacks": "true"})
    assert opted_in.functions()["StatusFunction"].environment["ACCEPT_OTHER_STATUS_CALLBACKS"] == "true"


def test_a_recorded_status_is_one_log_line_with_its_fields(
    stack: Stack, status: Invoke, capfd: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a callback for a message the stack sent
    sid = sent_message(stack)
    capfd.readouterr()
    assert post(status, callback(sid, "delivered"))["statusCode"] == 200
    # THEN the invocation wrote one line, its metrics line, which says what was recorded
    lines = [json.loads(line) for line in capfd.readouterr().out.splitlines() if line.startswith("{")]
    (line,) = lines
    assert "_aws" in line  # CloudWatch EMF: the metrics are on it
    assert (line["message"], line["messageSid"], line["messageStatus"], line["outcome"]) == (
        "status recorded",
        sid,
        "delivered",
        "moved",
    )
