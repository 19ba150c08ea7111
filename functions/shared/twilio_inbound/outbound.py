"""Send commands: what a downstream service puts on the outbound queue, checked, and the record of what was sent.

Pure domain code: no AWS, no HTTP. schemas/send-command.v1.json describes the command for services;
`parse_command` enforces the same rules (a test holds the two together), so the sender needs no schema library.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Final, Literal, NotRequired, TypedDict

from twilio_inbound.message import MAX_MEDIA, SID_PATTERN, Media, channel_of, conversation_key
from twilio_inbound.numbers import MAX_REPLY_CHARS, EntryPoint

MAX_BODY_CHARS = MAX_REPLY_CHARS  # Twilio's limit for one message body (1,600 characters)
MAX_MEDIA_URL_CHARS = 2048
MEDIA_URL_PATTERN = re.compile(r"https://[^\s]{1,2040}")
# Keys travel in the StatusCallback URL's query, so status callbacks name the command they belong to.
IDEMPOTENCY_KEY_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
IDEMPOTENCY_QUERY = "idempotencyKey"
# E.164, or a channel address (whatsapp:+1..., messenger:..., rcs:...). A WhatsApp business-scoped user ID
# (whatsapp:US.13491208655302741918, a parent one whatsapp:US.ENT.…) has up to 128 characters after its prefix.
ADDRESS_PATTERN = re.compile(r"\+[1-9][0-9]{6,14}|[a-z]+:[^\s]{1,160}")
SERVICE_PATTERN = re.compile(r"MG[0-9a-fA-F]{32}")
ACCOUNT_PATTERN = re.compile(r"AC[0-9a-fA-F]{32}")
NAME_PATTERN = re.compile(r"[^\x00-\x1f\x7f]{1,256}")
# A Content Template (Twilio's Content API): its SID, and the values of its variables ("1": "12/1", ...).
CONTENT_SID_PATTERN = re.compile(r"HX[0-9a-fA-F]{32}")
CONTENT_VARIABLE_PATTERN = re.compile(r"[A-Za-z0-9_]{1,64}")
MAX_CONTENT_VARIABLES = 100
MAX_CONTENT_VARIABLE_CHARS = 1024
FIELDS = frozenset(
    {"to", "from", "body", "mediaUrls", "idempotencyKey", "inReplyTo", "accountSid", "contentSid", "contentVariables"}
)
OUTBOUND: Final = "outbound"

SenderKind = Literal["address", "service", "name"]


class MalformedCommand(ValueError):
    """The command can never be sent as written; the text says why (it goes to the DLQ with the message)."""


class Refused(Exception):
    """The stack will not send this command (opted-out recipient, unregistered sender, ...); the text says why, and
    `error_code` is Twilio's for the same refusal when Twilio has one (63016: outside WhatsApp's window)."""

    def __init__(self, reason: str, error_code: int | None = None) -> None:
        super().__init__(reason)
        self.error_code = error_code


# Channels whose messages go only between two addresses of the channel: Twilio answers 21910 ("Invalid 'From' and
# 'To' pair. 'From' and 'To' should be of the same channel") to an SMS number sending to whatsapp:… or the reverse.
# An RCS sender is not among them: it texts a phone number, and a Messaging Service picks a sender of the channel.
PAIRED_CHANNELS = frozenset({"whatsapp", "messenger"})
ACROSS_CHANNELS = 21910


def check_same_channel(sender: str, to: str) -> None:
    """Refused when `sender` and `to` are of different channels where Twilio sends only within one."""
    channels = [channel_of(address, "", 0) for address in (sender, to)]  # its scheme, else sms
    if channels[0] != channels[1] and PAIRED_CHANNELS.intersection(channels):
        raise Refused(
            f"from {sender} ({channels[0]}) and to {to} ({channels[1]}) are not of the same channel: name a "
            f"{channels[1]} sender of yours (Twilio would answer {ACROSS_CHANNELS})",
            ACROSS_CHANNELS,
        )


@dataclass(frozen=True)
class SendCommand:
    idempotency_key: str
    body: str
    media_urls: tuple[str, ...] = ()
    to: str = ""  # "" with in_reply_to
    sender: str = ""  # "" with in_reply_to: a number or address, an entry point's name, or a Messaging Service SID
    in_reply_to: str = ""  # an inbound MessageSid: sender, recipient and channel come from that message
    account_sid: str = ""  # which of the secret's accounts sends, when it holds several
    content_sid: str = ""  # a Content Template (HX…) instead of a body: what WhatsApp allows outside its window
    content_variables: tuple[tuple[str, str], ...] = ()  # the template's variables, in the command's order

    @property
    def template(self) -> bool:
        return bool(self.content_sid)

    @property
    def sender_kind(self) -> SenderKind:
        if SERVICE_PATTERN.fullmatch(self.sender):
            return "service"
        return "address" if ADDRESS_PATTERN.fullmatch(self.sender) else "name"

    def fingerprint(self) -> str:
        """The same for the same command, whatever the JSON's key order or spacing: a redelivery matches it, a
        different command reusing the key does not."""
        fields: list[Any] = [self.to, self.sender, self.body, list(self.media_urls), self.in_reply_to, self.account_sid]
        if self.content_sid:  # only then: a command without a template keeps the fingerprint it always had
            fields += [self.content_sid, sorted(self.content_variables)]
        canonical = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Route:
    """Who sends what to whom, once the command's sender and recipient are resolved."""

    account_sid: str
    sender: str  # the From address; "" when a Messaging Service picks the number
    service_sid: str  # a Messaging Service SID, or ""
    to: str
    conversation: str  # the thread's key ("our number|theirs"), "" until the sending number is known
    entry_point: EntryPoint | None
    # The Messaging Service the sending number belongs to, when the inbound message it answers named one.
    sender_service: str = ""


# An outbound message in the messages table (same table and indexes as inbound ones). Status fields (status,
# statusRank, errorCode, <status>At, statusesSeen) are written by the status recorder, not here.
OutboundRecord = TypedDict(
    "OutboundRecord",
    {
        "messageSid": str,
        "direction": Literal["outbound"],
        "accountSid": str,
        "messagingServiceSid": str,
        "from": str,
        "to": str,
        "body": str,
        "media": list[Media],
        "numMedia": int,
        "numSegments": int,
        "channel": str,
        "conversation": NotRequired[str],  # absent until the sending number is known (a Messaging Service picks it)
        "receivedAt": str,  # when the stack handed it to Twilio: the indexes' sort key for both directions
        "idempotencyKey": str,
        "inReplyTo": str,
        "contentSid": NotRequired[str],  # a Content Template's message: `body` is what Twilio rendered, if it said
        "entryPoint": NotRequired[EntryPoint],
        "expiresAt": NotRequired[int],
    },
)


def _text(document: dict[str, Any], name: str, pattern: re.Pattern[str] | None = None) -> str:
    """The field's text, "" when absent; present, it must be a string matching `pattern` (when given)."""
    if name not in document:
        return ""
    value = document[name]
    if not isinstance(value, str):
        raise MalformedCommand(f"{name} must be a string")
    if pattern is not None and not pattern.fullmatch(value):
        raise MalformedCommand(f"{name} is not valid")
    return value


def _media_urls(document: dict[str, Any]) -> tuple[str, ...]:
    urls = document.get("mediaUrls", [])
    if not isinstance(urls, list) or not all(isinstance(url, str) for url in urls):
        raise MalformedCommand("mediaUrls must be a list of URLs")
    if len(urls) > MAX_MEDIA:
        raise MalformedCommand(f"mediaUrls holds more than {MAX_MEDIA} URLs")
    if not all(MEDIA_URL_PATTERN.fullmatch(url) for url in urls):
        raise MalformedCommand(f"each of mediaUrls must be an https:// URL of at most {MAX_MEDIA_URL_CHARS} characters")
    return tuple(urls)


def _content_variables(document: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    variables = document.get("contentVariables", {})
    if not isinstance(variables, dict) or not all(isinstance(value, str) for value in variables.values()):
        raise MalformedCommand("contentVariables must be an object of strings")
    if len(variables) > MAX_CONTENT_VARIABLES:
        raise MalformedCommand(f"contentVariables holds more than {MAX_CONTENT_VARIABLES} variables")
    if not all(CONTENT_VARIABLE_PATTERN.fullmatch(name) for name in variables):
        raise MalformedCommand("each name of contentVariables must be 1-64 of A-Z a-z 0-9 _")
    if any(len(value) > MAX_CONTENT_VARIABLE_CHARS for value in variables.values()):
        raise MalformedCommand(f"each value of contentVariables is at most {MAX_CONTENT_VARIABLE_CHARS} characters")
    return tuple(variables.items())


@dataclass(frozen=True)
class Content:
    body: str = ""
    media_urls: tuple[str, ...] = ()
    content_sid: str = ""
    content_variables: tuple[tuple[str, str], ...] = ()


def _content(document: dict[str, Any]) -> Content:
    """A body and/or media, or a Content Template with its variables (a template carries its own content)."""
    body = _text(document, "body")
    if len(body) > MAX_BODY_CHARS:
        raise MalformedCommand(f"body is {len(body)} characters; Twilio's limit is {MAX_BODY_CHARS}")
    media_urls = _media_urls(document)
    content_sid = _text(document, "contentSid", CONTENT_SID_PATTERN)
    variables = _content_variables(document)
    if "contentVariables" in document and not content_sid:
        raise MalformedCommand("contentVariables needs contentSid")
    if content_sid and ("body" in document or "mediaUrls" in document):
        raise MalformedCommand("with contentSid, leave out body and mediaUrls: the template carries its content")
    if not body and not media_urls and not content_sid:
        raise MalformedCommand("body, mediaUrls or contentSid is required")
    return Content(body, media_urls, content_sid, variables)


def _addresses(document: dict[str, Any]) -> tuple[str, str, str]:
    """(inReplyTo, to, from): a reply names the inbound message, anything else both addresses."""
    in_reply_to = _text(document, "inReplyTo", SID_PATTERN)
    to, sender = _text(document, "to", ADDRESS_PATTERN), _text(document, "from", NAME_PATTERN)
    if in_reply_to and ("to" in document or "from" in document):
        raise MalformedCommand("with inReplyTo, to and from come from that message: leave them out")
    if not in_reply_to and not (to and sender):
        raise MalformedCommand("to and from are required (or inReplyTo)")
    return in_reply_to, to, sender


def parse_command(text: str) -> SendCommand:
    """The command in an SQS message body; MalformedCommand says what is wrong with it."""
    try:
        document = json.loads(text)
    except ValueError as error:  # JSONDecodeError, and UnicodeDecodeError's lone surrogates
        raise MalformedCommand("not JSON") from error
    if not isinstance(document, dict):
        raise MalformedCommand("not a JSON object")
    unknown = sorted(set(document) - FIELDS)
    if unknown:
        raise MalformedCommand(f"unknown field(s): {', '.join(unknown)}")
    if "idempotencyKey" not in document:
        raise MalformedCommand("idempotencyKey is required (1-128 of A-Z a-z 0-9 . _ : -)")
    key = _text(document, "idempotencyKey", IDEMPOTENCY_KEY_PATTERN)
    content = _content(document)
    in_reply_to, to, sender = _addresses(document)
    account_sid = _text(document, "accountSid", ACCOUNT_PATTERN)
    return SendCommand(
        key,
        content.body,
        content.media_urls,
        to,
        sender,
        in_reply_to,
        account_sid,
        content.content_sid,
        content.content_variables,
    )


# What the stack stores for a command's message once Twilio accepts it, decided before Twilio is called and kept with
# the command's intent (sends_table.py): so whoever learns the MessageSid (the sender, a redelivery of the command, a
# status callback naming the command) stores the message with its body, inReplyTo, entry point and key.
OutboundDraft = TypedDict(
    "OutboundDraft",
    {
        "accountSid": str,
        "messagingServiceSid": str,
        "from": str,  # "" when a Messaging Service picks the number
        "to": str,
        "body": str,
        "mediaUrls": list[str],
        "idempotencyKey": str,
        "inReplyTo": str,
        "contentSid": NotRequired[str],
        "contentVariables": NotRequired[dict[str, str]],
        "conversation": NotRequired[str],
        "entryPoint": NotRequired[EntryPoint],
    },
)


@dataclass(frozen=True)
class Created:
    """What Twilio answered to Messages.create, and when the stack handed the message over."""

    message_sid: str
    status: str  # queued, or accepted when a Messaging Service picks the sender
    sender: str  # "" until a Messaging Service has picked the number
    num_segments: int
    at: str  # clock.iso_millis: the stored message's receivedAt
    body: str = ""  # the body Twilio answered with (a template's, rendered); "" when not known


def outbound_draft(command: SendCommand, route: Route) -> OutboundDraft:
    draft: OutboundDraft = {
        "accountSid": route.account_sid,
        "messagingServiceSid": route.service_sid,
        "from": route.sender,
        "to": route.to,
        "body": command.body,
        "mediaUrls": list(command.media_urls),
        "idempotencyKey": command.idempotency_key,
        "inReplyTo": command.in_reply_to,
    }
    if command.content_sid:
        draft["contentSid"] = command.content_sid
        draft["contentVariables"] = dict(command.content_variables)
    if route.conversation:
        draft["conversation"] = route.conversation
    if route.entry_point is not None:
        draft["entryPoint"] = route.entry_point
    return draft


def outbound_record(draft: OutboundDraft, created: Created) -> OutboundRecord:
    """What is stored for a message Twilio accepted. `created.sender`: the From Twilio answered with (else the
    draft's; "" while a Messaging Service has not picked a number yet)."""
    sender = created.sender or draft["from"]
    media: list[Media] = [{"url": url, "contentType": ""} for url in draft["mediaUrls"]]
    record: OutboundRecord = {
        "messageSid": created.message_sid,
        "direction": OUTBOUND,
        "accountSid": draft["accountSid"],
        "messagingServiceSid": draft["messagingServiceSid"],
        "from": sender,
        "to": draft["to"],
        "body": draft["body"] or created.body,
        "media": media,
        "numMedia": len(media),
        "numSegments": created.num_segments,
        "channel": channel_of(sender, draft["to"], len(media)),
        "receivedAt": created.at,
        "idempotencyKey": draft["idempotencyKey"],
        "inReplyTo": draft["inReplyTo"],
    }
    conversation = draft.get("conversation") or (conversation_key(sender, draft["to"]) if sender else "")
    if conversation:
        record["conversation"] = conversation
    if "contentSid" in draft:
        record["contentSid"] = draft["contentSid"]
    if "entryPoint" in draft:
        record["entryPoint"] = draft["entryPoint"]
    return record


def twiml_reply_draft(inbound: dict[str, Any]) -> OutboundDraft:
    """What is stored for the reply an inbound message's webhook answered in TwiML (its stored `reply`): from the
    number it was sent to, back to its sender, in its thread. No command sent it: no idempotencyKey."""
    draft: OutboundDraft = {
        "accountSid": str(inbound["accountSid"]),
        "messagingServiceSid": str(inbound.get("messagingServiceSid", "")),
        "from": str(inbound["to"]),
        "to": str(inbound["from"]),
        "body": str(inbound["reply"]),
        "mediaUrls": [],
        "idempotencyKey": "",
        "inReplyTo": str(inbound["messageSid"]),
        "conversation": str(inbound["conversation"]),
    }
    if inbound.get("entryPoint"):
        draft["entryPoint"] = inbound["entryPoint"]
    return draft
