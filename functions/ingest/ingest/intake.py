"""One webhook request, from API Gateway event to stored record and reply: the ingest function's use case.

Raises domain errors (InvalidMessage, NumberNotRegistered) and the HTTP layer's RequestRejected; the handler
maps each to an answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ingest.settings import IngestSettings
from twilio_inbound.cloudevent import MAX_SNS_MESSAGE_BYTES, published_bytes
from twilio_inbound.message import MessageRecord, StorageOptions, build_record, check_parameters, opt_out_change
from twilio_inbound.messages_table import MessageStore
from twilio_inbound.numbers import Keyword, NumberConfig
from twilio_inbound.numbers_table import NumberRegistry
from twilio_inbound.opt_out_rule import SenderIdentity
from twilio_inbound.opt_outs_table import OptOutStore
from twilio_inbound.signature import SignatureVerifier
from twilio_inbound.webhook import REPLY_TO_QUERY, request_url, sibling_url

STATUS_ROUTE = "status"  # the status function's route, beside the webhook's (template.yaml)


class NumberNotRegistered(Exception):
    """The number called is not in the registry and the policy is to reject such messages."""


class TooLargeToPublish(Exception):
    """The message's event would exceed SNS's size limit: stored, it could never be published."""


# Each byte of the form becomes at most 6 bytes of JSON (a control character as \u0001) in at most two places of
# the event (a field and the verbatim parameters), plus names and envelope: below this many form bytes the
# event cannot reach SNS's limit, so only larger forms pay for building it to measure it.
_ALWAYS_PUBLISHABLE_FORM_BYTES = (MAX_SNS_MESSAGE_BYTES - 16 * 1024) // 18


@dataclass(frozen=True)
class Accepted:
    record: MessageRecord
    stored: bool  # False: a repeat delivery, acknowledged and not stored again
    reply: str  # text for a TwiML <Message>, or "" for none
    reply_undecided: bool = False  # stored, but the opt-out state could not be read: answered without a reply
    status_callback: str = ""  # the reply's StatusCallback: /status?replyTo=<MessageSid>


@dataclass(frozen=True)
class Reply:
    text: str
    undecided: bool = False


@dataclass(frozen=True)
class Intake:
    settings: IngestSettings
    verifier: SignatureVerifier
    store: MessageStore
    registry: NumberRegistry
    optouts: OptOutStore
    now: Callable[[], datetime]

    def receive(self, event: dict[str, Any]) -> Accepted:
        """Raises RequestRejected (4xx), InvalidMessage, NumberNotRegistered, TokensUnavailable or an AWS error."""
        request, params = self.verifier.verified_form(
            event, self.settings.public_base_url, self.settings.max_body_bytes
        )

        form = check_parameters(params)
        number = self.registry.lookup(form.first("To"), form.first("MessagingServiceSid"))
        if number is None and self.settings.unknown_number_policy == "reject":
            raise NumberNotRegistered(form.first("To"))
        record = build_record(form, self.now(), StorageOptions(self.settings.retention_days), number)
        if len(request.body) > _ALWAYS_PUBLISHABLE_FORM_BYTES and published_bytes(record) > MAX_SNS_MESSAGE_BYTES:
            raise TooLargeToPublish(record["messageSid"])

        # The reply is decided before the write and stored with the message (one conditional write still): the
        # callbacks of the message Twilio sends for it store it in the thread. A repeat delivery gets the same
        # answer: Twilio retried because it did not get the first one.
        reply = self._reply(record, number)
        if reply.text:
            record["reply"] = reply.text
        stored = self.store.put_new(record, opt_out_change(record))
        if not reply.text:
            return Accepted(record, stored, "", reply_undecided=reply.undecided)
        callback = self.settings.status_callback_url or sibling_url(
            request_url(request, self.settings.public_base_url), STATUS_ROUTE
        )
        return Accepted(
            record, stored, reply.text, status_callback=f"{callback}?{REPLY_TO_QUERY}={record['messageSid']}"
        )

    def _reply(self, record: MessageRecord, number: NumberConfig | None) -> Reply:
        """The number's reply to the message, unless the sender opted out of it (or whether they did cannot be
        read: the message is still stored and published, and a 5xx would send Twilio to the fallback URL with a
        message we have; never reply to someone who may have opted out)."""
        text = number.reply_for(Keyword(record["optOutType"], record["keyword"])) if number else ""
        if not text:
            return Reply("")
        try:
            refused = self.optouts.refusal(SenderIdentity.of_inbound(record), record["from"])
        except (BotoCoreError, ClientError, RuntimeError):
            return Reply("", undecided=True)
        return Reply("" if refused else text)
