"""Delivery status of outbound messages: Twilio's statuses in order, and the status callback's form.

Pure domain code: no AWS, no HTTP. A message only moves to a higher rank; a status of the same or a lower rank
arriving later (callbacks travel independently and can overtake each other) is recorded in the history but never
becomes the current status, so a late `sent` never replaces `delivered`.

    rank 1  accepted, scheduled, queued       Twilio has the message
    rank 2  sending
    rank 3  sent                              the carrier has it
    rank 4  delivered, undelivered, failed,   final for SMS/MMS: the first one to arrive stands
            canceled, partially_delivered
    rank 5  read                              WhatsApp and RCS, after delivered
    rank 0  any status Twilio adds that is not listed here: recorded, never current
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs

from twilio_inbound.message import MAX_ADDRESS_BYTES, SID_PATTERN, WHOLE_NUMBER, FormParams, first
from twilio_inbound.outbound import IDEMPOTENCY_KEY_PATTERN, IDEMPOTENCY_QUERY
from twilio_inbound.webhook import REPLY_TO_QUERY

STATUS_RANKS = {
    "accepted": 1,
    "scheduled": 1,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
    "partially_delivered": 4,
    "read": 5,
}
FINAL_RANK = 4  # a message at this rank or above has its outcome
STATUS_PATTERN = re.compile(r"[a-z_]{1,32}")  # also names an attribute of the item (history_attribute)
ERROR_CODE_PATTERN = re.compile(r"[0-9]{1,6}")
# Sent once per callback; a repeated one would be a request Twilio never makes.
SINGLE_VALUED = ("MessageSid", "MessageStatus", "SmsStatus", "ErrorCode", "AccountSid", "From", "To", "NumSegments")
INBOUND_REFUSAL = "this is an inbound message; point the number's messaging webhook at /sms"


class InvalidStatusCallback(ValueError):
    """The request is not a usable status callback; the text is safe to return to the caller."""


def rank(status: str) -> int:
    return STATUS_RANKS.get(status, 0)


def history_attribute(status: str) -> str:
    """The item attribute holding when `status` was first reported: `<status>At` for the statuses listed above,
    `at:<status>` for one Twilio adds later, so that no status name can be one of the item's own fields (a status
    called `expires` would otherwise overwrite the TTL attribute, `expiresAt`)."""
    return f"{status}At" if status in STATUS_RANKS else f"at:{status}"


@dataclass(frozen=True)
class StatusReport:
    """One status of one outbound message, as a callback (or the create call's answer) reported it."""

    message_sid: str
    status: str
    at: str  # when the stack recorded it (clock.iso_millis)
    error_code: int | None = None
    account_sid: str = ""
    sender: str = ""  # From: the number that sent the message
    to: str = ""
    messaging_service_sid: str = ""
    # What the StatusCallback URL's query names, one kind of key each: `idempotencyKey`, the command the sender
    # sent; `replyTo`, the inbound message whose webhook answered with this message in TwiML.
    idempotency_key: str = ""
    num_segments: int = 1
    reply_to: str = ""

    @property
    def rank(self) -> int:
        return rank(self.status)


def _key(query: dict[str, list[str]], name: str, pattern: re.Pattern[str]) -> str:
    values = query.get(name, [])
    if not values:
        return ""
    if len(values) > 1 or not pattern.fullmatch(values[0]):
        raise InvalidStatusCallback(f"{name} in the callback URL is not valid")
    return values[0]


def status_report(params: FormParams, query: str, at: str) -> StatusReport:
    """A verified status callback's form (and its URL's query) as a report; InvalidStatusCallback if unusable."""
    repeated = [name for name in SINGLE_VALUED if len(params.get(name, ())) > 1]
    if repeated:
        raise InvalidStatusCallback(f"parameter(s) sent more than once: {', '.join(repeated)}")
    status = first(params, "MessageStatus") or first(params, "SmsStatus")
    if status == "received":
        raise InvalidStatusCallback(INBOUND_REFUSAL)
    if not STATUS_PATTERN.fullmatch(status):
        raise InvalidStatusCallback("MessageStatus is missing or not a status")
    message_sid = first(params, "MessageSid")
    if not SID_PATTERN.fullmatch(message_sid):
        raise InvalidStatusCallback("MessageSid is missing or not a Twilio SID")
    code = first(params, "ErrorCode").strip()
    if code and not ERROR_CODE_PATTERN.fullmatch(code):
        raise InvalidStatusCallback("ErrorCode must be a whole number")
    for name in ("From", "To"):
        if len(first(params, name).encode()) > MAX_ADDRESS_BYTES:
            raise InvalidStatusCallback(f"{name} is longer than {MAX_ADDRESS_BYTES} bytes")
    service = first(params, "MessagingServiceSid")
    segments = first(params, "NumSegments").strip()
    keys = parse_qs(query, keep_blank_values=True)
    idempotency_key, reply_to = (
        _key(keys, IDEMPOTENCY_QUERY, IDEMPOTENCY_KEY_PATTERN),
        _key(keys, REPLY_TO_QUERY, SID_PATTERN),
    )
    if idempotency_key and reply_to:
        raise InvalidStatusCallback(f"the callback URL names both {IDEMPOTENCY_QUERY} and {REPLY_TO_QUERY}")
    return StatusReport(
        message_sid=message_sid,
        status=status,
        at=at,
        error_code=int(code) if code else None,
        account_sid=first(params, "AccountSid"),
        sender=first(params, "From"),
        to=first(params, "To"),
        messaging_service_sid=service if SID_PATTERN.fullmatch(service) else "",
        idempotency_key=idempotency_key,
        num_segments=int(segments) if WHOLE_NUMBER.fullmatch(segments) and int(segments) > 0 else 1,
        reply_to=reply_to,
    )
