"""Messages.create's checks and what happens to a message afterwards, with Twilio's magic test numbers.

Twilio's test credentials answer these `To` numbers with an error on create: +15005550001 invalid (21211),
+15005550002 unroutable (21612), +15005550003 no international permission (21408), +15005550004 blocked
(21610), +15005550009 cannot receive SMS (21614). As `From`, +15005550006 is always accepted and
+15005550001 (21212), +15005550007 (21606, not yours) and +15005550008 (21611, queue full) fail; any other
`From` must be one of the account's own numbers. The stand-in applies them to every account.

Twilio has no magic number for a message that is accepted and then fails; these two are the stand-in's own:
+15005550030 ends `undelivered` with 30003 (unreachable handset), +15005550031 ends `failed` with 30008.
`Engine.set_outcome` sets any other ending for a `To`.

WhatsApp: a free-form message (no ContentSid) to someone who has not written to the account in the last 24 hours
is accepted and then fails with 63016, as Twilio does (https://www.twilio.com/docs/whatsapp/key-concepts,
customer service windows); a template (ContentSid) is sent at any time. A WhatsApp recipient may be a
business-scoped user ID (whatsapp:US.13491208655302741918) instead of a number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from devtools.twilio_api import templates
from devtools.twilio_api.errors import TwilioApiError
from devtools.twilio_api.models import Account, ContentTemplate, PhoneNumber, Service

MAGIC_FROM = "+15005550006"
UNDELIVERED_TO = "+15005550030"
FAILED_TO = "+15005550031"
MAX_BODY = 1600
MAX_MEDIA = 10
_ADDRESS = re.compile(r"^(?:[a-z]+:)?\+[1-9]\d{5,14}$")
# A WhatsApp business-scoped user ID: a country code, ".", (a parent one: "ENT.") up to 128 letters and digits.
_WHATSAPP_USER_ID = re.compile(r"^whatsapp:[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}$")
OUTSIDE_WINDOW = 63016

_TO_ERRORS = {
    "+15005550001": (21211, "The 'To' number {to} is not a valid phone number."),
    "+15005550002": (21612, "The 'To' phone number: {to}, is not currently reachable via SMS."),
    "+15005550003": (21408, "Permission to send an SMS has not been enabled for the region indicated by {to}."),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number {to} is not a valid mobile number"),
}
_FROM_ERRORS = {
    "+15005550001": (
        21212,
        "The 'From' number {sender} is not a valid phone number, shortcode, or alphanumeric sender ID.",
    ),
    "+15005550007": (
        21606,
        "The 'From' phone number provided ({sender}) is not a valid message-capable Twilio phone number "
        "for this destination/account.",
    ),
    "+15005550008": (21611, "This 'From' number has exceeded the maximum number of queued messages"),
}


@dataclass(frozen=True)
class Outcome:
    """The statuses a message goes through after create, and the error code of a failed ending."""

    statuses: tuple[str, ...]
    error_code: int | None = None


# After create, each change of status has its callback, the initial one (queued; accepted through a Messaging
# Service) none: Twilio's guide "Outbound Message Status in Status Callbacks". An SMS then goes sending, sent and
# delivered: the usual three callbacks.
DELIVERED = Outcome(("sending", "sent", "delivered"))
DEFAULT_OUTCOMES = {
    UNDELIVERED_TO: Outcome(("sending", "sent", "undelivered"), 30003),
    FAILED_TO: Outcome(("failed",), 30008),
}


@dataclass(frozen=True)
class Draft:
    """A create request that passed every check."""

    to: str
    sender: str | None  # None: the Messaging Service picks a sender after create (status "accepted")
    service: Service | None
    body: str
    media_urls: list[str]
    status_callback: str | None
    content_sid: str | None = None


def bare(address: str) -> str:
    """+1500... from whatsapp:+1500... (magic numbers and ownership are about the number)."""
    return address.split(":", 1)[1] if ":" in address else address


def is_callback_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and "_" not in (parts.hostname or "")


@dataclass(frozen=True)
class Owned:
    """What the account owns that a create request may name."""

    numbers: list[PhoneNumber]
    services: dict[str, Service]
    senders: frozenset[str]  # channel senders that are no phone number (rcs:<agent id>)
    contents: dict[str, ContentTemplate]


def check_create(
    account: Account,
    owned: Owned,
    *,
    to: str,
    sender: str,
    service_sid: str,
    body: str,
    media_urls: list[str],
    status_callback: str,
    content_sid: str = "",
    content_variables: str = "",
) -> Draft:
    """Twilio's answers to a bad create, in the order Twilio checks (the first failing check answers)."""
    _check_content(
        to, sender, service_sid, body=body or content_sid, media_urls=media_urls, status_callback=status_callback
    )
    if content_variables and not content_sid:
        raise TwilioApiError(400, 21654, "ContentSid Required")
    service = None
    if service_sid:
        service = owned.services.get(service_sid)
        if service is None or service.account_sid != account.sid:
            raise TwilioApiError(400, 21705, f"The Messaging Service Sid {service_sid} is invalid.")
    _check_addresses(to, sender, owned)
    if content_sid:
        body = templates.render(owned.contents.get(content_sid), account.sid, content_variables)
    return Draft(to, sender or None, service, body, media_urls, status_callback or None, content_sid or None)


def _check_content(
    to: str, sender: str, service_sid: str, *, body: str, media_urls: list[str], status_callback: str
) -> None:
    if not to:
        raise TwilioApiError(400, 21604, "A 'To' phone number is required.")
    if not sender and not service_sid:
        raise TwilioApiError(400, 21603, "A 'From' phone number is required.")
    if not body and not media_urls:
        raise TwilioApiError(400, 21602, "Message body is required.")
    if len(body) > MAX_BODY:
        raise TwilioApiError(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
    if len(media_urls) > MAX_MEDIA:
        raise TwilioApiError(400, 21623, "The number of media files exceeds the limit of 10.")
    if any(not is_callback_url(url) for url in media_urls):
        raise TwilioApiError(400, 21620, "Invalid media URL(s).")
    if status_callback and not is_callback_url(status_callback):
        raise TwilioApiError(400, 21609, f"The StatusCallback URL {status_callback} is not a valid URL.")


def _check_addresses(to: str, sender: str, owned: Owned) -> None:
    """The sender must be the account's own (or the magic valid sender); then the magic recipients."""
    ours = sender in owned.senders or any(number.phone_number == bare(sender) for number in owned.numbers)
    if sender and bare(sender) != MAGIC_FROM and not ours:
        code, message = _FROM_ERRORS.get(bare(sender), _FROM_ERRORS["+15005550007"])
        raise TwilioApiError(400, code, message.format(sender=sender))
    if not (_ADDRESS.match(to) or _WHATSAPP_USER_ID.match(to)):
        raise TwilioApiError(400, 21211, f"The 'To' number {to} is not a valid phone number.")
    if bare(to) in _TO_ERRORS:
        code, message = _TO_ERRORS[bare(to)]
        raise TwilioApiError(400, code, message.format(to=to))
    if sender and bare(sender) == bare(to):
        raise TwilioApiError(400, 21266, "'To' and 'From' number cannot be the same")
    if sender and sender.startswith("whatsapp:") != to.startswith("whatsapp:"):
        raise TwilioApiError(400, 21910, "Invalid 'From' and 'To' pair. 'From' and 'To' should be of the same channel")
