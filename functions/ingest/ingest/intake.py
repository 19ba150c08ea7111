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
from twilio_inbound.numbers import Keyword
from twilio_inbound.numbers_table import NumberRegistry
from twilio_inbound.opt_out_rule import SenderIdentity
from twilio_inbound.opt_outs_table import OptOutStore
from twilio_inbound.signature import SignatureVerifier


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

        stored = self.store.put_new(record, opt_out_change(record))

        # A repeat delivery gets the same answer: Twilio retried because it did not get the first one.
        reply = number.reply_for(Keyword(record["optOutType"], record["keyword"])) if number else ""
        try:
            if reply and self.optouts.refusal(SenderIdentity.of_inbound(record), record["from"]):
                reply = ""
        except (BotoCoreError, ClientError, RuntimeError):
            # The message is stored and will be published: a 5xx now would send Twilio to the fallback URL
            # with a message we already have. Never reply to someone who may have opted out.
            return Accepted(record, stored, "", reply_undecided=True)
        return Accepted(record, stored, reply)
