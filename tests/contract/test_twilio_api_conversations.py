"""What conversations need of the stand-in, held to Twilio's description like the rest: Content Templates
(ContentSid and ContentVariables on create, GET /v1/Content/{Sid} from content_v1), WhatsApp's 24-hour window
(63016), recipients that are no phone number (WhatsApp business-scoped user IDs, RCS senders), and a webhook's
TwiML <Message> sent as Twilio sends it, with its own status callbacks.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from devtools.twilio_api import TwilioStandIn
from devtools.twilio_api.models import Account
from tests.contract.conftest import Receiver

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

NUMBER, WHATSAPP = "+15005550001", "whatsapp:+15005550001"
CUSTOMER = "whatsapp:+14155550100"
USER_ID = "whatsapp:US.13491208655302741918"  # https://www.twilio.com/en-us/changelog/whatsapp-bsuid-format-in-conversations-and-webhook-fields


@pytest.fixture
def number(twilio: TwilioStandIn, account: Account) -> str:
    twilio.add_number(account.sid, NUMBER)
    return NUMBER


def statuses(twilio: TwilioStandIn, sid: str, count: int) -> list[tuple[str, str | None]]:
    twilio.wait_for(lambda: len(twilio.callbacks(sid)) == count)
    return [(dict(c.params)["MessageStatus"], dict(c.params).get("ErrorCode")) for c in twilio.callbacks(sid)]


def test_a_template_is_rendered_with_its_variables_and_defaults(
    twilio: TwilioStandIn, account: Account, client: Any, number: str, receiver: Receiver
) -> None:
    # GIVEN a template with two variables, the second with a default
    template = twilio.add_content(account.sid, "Your {{1}} is on {{2}}.", variables={"2": "Monday"})
    # WHEN the SDK sends it to a WhatsApp customer who never wrote (a template needs no window)
    message = client.messages.create(
        to=CUSTOMER,
        from_=WHATSAPP,
        content_sid=template.sid,
        content_variables='{"1": "appointment"}',
        status_callback=f"{receiver.url}/status",
    )
    # THEN Twilio's message carries the rendered body and is delivered
    assert message.body == "Your appointment is on Monday."
    assert statuses(twilio, message.sid, 3) == [("sending", None), ("sent", None), ("delivered", None)]
    assert twilio.violations == []


def test_the_template_is_fetched_as_the_content_api_describes_it(
    twilio: TwilioStandIn, account: Account, client: Any
) -> None:
    template = twilio.add_content(account.sid, "Hi {{1}}", friendly_name="greeting", variables={"1": "there"})
    fetched = client.content.v1.contents(template.sid).fetch()
    assert (fetched.friendly_name, fetched.types, fetched.variables) == (
        "greeting",
        {"twilio/text": {"body": "Hi {{1}}"}},
        {"1": "there"},
    )
    assert twilio.violations == []


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"content_sid": "HX" + "0" * 32}, 21655),  # not a template of the account
        ({"content_sid": "{template}", "content_variables": "not json"}, 21656),
        ({"content_sid": "{template}", "content_variables": '{"1": ""}'}, 21656),  # a placeholder left empty
        ({"body": "hi", "content_variables": '{"1": "x"}'}, 21654),  # variables without a template
    ],
)
def test_bad_templates_answer_twilios_codes(
    twilio: TwilioStandIn, account: Account, client: Any, number: str, *, fields: dict[str, str], code: int
) -> None:
    template = twilio.add_content(account.sid, "Code {{1}}")
    arguments = {name: value.replace("{template}", template.sid) for name, value in fields.items()}
    with pytest.raises(TwilioRestException) as raised:
        client.messages.create(to=CUSTOMER, from_=WHATSAPP, **arguments)
    assert (raised.value.status, raised.value.code) == (400, code)


def test_free_form_whatsapp_outside_the_window_fails_with_63016(
    twilio: TwilioStandIn, account: Account, client: Any, number: str, receiver: Receiver
) -> None:
    # GIVEN one customer who wrote 25 hours ago and one who wrote a minute ago
    old, recent = "whatsapp:+14155550101", "whatsapp:+14155550102"
    long_ago = datetime.now(UTC) - timedelta(hours=25)
    twilio.add_inbound_message(account.sid, sender=old, to=WHATSAPP, body="hi", date_sent=long_ago)
    twilio.add_inbound_message(account.sid, sender=recent, to=WHATSAPP, body="hi")
    callback = f"{receiver.url}/status"
    # WHEN free-form messages go to both (Twilio accepts both at create)
    late = client.messages.create(to=old, from_=WHATSAPP, body="Hello again", status_callback=callback)
    timely = client.messages.create(to=recent, from_=WHATSAPP, body="Hello", status_callback=callback)
    # THEN the one outside the window fails with 63016, the other is delivered; SMS has no window
    assert statuses(twilio, late.sid, 1) == [("failed", "63016")]
    assert statuses(twilio, timely.sid, 3)[-1] == ("delivered", None)
    assert client.messages(late.sid).fetch().error_code == 63016
    sms = client.messages.create(to="+14155550103", from_=NUMBER, body="hi", status_callback=callback)
    assert statuses(twilio, sms.sid, 3)[-1] == ("delivered", None)


def test_a_business_scoped_user_id_and_an_rcs_sender_are_addresses(
    twilio: TwilioStandIn, account: Account, client: Any, number: str
) -> None:
    # GIVEN a customer known only by their business-scoped user ID, who wrote; and the account's RCS sender
    twilio.add_inbound_message(account.sid, sender=USER_ID, to=WHATSAPP, body="hola")
    agent = twilio.add_sender(account.sid, "rcs:owlair_ab12cd34_agent")
    # THEN both are accepted where a number would be
    assert client.messages.create(to=USER_ID, from_=WHATSAPP, body="¡Hola!").to == USER_ID
    assert client.messages.create(to="rcs:+14155550100", from_=agent, body="Hi").from_ == agent
    # AND another account's RCS sender is not
    with pytest.raises(TwilioRestException) as raised:
        client.messages.create(to="rcs:+14155550100", from_="rcs:someone_else_agent", body="Hi")
    assert raised.value.code == 21606


def test_a_twiml_message_is_sent_with_its_own_status_callbacks(
    twilio: TwilioStandIn, account: Account, receiver: Receiver
) -> None:
    # GIVEN a webhook that answers TwiML with a <Message> and a relative statusCallback
    twilio.add_number(account.sid, NUMBER, sms_url=f"{receiver.url}/sms")
    receiver.answer = (
        b'<?xml version="1.0" encoding="UTF-8"?><Response>'
        b'<Message statusCallback="status?replyTo=SMabc">Thanks &amp; welcome</Message></Response>'
    )
    inbound = twilio.add_inbound_message(account.sid, sender="+14155550100", to=NUMBER, body="hi")
    # WHEN Twilio delivers the inbound message
    assert twilio.deliver_inbound(inbound.sid).status == 200
    # THEN it creates the reply from our number to the sender, and posts its statuses to the resolved URL, signed
    (reply,) = [m for m in twilio.store.messages.values() if m.direction == "outbound-reply"]
    assert (reply.from_, reply.to, reply.body) == (NUMBER, "+14155550100", "Thanks & welcome")
    twilio.wait_for(lambda: len(receiver.received) == 4)  # the webhook, then sending, sent, delivered
    callbacks = receiver.received[1:]
    assert [c.param("MessageStatus") for c in callbacks] == ["sending", "sent", "delivered"]
    url = f"{receiver.url}/status?replyTo=SMabc"
    for callback in callbacks:
        assert callback.path == "/status?replyTo=SMabc"
        assert RequestValidator(account.auth_token).validate(
            url, dict(callback.form), callback.headers["x-twilio-signature"]
        )
        assert (callback.param("MessageSid"), callback.param("From")) == (reply.sid, NUMBER)
    assert twilio.violations == []


@pytest.mark.parametrize(("sender", "to"), [(NUMBER, CUSTOMER), (WHATSAPP, "+14155550100")])
def test_a_message_across_channels_is_refused_as_twilio_refuses_it(
    *, twilio: TwilioStandIn, account: Account, client: Any, number: str, sender: str, to: str
) -> None:
    # WHEN the SDK sends from an SMS number to a WhatsApp address, or the reverse
    with pytest.raises(TwilioRestException) as refused:
        client.messages.create(to=to, from_=sender, body="hi")
    # THEN Twilio's answer: 400, 21910 (https://www.twilio.com/docs/api/errors/21910)
    assert (refused.value.status, refused.value.code) == (400, 21910)
    assert twilio.violations == []
