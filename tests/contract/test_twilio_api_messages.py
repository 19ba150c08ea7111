"""Messages through the official twilio SDK against the stand-in: create (magic numbers included), signed status
callbacks in Twilio's order (and out of order on demand), inbound webhooks, list filters, numbers and
Messaging Services, injected 429/5xx.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from devtools.twilio_api import FAILED_TO, UNDELIVERED_TO, MediaSpec, TwilioStandIn
from devtools.twilio_api.models import Account
from tests.contract.conftest import Receiver

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

NUMBER = "+15005550001"
CUSTOMER = "+15005550006"


def signed_by(account: Account, url: str, params: dict[str, str], signature: str | None) -> bool:
    return bool(RequestValidator(account.auth_token).validate(url, params, signature or ""))


@pytest.fixture
def number(twilio: TwilioStandIn, account: Account) -> str:
    twilio.add_number(account.sid, NUMBER)
    return NUMBER


def test_created_message_reports_queued_then_each_change_with_signed_callbacks(
    twilio: TwilioStandIn, account: Account, client: Any, number: str, receiver: Receiver
) -> None:
    # WHEN the SDK sends a message with a StatusCallback
    url = f"{receiver.url}/status?tenant=a"
    message = client.messages.create(to=CUSTOMER, from_=number, body="Your order shipped", status_callback=url)
    # THEN create answers queued, and a callback follows each change after it, in Twilio's order, each signed with
    # the account's token: none for the initial status (Twilio's guide "Outbound Message Status in Status Callbacks")
    assert (message.status, message.direction, message.from_, message.num_segments) == (
        "queued",
        "outbound-api",
        number,
        "1",
    )
    twilio.wait_for(lambda: len(receiver.received) == 3)
    assert [r.param("MessageStatus") for r in receiver.received] == ["sending", "sent", "delivered"]
    for request in receiver.received:
        assert request.path == "/status?tenant=a"
        assert signed_by(account, url, dict(request.form), request.headers.get("x-twilio-signature"))
        assert {name for name, _ in request.form} >= {
            "MessageSid",
            "MessageStatus",
            "AccountSid",
            "From",
            "To",
            "ApiVersion",
        }
        assert (request.param("MessageSid"), request.param("AccountSid"), request.param("To")) == (
            message.sid,
            account.sid,
            CUSTOMER,
        )
        assert request.param("ErrorCode") is None
    fetched = client.messages(message.sid).fetch()
    assert (fetched.status, fetched.error_code, fetched.date_sent is not None) == ("delivered", None, True)


@pytest.mark.parametrize(
    ("to", "statuses", "code"),
    [(UNDELIVERED_TO, ["sending", "sent", "undelivered"], 30003), (FAILED_TO, ["failed"], 30008)],
)
def test_a_message_the_carrier_cannot_deliver_ends_with_an_error_code(
    twilio: TwilioStandIn, client: Any, number: str, *, receiver: Receiver, to: str, statuses: list[str], code: int
) -> None:
    message = client.messages.create(to=to, from_=number, body="hi", status_callback=receiver.url)
    twilio.wait_for(lambda: len(receiver.received) == len(statuses))
    assert [r.param("MessageStatus") for r in receiver.received] == statuses
    assert receiver.received[-1].param("ErrorCode") == str(code)
    fetched = client.messages(message.sid).fetch()
    assert (fetched.status, fetched.error_code) == (statuses[-1], code)
    assert fetched.error_message


@pytest.mark.parametrize(
    ("to", "sender", "code"),
    [
        ("+15005550001", CUSTOMER, 21211),  # invalid To
        ("+15005550002", CUSTOMER, 21612),  # unroutable
        ("+15005550003", CUSTOMER, 21408),  # no permission for the region
        ("+15005550004", CUSTOMER, 21610),  # the recipient opted out
        ("+15005550009", CUSTOMER, 21614),  # cannot receive SMS
        ("whatsapp:+15005550009", "whatsapp:+15005550006", 21614),
        ("+14155550100", "+15005550001", 21212),  # invalid From
        ("+14155550100", "+15005550007", 21606),  # a From that is not the account's
        ("+14155550100", "+14155550199", 21606),
        ("+14155550100", "+15005550008", 21611),  # the From's queue is full
        ("not a number", CUSTOMER, 21211),
    ],
)
def test_magic_numbers_answer_400_with_twilios_code(client: Any, to: str, sender: str, code: int) -> None:
    with pytest.raises(TwilioRestException) as raised:
        client.messages.create(to=to, from_=sender, body="hi")
    assert (raised.value.status, raised.value.code) == (400, code)


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"From": CUSTOMER, "Body": "hi"}, 21604),
        ({"To": "+14155550100", "Body": "hi"}, 21603),
        ({"To": "+14155550100", "From": CUSTOMER}, 21602),
        ({"To": "+14155550100", "From": CUSTOMER, "Body": "x" * 1601}, 21617),
        ({"To": "+14155550100", "From": CUSTOMER, "Body": "hi", "StatusCallback": "ftp://example.com"}, 21609),
        ({"To": "+14155550100", "MessagingServiceSid": "MG" + "0" * 32, "Body": "hi"}, 21705),
        ({"To": "+14155550100", "From": CUSTOMER, "MediaUrl": "not-a-url"}, 21620),
    ],
)
def test_incomplete_creates_answer_400(
    twilio: TwilioStandIn, account: Account, form: dict[str, str], code: int
) -> None:
    response = requests.post(
        f"{twilio.base_url}/2010-04-01/Accounts/{account.sid}/Messages.json",
        data=form,
        auth=(account.sid, account.auth_token),
        timeout=10,
    )
    assert (response.status_code, response.json()["code"]) == (400, code)


def test_media_urls_repeat_and_become_the_message_media(twilio: TwilioStandIn, client: Any, number: str) -> None:
    message = client.messages.create(
        to=CUSTOMER, from_=number, media_url=["https://example.com/a.jpg", "https://example.com/b.png"]
    )
    assert message.num_media == "2"
    form = twilio.requests("api")[-1].form
    assert [value for name, value in form if name == "MediaUrl"] == [
        "https://example.com/a.jpg",
        "https://example.com/b.png",
    ]
    assert [media.content_type for media in client.messages(message.sid).media.list()] == ["image/jpeg", "image/png"]


def test_a_messaging_service_accepts_then_picks_its_number(
    twilio: TwilioStandIn, account: Account, client: Any, receiver: Receiver
) -> None:
    number = twilio.add_number(account.sid, NUMBER)
    service = twilio.add_service(account.sid, number_sids=[number.sid], status_callback=f"{receiver.url}/svc")
    message = client.messages.create(to=CUSTOMER, messaging_service_sid=service.sid, body="hi")
    assert (message.status, message.from_, message.messaging_service_sid) == ("accepted", None, service.sid)
    # the service's StatusCallback, as none was given; none for the initial accepted, then queued as the number is
    # picked, and the rest
    twilio.wait_for(lambda: len(receiver.received) == 4)
    assert [r.param("MessageStatus") for r in receiver.received] == ["queued", "sending", "sent", "delivered"]
    assert {r.param("MessagingServiceSid") for r in receiver.received} == {service.sid}
    assert client.messages(message.sid).fetch().from_ == NUMBER


def test_tests_drive_statuses_and_send_callbacks_out_of_order(spec: Any, account: Account, receiver: Receiver) -> None:
    with TwilioStandIn.start(spec=spec, auto_progress=False) as twilio:
        twilio.add_account(sid=account.sid, auth_token=account.auth_token)
        twilio.add_number(account.sid, NUMBER)
        message = twilio.client(account).messages.create(
            to=CUSTOMER, from_=NUMBER, body="hi", status_callback=f"{receiver.url}/s"
        )
        assert twilio.callbacks() == []
        assert twilio.message(message.sid).status == "queued"
        # Delivered first, then a late "sent", then "delivered" again: as carriers and retries do.
        twilio.set_status(message.sid, "delivered")
        twilio.send_status_callback(message.sid, "sent")
        twilio.send_status_callback(message.sid, "delivered")
        twilio.send_status_callback(message.sid, "undelivered", 30005)
        assert [r.param("MessageStatus") for r in receiver.received] == [
            "delivered",
            "sent",
            "delivered",
            "undelivered",
        ]
        assert receiver.received[-1].param("ErrorCode") == "30005"
        assert twilio.message(message.sid).status == "delivered"  # only set_status changes what Twilio shows
        assert [record.status for record in twilio.callbacks(message.sid)] == [200, 200, 200, 200]
        assert twilio.violations == []


def test_set_outcome_and_a_failing_callback_endpoint_are_recorded(
    twilio: TwilioStandIn, client: Any, number: str, receiver: Receiver
) -> None:
    twilio.set_outcome("+14155550123", ["sent", "undelivered"], 30007)
    receiver.status = 500
    message = client.messages.create(to="+14155550123", from_=number, body="hi", status_callback=receiver.url)
    twilio.wait_for(lambda: len(twilio.callbacks(message.sid)) == 2)
    records = twilio.callbacks(message.sid)
    assert [(r.param("MessageStatus"), r.status) for r in records] == [("sent", 500), ("undelivered", 500)]
    assert records[-1].param("ErrorCode") == "30007"  # Twilio does not retry a failed status callback


def test_inbound_messages_reach_the_webhook_signed_and_show_in_the_list(
    twilio: TwilioStandIn, account: Account, client: Any, receiver: Receiver
) -> None:
    # GIVEN a number whose SmsUrl is our endpoint, and an MMS someone sent to it
    twilio.add_number(account.sid, NUMBER, sms_url=f"{receiver.url}/sms")
    message = twilio.add_inbound_message(
        account.sid, sender=CUSTOMER, to=NUMBER, body="photo", media=[MediaSpec(content_type="image/png")]
    )
    # WHEN Twilio delivers it
    record = twilio.deliver_inbound(message.sid)
    # THEN the webhook is the signed form Twilio posts, media on api.twilio.com
    (request,) = receiver.received
    assert record.status == 200
    assert request.path == "/sms"
    assert signed_by(account, f"{receiver.url}/sms", dict(request.form), request.headers.get("x-twilio-signature"))
    media = twilio.media_of(message.sid)[0]
    assert request.param("MessageSid") == message.sid
    assert request.param("NumMedia") == "1"
    assert (
        request.param("MediaUrl0")
        == f"https://api.twilio.com/2010-04-01/Accounts/{account.sid}/Messages/{message.sid}/Media/{media.sid}"
    )
    assert request.param("MediaContentType0") == "image/png"
    listed = client.messages.list(to=NUMBER)
    assert [(m.sid, m.direction, m.status, m.num_media) for m in listed] == [(message.sid, "inbound", "received", "1")]


def test_a_service_inbound_url_wins_unless_it_defers_to_the_number(
    twilio: TwilioStandIn, account: Account, receiver: Receiver
) -> None:
    number = twilio.add_number(account.sid, NUMBER, sms_url=f"{receiver.url}/number")
    service = twilio.add_service(account.sid, number_sids=[number.sid], inbound_request_url=f"{receiver.url}/service")
    message = twilio.add_inbound_message(account.sid, sender=CUSTOMER, to=NUMBER, body="hi")
    twilio.deliver_inbound(message.sid)
    twilio.client(account).messaging.v1.services(service.sid).update(use_inbound_webhook_on_number=True)
    twilio.deliver_inbound(message.sid)
    assert [r.path for r in receiver.received] == ["/service", "/number"]
    assert receiver.received[0].param("MessagingServiceSid") == service.sid


def test_list_filters_by_date_sent_to_and_from(twilio: TwilioStandIn, account: Account, client: Any) -> None:
    twilio.add_number(account.sid, NUMBER)
    day = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
    sent = {
        offset: twilio.add_inbound_message(
            account.sid, sender=CUSTOMER if offset % 2 else "+14155550100", to=NUMBER, body=str(offset),
            date_sent=day + timedelta(hours=offset),
        ).sid
        for offset in (-48, -1, 0, 1, 48)
    }  # fmt: skip
    after = client.messages.list(date_sent_after=day)
    assert [m.sid for m in after] == [sent[48], sent[1], sent[0]]  # inclusive, newest first
    before = client.messages.list(date_sent_before=day)
    assert [m.sid for m in before] == [sent[0], sent[-1], sent[-48]]
    # A day must be given as "YYYY-MM-DD": the SDK sends a date object as that day's midnight, one instant.
    assert {m.sid for m in client.messages.list(date_sent="2026-01-15")} == {sent[-1], sent[0], sent[1]}
    assert [m.sid for m in client.messages.list(date_sent=day)] == [sent[0]]
    assert {m.sid for m in client.messages.list(from_=CUSTOMER)} == {sent[-1], sent[1]}
    assert client.messages.list(to="+14155550100") == []
    window = client.messages.list(date_sent_after=day - timedelta(hours=2), date_sent_before=day + timedelta(hours=2))
    assert [m.sid for m in window] == [sent[1], sent[0], sent[-1]]


def test_numbers_are_found_and_their_webhooks_updated(twilio: TwilioStandIn, account: Account, client: Any) -> None:
    pn = twilio.add_number(account.sid, NUMBER)
    twilio.add_number(account.sid, "+14155550100")
    assert [n.sid for n in client.incoming_phone_numbers.list(phone_number=NUMBER)] == [pn.sid]
    assert [n.sid for n in client.incoming_phone_numbers.list(phone_number="555*001")] == [pn.sid]
    updated = client.incoming_phone_numbers(pn.sid).update(
        sms_url="https://example.com/sms",
        sms_method="POST",
        sms_fallback_url="https://example.com/fallback",
        sms_fallback_method="GET",
    )
    assert (updated.sms_url, updated.sms_fallback_url, updated.sms_fallback_method) == (
        "https://example.com/sms", "https://example.com/fallback", "GET"
    )  # fmt: skip
    assert client.incoming_phone_numbers(pn.sid).fetch().sms_url == "https://example.com/sms"
    with pytest.raises(TwilioRestException) as raised:
        client.incoming_phone_numbers(pn.sid).update(sms_method="PUT")
    assert raised.value.status == 400


def test_messaging_services_are_listed_fetched_and_updated(
    twilio: TwilioStandIn, account: Account, client: Any
) -> None:
    number = twilio.add_number(account.sid, NUMBER)
    service = twilio.add_service(account.sid, friendly_name="Support", number_sids=[number.sid])
    other_account = twilio.add_account()
    twilio.add_service(other_account.sid, friendly_name="Not yours")
    services = client.messaging.v1.services
    assert [s.friendly_name for s in services.list()] == ["Support"]
    updated = services(service.sid).update(
        inbound_request_url="https://example.com/in", inbound_method="POST", fallback_url="https://example.com/fb",
        use_inbound_webhook_on_number=False,
    )  # fmt: skip
    assert (updated.inbound_request_url, updated.fallback_url, updated.use_inbound_webhook_on_number) == (
        "https://example.com/in", "https://example.com/fb", False
    )  # fmt: skip
    assert [(n.sid, n.phone_number) for n in services(service.sid).phone_numbers.list()] == [(number.sid, NUMBER)]
    assert services(service.sid).phone_numbers(number.sid).fetch().service_sid == service.sid


def test_injected_429s_carry_retry_after_then_the_request_succeeds(
    twilio: TwilioStandIn, account: Account, client: Any, number: str
) -> None:
    twilio.fail_next(r"/Messages\.json$", status=429, count=2, method="POST", retry_after=3)
    url = f"{twilio.base_url}/2010-04-01/Accounts/{account.sid}/Messages.json"
    form = {"To": CUSTOMER, "From": number, "Body": "hi"}
    answers = [requests.post(url, data=form, auth=(account.sid, account.auth_token), timeout=10) for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 201]
    assert answers[0].headers["Retry-After"] == "3"
    assert answers[0].json()["code"] == 20429
    # A 503 reaches the SDK as TwilioRestException (a list read raises plain TwilioException with the response).
    sid = answers[2].json()["sid"]
    twilio.fail_next(f"/Messages/{sid}", status=503)
    with pytest.raises(TwilioRestException) as raised:
        client.messages(sid).fetch()
    assert (raised.value.status, raised.value.code) == (503, 20503)
    assert client.messages(sid).fetch().sid == sid
