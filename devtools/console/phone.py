"""A customer's phone, on the Twilio API stand-in: text the stack's number, read what comes back.

A text is what Twilio does with a message someone sends to one of your numbers: the stand-in holds the message
and its media (as Twilio's Messages and Media resources do, so the media function really fetches and archives a
picture), then posts the signed webhook to the number's SmsUrl, the local stack's /sms. What the stack sends to
the phone is what the stand-in's Messages.create recorded, with its status as it moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from devtools.twilio_api import MediaSpec, TwilioStandIn
from devtools.twilio_api.models import Message
from devtools.twilio_api.sending import bare

WHATSAPP = "whatsapp"


def address(number: str, channel: str) -> str:
    """The address a channel uses for a number: whatsapp:+1..., or the number itself."""
    return f"{WHATSAPP}:{bare(number)}" if channel == WHATSAPP else bare(number)


@dataclass(frozen=True)
class Picture:
    content_type: str
    content: bytes
    name: str


@dataclass(frozen=True)
class Delivery:
    """A text the phone sent, and what the webhook answered Twilio (the stand-in)."""

    message_sid: str
    status: int | None  # None: the webhook could not be reached
    answer: str
    error: str | None


@dataclass(frozen=True)
class ChatMessage:
    sid: str
    mine: bool  # sent by the phone
    sender: str
    to: str
    body: str
    status: str
    error_code: int | None
    media: list[str]  # content types
    at: datetime
    twiml: bool = False  # sent by Twilio for the <Message> of the webhook's TwiML answer


class Phone:
    def __init__(self, standin: TwilioStandIn, account_sid: str, webhook_url: str) -> None:
        self._standin = standin
        self._account_sid = account_sid
        self._webhook_url = webhook_url

    def numbers(self) -> list[str]:
        """The account's numbers at the stand-in (what a customer can text)."""
        with self._standin.store.lock:
            numbers = self._standin.store.numbers.values()
            return sorted(number.phone_number for number in numbers if number.account_sid == self._account_sid)

    def text(self, *, sender: str, to: str, body: str, picture: Picture | None = None) -> Delivery:
        """Sends `body` (and a picture: an MMS) from `sender` to the stack's number `to`, as Twilio delivers it."""
        if bare(to) not in self.numbers():  # a number of the account, its webhook pointed at this stack
            self._standin.add_number(self._account_sid, bare(to), sms_url=self._webhook_url)
        media = [MediaSpec(content_type=picture.content_type, content=picture.content)] if picture else []
        message = self._standin.add_inbound_message(self._account_sid, sender=sender, to=to, body=body, media=media)
        callback = self._standin.deliver_inbound(message.sid)
        return Delivery(message.sid, callback.status, callback.response_body, callback.error)

    def chat(self, phone: str, number: str) -> list[ChatMessage]:
        """The phone's messages with the number, both ways and every channel, oldest first."""
        ends = {bare(phone), bare(number)}
        with self._standin.store.lock:
            messages = sorted(self._standin.store.messages.values(), key=lambda message: message.seq)
            return [
                self._chat_message(message, phone)
                for message in messages
                if {bare(message.from_ or ""), bare(message.to)} == ends
            ]

    def _chat_message(self, message: Message, phone: str) -> ChatMessage:
        return ChatMessage(
            sid=message.sid,
            mine=bare(message.from_ or "") == bare(phone),
            sender=message.from_ or "",
            to=message.to,
            body=message.body,
            status=message.status,
            error_code=message.error_code,
            media=[item.content_type for item in self._standin.media_of(message.sid)],
            at=message.date_created,
            twiml=message.direction == "outbound-reply",
        )

    def changes(self) -> tuple[tuple[str, str], ...]:
        """Every message's SID and status: what the phone shows changes when this does."""
        with self._standin.store.lock:
            return tuple((message.sid, message.status) for message in self._standin.store.messages.values())

    def wait_for_change(self, timeout: float) -> None:
        """Returns when the stand-in changed anything (or after `timeout`)."""
        with self._standin.store.lock:
            self._standin.store.changed.wait(timeout)
