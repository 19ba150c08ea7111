"""Numbers as entry points: what each registered number is, which keyword a message is, what to reply.

Pure domain code. The registry itself lives in DynamoDB (numbers_table.py); the ingest function reads it, the
CLI writes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal, TypedDict

# Twilio's standard opt-out, opt-in and help keywords (matched on the whole body, trimmed, any case).
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})
STANDARD_KEYWORDS = OPT_OUT_KEYWORDS | OPT_IN_KEYWORDS | HELP_KEYWORDS
MAX_REPLY_CHARS = 1600  # Twilio's limit for one message body
KEYWORD_PATTERN = re.compile(r"[A-Z0-9]{1,30}")
# E.164, a channel address (whatsapp:+1..., messenger:..., rcs:...), or a Messaging Service SID.
NUMBER_PATTERN = re.compile(r"\+[1-9][0-9]{6,14}|[a-z]+:[^\s]{1,100}|MG[0-9a-fA-F]{32}")
# Names, route keys and tags travel as SNS message attributes: SQS refuses control characters in those (and
# then drops the whole raw delivery), so registry fields are printable text only.
_LABEL_MAX = 256
_ASCII_SPACE = " \t\n\r\x0b\x0c"
# Twilio's OptOutType vocabulary; "" for an ordinary message.
OptOutType = Literal["STOP", "START", "HELP", ""]
# What a STOP or START does to the sender's state (opted out or not); HELP changes nothing.
OPT_STATE_CHANGES: dict[OptOutType, bool] = {"STOP": True, "START": False}


class EntryPoint(TypedDict):
    """What the stored record and the event carry about a registered number."""

    number: str
    name: str
    routeKey: str
    tags: list[str]
    language: str


class InvalidNumberConfig(ValueError):
    """A registry entry that would break replies or routing; the text says what to fix."""


@dataclass(frozen=True)
class Keyword:
    opt_out_type: OptOutType
    keyword: str  # the normalized body when it is a standard or configured keyword, else ""


@dataclass(frozen=True)
class OptOutChange:
    """A STOP or START from `sender` to our `number`, as of message `message_sid`.

    Twilio keeps opt-outs per Messaging Service (Advanced Opt-Out): through a service (`service`), a STOP opts the
    sender out of the whole service, and a START back in to the service and to the number itself (which may hold a
    STOP from before it joined). Outside any service, both are about the number.
    """

    number: str
    sender: str
    opted_out: bool
    message_sid: str
    at: str  # the message's receivedAt
    service: str = ""  # the message's MessagingServiceSid, "" outside any service

    @property
    def scopes(self) -> tuple[str, ...]:
        """What the change is about: the numbers and Messaging Services whose opt-out state it sets."""
        if not self.service:
            return (self.number,)
        return (self.service,) if self.opted_out else (self.service, self.number)


def normalize(body: str) -> str:
    """The body as a keyword candidate: ASCII only, as carriers and Twilio match them. str.upper() maps
    look-alikes (LATIN SMALL LETTER LONG S + "top", the "st" ligature + "op") to "STOP": they must not change
    anyone's opt-out state."""
    word = body.strip(_ASCII_SPACE)
    return word.upper() if word.isascii() else ""


def classify(body: str, twilio_opt_out_type: str, configured: frozenset[str] = frozenset()) -> Keyword:
    """Twilio's OptOutType when it sent one (Advanced Opt-Out), else the standard keywords."""
    word = normalize(body)
    opt_out_type = _opt_out_type(normalize(twilio_opt_out_type))
    if not opt_out_type:
        if word in OPT_OUT_KEYWORDS:
            opt_out_type = "STOP"
        elif word in OPT_IN_KEYWORDS:
            opt_out_type = "START"
        elif word in HELP_KEYWORDS:
            opt_out_type = "HELP"
    keyword = word if word in STANDARD_KEYWORDS or word in configured else ""
    return Keyword(opt_out_type, keyword)


def _opt_out_type(value: str) -> OptOutType:
    for known in ("STOP", "START", "HELP"):
        if value == known:
            return known
    return ""


@dataclass(frozen=True)
class NumberConfig:
    number: str
    name: str = ""
    enabled: bool = True
    route_key: str = ""
    tags: tuple[str, ...] = ()
    auto_reply: str = ""
    keywords: dict[str, str] = field(default_factory=dict)  # KEYWORD -> reply text
    language: str = ""

    def validate(self) -> NumberConfig:
        if not NUMBER_PATTERN.fullmatch(self.number):
            raise InvalidNumberConfig(f"{self.number!r} is not E.164, a channel address or a Messaging Service SID")
        for keyword, reply in self.keywords.items():
            if not KEYWORD_PATTERN.fullmatch(keyword):
                raise InvalidNumberConfig(f"keyword {keyword!r} must be 1-30 upper-case letters or digits")
            if keyword in OPT_OUT_KEYWORDS | OPT_IN_KEYWORDS:
                raise InvalidNumberConfig(f"{keyword} is an opt-out/opt-in keyword: Twilio answers it, we never do")
            _check_reply(f"reply for {keyword}", reply)
        _check_reply("auto-reply", self.auto_reply)
        for what, label in (("name", self.name), ("route key", self.route_key), ("language", self.language)):
            _check_label(what, label)
        for tag in self.tags:
            _check_label("tag", tag)
        return self

    def entry_point(self) -> EntryPoint:
        """What the stored record and the event carry about the number."""
        return {
            "number": self.number,
            "name": self.name,
            "routeKey": self.route_key,
            "tags": list(self.tags),
            "language": self.language,
        }

    def reply_for(self, keyword: Keyword) -> str:
        """The text to answer with, or "" for none. Opt-out and opt-in messages never get one."""
        if not self.enabled or keyword.opt_out_type in {"STOP", "START"}:
            return ""
        if keyword.keyword in self.keywords:
            return self.keywords[keyword.keyword]
        if keyword.opt_out_type == "HELP" and "HELP" in self.keywords:
            return self.keywords["HELP"]
        return self.auto_reply


def _check_label(what: str, text: str) -> None:
    if not text.isprintable() or len(text) > _LABEL_MAX:
        raise InvalidNumberConfig(f"{what} {text!r} must be printable text of at most {_LABEL_MAX} characters")


def _check_reply(what: str, text: str) -> None:
    if len(text) > MAX_REPLY_CHARS:
        raise InvalidNumberConfig(f"{what} is {len(text)} characters; Twilio's limit is {MAX_REPLY_CHARS}")
