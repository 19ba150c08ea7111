"""Turns the form Twilio posts for an inbound message into the record we store.

Pure domain code: no AWS, no HTTP. The record keeps every parameter verbatim (Twilio adds parameters
without notice) next to normalized fields named as in Twilio Event Streams' InboundMessageV1.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, NotRequired, TypedDict

from twilio_inbound.clock import iso_millis
from twilio_inbound.numbers import OPT_STATE_CHANGES, EntryPoint, NumberConfig, OptOutChange, OptOutType, classify

REQUIRED_PARAMETERS = ("MessageSid", "From", "To")
# Twilio allows at most 10 media per message; the cap also bounds the work an odd request can cause.
MAX_MEDIA = 10
# A Twilio SID: two letters and 32 hex digits (SM..., MM... for messages).
# Patterns that guard keys are matched with fullmatch: "$" also matches before a final newline.
SID_PATTERN = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")
# Phone numbers and channel addresses are short; the cap keeps index keys far below DynamoDB's limits.
MAX_ADDRESS_BYTES = 256  # UTF-8; keeps "to|from" (an index key, 2 KiB) and "optout#<from>" (a sort key, 1 KiB) valid
WHOLE_NUMBER = re.compile(r"[0-9]{1,6}")
# Parameters Twilio sends once per message. Its signature covers each key's sorted distinct values, so a
# repeated one (a second Body, a To posted before the real one) would pass with the original signature.
SINGLE_VALUED = (
    "MessageSid",
    "AccountSid",
    "MessagingServiceSid",
    "From",
    "To",
    "Body",
    "NumMedia",
    "NumSegments",
    "OptOutType",
)

# An inbound message's webhook says SmsStatus=received; a status callback (queued, sent, delivered, ...) says
# otherwise, in both parameters. Stored as a message, it would read as one received from our own number.
STATUS_PARAMETERS = ("SmsStatus", "MessageStatus")
INBOUND_STATUS = "received"
STATUS_CALLBACK_REFUSAL = "this is a status callback; point StatusCallback at /status"

# The media type of every request Twilio posts to a webhook.
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
# Form parameters as posted: name -> every value, in order (repeated keys are kept).
FormParams = dict[str, list[str]]


class MultiParams(dict[str, list[str]]):
    """The form with every value of a repeated key, the MultiDict shape twilio's RequestValidator reads."""

    # RequestValidator calls getall once per parameter: the dict's own lookup, not a Python method around it.
    getall = dict.__getitem__


class Media(TypedDict):
    url: str
    contentType: str


# The stored message, as the ingest function writes it and the stream hands it to the fanout function.
# Functional form: "from" is a Python keyword.
MessageRecord = TypedDict(
    "MessageRecord",
    {
        "messageSid": str,
        "direction": NotRequired[Literal["inbound"]],  # outbound messages share the table (outbound.py)
        "accountSid": str,
        "messagingServiceSid": str,
        "from": str,
        "to": str,
        "body": str,
        "fromCity": str,
        "fromState": str,
        "fromZip": str,
        "fromCountry": str,
        "toCity": str,
        "toState": str,
        "toZip": str,
        "toCountry": str,
        "numMedia": int,
        "numSegments": int,
        "media": list[Media],
        "channel": str,
        "optOutType": OptOutType,
        "keyword": str,
        "delivered": bool,  # False: a disabled number's message, recorded and never published
        "entryPoint": NotRequired[EntryPoint],  # only for registered numbers
        "receivedAt": str,
        "conversation": str,
        "parameters": dict[str, str | list[str]],
        "expiresAt": NotRequired[int],  # only with a retention period (DynamoDB TTL)
        "recovered": NotRequired[bool],  # True: stored by reconcile from Twilio's log, the webhook never got it
        "reply": NotRequired[str],  # what the webhook answered in TwiML (a registry reply): Twilio sent it
    },
)


class InvalidMessage(ValueError):
    """The request is not a usable inbound message; the text is safe to return to the caller."""


@dataclass(frozen=True)
class InboundForm:
    """A form that passed check_parameters: the only input build_record takes, so no caller can skip it."""

    params: FormParams

    def first(self, name: str) -> str:
        values = self.params.get(name)  # first(), inlined: build_record reads some twenty fields per message
        return values[0] if values else ""


@dataclass(frozen=True)
class StorageOptions:
    retention_days: int = 0  # 0 keeps messages forever (no TTL attribute)


def group_pairs(pairs: Iterable[tuple[str, str]]) -> FormParams:
    """Form pairs as posted -> each name with every value, in order (repeated keys and blanks kept)."""
    params: FormParams = {}
    for name, value in pairs:
        params.setdefault(name, []).append(value)
    return params


def first(params: FormParams, name: str) -> str:
    values = params.get(name)
    return values[0] if values else ""


def verbatim(params: FormParams) -> dict[str, str | list[str]]:
    """Every parameter as sent: a single value stays a string, a repeated key becomes a list."""
    return {name: values[0] if len(values) == 1 else list(values) for name, values in params.items()}


def channel_of(sender: str, recipient: str, num_media: int) -> str:
    """sms, mms, or the address scheme Twilio uses for other channels (whatsapp:, messenger:, rcs:, ...)."""
    for address in (sender, recipient):
        scheme, sep, _ = address.partition(":")
        if sep and scheme.isalpha():
            return scheme.lower()
    return "mms" if num_media > 0 else "sms"


def _int_param(params: FormParams, name: str, default: int) -> int:
    raw = first(params, name).strip()
    if not raw:
        return default
    if not WHOLE_NUMBER.fullmatch(raw):  # ASCII digits only: str.isdigit() also admits "²"
        raise InvalidMessage(f"{name} must be a whole number")
    return int(raw)


def media_of(params: FormParams, num_media: int) -> list[Media]:
    media: list[Media] = []
    for index in range(min(num_media, MAX_MEDIA)):
        url = first(params, f"MediaUrl{index}")
        if url:
            media.append({"url": url, "contentType": first(params, f"MediaContentType{index}")})
    return media


def conversation_key(to: str, sender: str) -> str:
    """One number's exchange with one sender, for the ByConversation index."""
    return f"{to}|{sender}"


def _refuse_status_callback(params: FormParams) -> None:
    if any(value != INBOUND_STATUS for name in STATUS_PARAMETERS for value in params.get(name, ())):
        raise InvalidMessage(STATUS_CALLBACK_REFUSAL)


def check_parameters(params: FormParams) -> InboundForm:
    """What must hold before any field is used as a DynamoDB key (registry look-up included): else 400.

    A key DynamoDB refuses would be a 5xx, and Twilio would retry a request that can never succeed.
    """
    _refuse_status_callback(params)
    missing = [name for name in REQUIRED_PARAMETERS if not first(params, name).strip()]
    if missing:
        raise InvalidMessage(f"missing required parameter(s): {', '.join(missing)}")
    repeated = [name for name in SINGLE_VALUED if len(params.get(name, ())) > 1]
    if repeated:
        raise InvalidMessage(f"parameter(s) sent more than once: {', '.join(repeated)}")
    if not SID_PATTERN.fullmatch(first(params, "MessageSid")):
        raise InvalidMessage("MessageSid is not a Twilio SID")
    service = first(params, "MessagingServiceSid")
    if service and not SID_PATTERN.fullmatch(service):
        raise InvalidMessage("MessagingServiceSid is not a Twilio SID")
    for name in ("From", "To"):
        if len(first(params, name).encode()) > MAX_ADDRESS_BYTES:
            raise InvalidMessage(f"{name} is longer than {MAX_ADDRESS_BYTES} bytes")
    if "" in params:
        raise InvalidMessage("a parameter has an empty name")  # DynamoDB refuses empty map keys
    return InboundForm(params)


def build_record(
    form: InboundForm,
    received_at: datetime | str,
    options: StorageOptions = StorageOptions(),
    number: NumberConfig | None = None,
) -> MessageRecord:
    """The item stored for one inbound message to `number` (None: not in the registry). `received_at` is the
    moment of receipt, or its stored text (a record read back keeps it to the character, unparsed).

    Raises InvalidMessage for malformed counts.
    """
    params = form.params
    num_media = _int_param(params, "NumMedia", 0)
    sender, to, body = form.first("From"), form.first("To"), form.first("Body")
    keyword = classify(body, form.first("OptOutType"), frozenset(number.keywords) if number else frozenset())
    record: MessageRecord = {
        "messageSid": form.first("MessageSid"),
        "direction": "inbound",
        "accountSid": form.first("AccountSid"),
        "messagingServiceSid": form.first("MessagingServiceSid"),
        "from": sender,
        "to": to,
        "body": body,
        "fromCity": form.first("FromCity"),
        "fromState": form.first("FromState"),
        "fromZip": form.first("FromZip"),
        "fromCountry": form.first("FromCountry"),
        "toCity": form.first("ToCity"),
        "toState": form.first("ToState"),
        "toZip": form.first("ToZip"),
        "toCountry": form.first("ToCountry"),
        "numMedia": num_media,
        "numSegments": _int_param(params, "NumSegments", 1),
        "media": media_of(params, num_media),
        "channel": channel_of(sender, to, num_media),
        "optOutType": keyword.opt_out_type,
        "keyword": keyword.keyword,
        # A disabled number's messages are recorded but not published (the fanout skips them).
        "delivered": number.enabled if number else True,
        "receivedAt": received_at if isinstance(received_at, str) else iso_millis(received_at),
        "conversation": conversation_key(to, sender),
        "parameters": verbatim(params),
    }
    if number is not None:
        record["entryPoint"] = number.entry_point()
    if options.retention_days > 0:
        moment = datetime.fromisoformat(received_at) if isinstance(received_at, str) else received_at
        record["expiresAt"] = int(moment.astimezone(UTC).timestamp()) + options.retention_days * 86_400
    return record


def opt_out_change(record: MessageRecord) -> OptOutChange | None:
    """What a STOP or START does to the sender's state on this number, written with the message itself."""
    if record["optOutType"] not in OPT_STATE_CHANGES:
        return None
    opted_out = OPT_STATE_CHANGES[record["optOutType"]]
    return OptOutChange(
        record["to"],
        record["from"],
        opted_out,
        record["messageSid"],
        record["receivedAt"],
        record["messagingServiceSid"],
    )
