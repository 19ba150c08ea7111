"""What the stand-in does beyond storing: sends messages through their statuses with signed callbacks,
delivers inbound webhooks, and hands media out through short-lived CDN links.
"""

from __future__ import annotations

import mimetypes
import secrets
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from devtools.twilio_api import callbacks, errors, twiml
from devtools.twilio_api.models import (
    CallbackRecord,
    FormPairs,
    Media,
    MediaSpec,
    Message,
    PhoneNumber,
    new_sid,
    utcnow,
)
from devtools.twilio_api.resources import media_path
from devtools.twilio_api.sending import (
    DEFAULT_OUTCOMES,
    DELIVERED,
    MAGIC_FROM,
    OUTSIDE_WINDOW,
    Draft,
    Outcome,
    bare,
)
from devtools.twilio_api.store import Store
from twilio_inbound_cli.signing import inbound_form

TWILIO_API_BASE = "https://api.twilio.com"
FAILED_STATUSES = ("failed", "undelivered")
OUTBOUND_MEDIA_BYTES = 1024  # Twilio fetches a MediaUrl itself; the stand-in does not, and stores this much
WHATSAPP_WINDOW = timedelta(hours=24)


class Engine:
    def __init__(
        self,
        store: Store,
        *,
        auto_progress: bool = True,
        cdn_token_seconds: float = 60.0,
        webhook_media_base: str = TWILIO_API_BASE,
    ) -> None:
        self.store = store
        self.auto_progress = auto_progress
        self.cdn_token_seconds = cdn_token_seconds
        self.webhook_media_base = webhook_media_base
        self.cdn_base = ""  # the CDN listener's URL, set once it has a port
        self.outcomes: dict[str, Outcome] = dict(DEFAULT_OUTCOMES)
        self._cdn_tokens: dict[str, tuple[str, float]] = {}
        self.worker = callbacks.Worker()

    # Outbound ----------------------------------------------------------------------------------------

    def create_message(self, account_sid: str, draft: Draft) -> Message:
        """Store a checked create request; with auto progress, its statuses and callbacks follow."""
        store = self.store
        with store.lock:
            message = Message(
                sid=new_sid("SM"),
                account_sid=account_sid,
                direction="outbound-api",
                from_=draft.sender,
                to=draft.to,
                body=draft.body,
                status="queued" if draft.sender else "accepted",
                seq=store.next_sequence(),
                messaging_service_sid=draft.service.sid if draft.service else None,
                status_callback=draft.status_callback,
                media_urls=list(draft.media_urls),
                content_sid=draft.content_sid,
            )
            store.add_message(message)
            for url in draft.media_urls:
                content_type = mimetypes.guess_type(urlsplit(url).path)[0] or "application/octet-stream"
                store.add_media(message, MediaSpec(content_type=content_type, size=OUTBOUND_MEDIA_BYTES))
            outcome = self.outcomes.get(bare(draft.to), DELIVERED)
            if self._outside_window(message):
                outcome = Outcome(("failed",), OUTSIDE_WINDOW)
        if self.auto_progress:
            self.worker.submit(lambda: self._progress(message.sid, outcome))
        return message

    def _outside_window(self, message: Message) -> bool:
        """A free-form WhatsApp message to someone with no message to the account's numbers in 24 hours."""
        if message.content_sid or not message.to.startswith("whatsapp:"):
            return False
        since = utcnow() - WHATSAPP_WINDOW
        return not any(
            received.direction == "inbound"
            and received.account_sid == message.account_sid
            and received.from_ == message.to
            and (message.from_ is None or received.to == message.from_)
            and received.date_created >= since
            for received in self.store.messages.values()
        )

    def _progress(self, message_sid: str, outcome: Outcome) -> None:
        """The statuses after the initial one, each with its callback (the initial status has none: Twilio's guide
        "Outbound Message Status in Status Callbacks"; create's answer carries it)."""
        if self.store.messages[message_sid].status == "accepted":
            self.set_status(message_sid, "queued")
        for status in outcome.statuses:
            self.set_status(message_sid, status, outcome.error_code if status in FAILED_STATUSES else None)

    def set_outcome(self, to: str, statuses: Iterable[str], error_code: int | None = None) -> None:
        """How messages to `to` end from now on, e.g. ("sent", "undelivered") with 30007."""
        with self.store.lock:
            self.outcomes[bare(to)] = Outcome(tuple(statuses), error_code)

    def set_status(
        self, message_sid: str, status: str, error_code: int | None = None, *, callback: bool = True
    ) -> CallbackRecord | None:
        """Move a message to `status` (what fetch and list show) and send its callback, as Twilio would."""
        store = self.store
        with store.lock:
            message = store.messages[message_sid]
            now = utcnow()
            if message.from_ is None and status != "accepted":
                message.from_ = self._service_sender(message)
            if status in ("sent", "delivered", "undelivered", "read") and message.date_sent is None:
                message.date_sent = now
            message.status = status
            message.error_code = error_code if status in FAILED_STATUSES else None
            message.date_updated = now
            store.touch()
        return self.send_status_callback(message_sid) if callback else None

    def _service_sender(self, message: Message) -> str:
        """The sender a Messaging Service picks: its first number (the magic sender if it has none)."""
        numbers = [
            number for number in self.store.numbers.values() if number.service_sid == message.messaging_service_sid
        ]
        return numbers[0].phone_number if numbers else MAGIC_FROM

    def status_callback_url(self, message: Message) -> str | None:
        service = self.store.services.get(message.messaging_service_sid or "")
        return message.status_callback or (service.status_callback if service else None)

    def send_status_callback(
        self, message_sid: str, status: str | None = None, error_code: int | None = None, *, url: str | None = None
    ) -> CallbackRecord | None:
        """A signed status callback now, for the message's status or any other (out of order, repeated);
        None when the message has no StatusCallback (nor its service one) and no `url` is given."""
        store = self.store
        with store.lock:
            message = store.messages[message_sid]
            target = url or self.status_callback_url(message)
            if target is None:
                return None
            status = status or message.status
            code = error_code if error_code is not None else message.error_code
            pairs = callbacks.status_params(message, status, code)
            token = store.accounts[message.account_sid].auth_token
        return callbacks.send(
            store, kind="status", message_sid=message_sid, url=target, method="POST", pairs=pairs, token=token
        )

    # Inbound -----------------------------------------------------------------------------------------

    def add_inbound_message(
        self,
        account_sid: str,
        *,
        sender: str,
        to: str,
        body: str = "",
        media: Iterable[MediaSpec] = (),
        messaging_service_sid: str | None = None,
        date_sent: datetime | None = None,
        sid: str | None = None,
    ) -> Message:
        """A message someone sent to one of the account's numbers (as the Messages list shows it)."""
        store = self.store
        specs = list(media)
        with store.lock:
            account = store.accounts[account_sid]
            number = self.number_for(account.sid, to)
            service_sid = messaging_service_sid or (number.service_sid if number else None)
            moment = date_sent or utcnow()
            message = Message(
                sid=sid or new_sid("MM" if specs else "SM"),
                account_sid=account.sid,
                direction="inbound",
                from_=sender,
                to=to,
                body=body,
                status="received",
                seq=store.next_sequence(),
                messaging_service_sid=service_sid,
                date_created=moment,
                date_updated=moment,
                date_sent=moment,
            )
            for spec in specs:
                store.add_media(message, spec)
            return store.add_message(message)

    def number_for(self, account_sid: str, address: str) -> PhoneNumber | None:
        return next(
            (
                number
                for number in self.store.numbers.values()
                if number.account_sid == account_sid and number.phone_number == bare(address)
            ),
            None,
        )

    def media_of(self, message_sid: str) -> list[Media]:
        with self.store.lock:
            return [media for media in self.store.media.values() if media.message_sid == message_sid]

    def media_url(self, media: Media, base: str | None = None) -> str:
        """The media's content URL as a webhook carries it (on api.twilio.com unless told otherwise)."""
        return f"{base if base is not None else self.webhook_media_base}{media_path(media)}"

    def webhook_form(self, message_sid: str) -> FormPairs:
        """The parameters Twilio posts to the number's webhook for this inbound message."""
        with self.store.lock:
            message = self.store.messages[message_sid]
            media = [(self.media_url(item), item.content_type) for item in self.media_of(message_sid)]
            extra = [("MessagingServiceSid", message.messaging_service_sid)] if message.messaging_service_sid else []
            return inbound_form(
                body=message.body,
                sender=message.from_ or "",
                to=message.to,
                media=media,
                message_sid=message.sid,
                account_sid=message.account_sid,
                extra=extra,
            )

    def webhook_target(self, message: Message) -> tuple[str, str]:
        """Where Twilio sends an inbound message: the service's inbound URL, unless the service defers to the
        number (use_inbound_webhook_on_number) or has none; else the number's SmsUrl."""
        number = self.number_for(message.account_sid, message.to)
        if number is None:
            raise LookupError(f"{message.to} is not a number of {message.account_sid}")
        service = self.store.services.get(number.service_sid or "")
        if service is not None and service.inbound_request_url and not service.use_inbound_webhook_on_number:
            return service.inbound_request_url, service.inbound_method
        if not number.sms_url:
            raise LookupError(f"{number.phone_number} has no SmsUrl")
        return number.sms_url, number.sms_method

    def deliver_inbound(self, message_sid: str) -> CallbackRecord:
        """Send the signed inbound webhook for a seeded message, where Twilio would; a <Message> in the TwiML it
        answers is sent as Twilio sends it (twiml.py)."""
        store = self.store
        with store.lock:
            message = store.messages[message_sid]
            url, method = self.webhook_target(message)
            pairs = self.webhook_form(message_sid)
            token = store.accounts[message.account_sid].auth_token
        record = callbacks.send(
            store, kind="inbound", message_sid=message_sid, url=url, method=method, pairs=pairs, token=token
        )
        if record.status == 200:
            for reply in twiml.replies(record.response_body, url):
                self._send_reply(message, reply)
        return record

    def _send_reply(self, inbound: Message, reply: twiml.Reply) -> Message:
        """The message Twilio creates for a <Message> the webhook answered: from the number written to, to the
        sender (unless the verb names others), direction outbound-reply, its statuses and callbacks following."""
        store = self.store
        with store.lock:
            message = Message(
                sid=new_sid("SM"),
                account_sid=inbound.account_sid,
                direction="outbound-reply",
                from_=reply.sender or inbound.to,
                to=reply.to or inbound.from_ or "",
                body=reply.body,
                status="queued",
                seq=store.next_sequence(),
                messaging_service_sid=inbound.messaging_service_sid,
                status_callback=reply.status_callback,
            )
            store.add_message(message)
            outcome = self.outcomes.get(bare(message.to), DELIVERED)
        if self.auto_progress:
            self.worker.submit(lambda: self._progress(message.sid, outcome))
        return message

    # Media through the CDN ---------------------------------------------------------------------------

    def media_redirect(self, media: Media, path: str) -> tuple[int, str]:
        """The redirect a content request gets (after the item's planned 404s and 500s)."""
        with self.store.lock:
            if media.not_found_remaining > 0:
                media.not_found_remaining -= 1
                raise errors.not_found(path)
            if media.server_errors_remaining > 0:
                media.server_errors_remaining -= 1
                raise errors.server_error(500)
            token = secrets.token_urlsafe(24)
            self._cdn_tokens[token] = (media.sid, time.monotonic() + self.cdn_token_seconds)
            return media.redirect_status, f"{self.cdn_base}/media/{token}"

    def redeem(self, token: str) -> Media | None:
        """The media a CDN link names, while the link is fresh and the media not deleted."""
        with self.store.lock:
            sid, expires = self._cdn_tokens.get(token, ("", 0.0))
            if time.monotonic() >= expires:
                self._cdn_tokens.pop(token, None)
                return None
            return self.store.media.get(sid)

    def stop(self) -> None:
        self.worker.stop()
