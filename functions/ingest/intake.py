"""One webhook request, from API Gateway event to stored record and reply: the ingest function's whole flow."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from settings import IngestSettings
from signature import SignatureVerifier
from store import MessageStore
from twilio_inbound.message import InvalidMessage, StorageOptions, build_record, check_parameters, first
from twilio_inbound.numbers import Keyword
from twilio_inbound.registry import NumberRegistry, OptOutStore
from webhook import RequestRejected, check_shape, parse_form, request_from_event, request_url

OPT_STATE_CHANGES = {"STOP": True, "START": False}


@dataclass(frozen=True)
class Accepted:
    record: dict[str, Any]
    stored: bool  # False: a repeat delivery, acknowledged and not stored again
    reply: str  # text for a TwiML <Message>, or "" for none


@dataclass(frozen=True)
class Intake:
    settings: IngestSettings
    verifier: SignatureVerifier
    store: MessageStore
    registry: NumberRegistry
    optouts: OptOutStore
    now: Callable[[], datetime]

    def receive(self, event: dict[str, Any]) -> Accepted:
        """Raises RequestRejected (4xx), TokensUnavailable (500) or an AWS error (5xx); otherwise accepted."""
        request = request_from_event(event)
        check_shape(request, self.settings.max_body_bytes)
        params = parse_form(request.body)
        # Verify before reading any field: an unsigned request learns nothing about what we expect.
        self.verifier.verify(request, request_url(request, self.settings.public_base_url), params)

        try:
            check_parameters(params)
            number = self.registry.lookup(first(params, "To"), first(params, "MessagingServiceSid"))
            if number is None and self.settings.unknown_number_policy == "reject":
                raise RequestRejected(404, "number is not registered")
            record = build_record(params, self.now(), StorageOptions(self.settings.retention_days), number)
        except InvalidMessage as error:
            raise RequestRejected(400, str(error)) from error

        to, sender = record["to"], record["from"]
        together = []
        if record["optOutType"] in OPT_STATE_CHANGES:
            opted_out = OPT_STATE_CHANGES[record["optOutType"]]
            together.append(self.optouts.put_request(to, sender, opted_out, record["messageSid"], record["receivedAt"]))
        stored = self.store.put_new(record, together)

        # A repeat delivery gets the same answer: Twilio retried because it did not get the first one.
        reply = number.reply_for(Keyword(record["optOutType"], record["keyword"])) if number else ""
        if reply and self.optouts.is_opted_out(to, sender):
            reply = ""
        return Accepted(record, stored, reply)
