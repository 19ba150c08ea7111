"""Twilio-style inbound message forms and their X-Twilio-Signature, for tests, events and the sender.

TEST_AUTH_TOKEN is not a credential: it only exists in this repository, for local runs, tests and events/.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterable
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from twilio_inbound.message import FORM_MEDIA_TYPE, MultiParams, group_pairs

TEST_AUTH_TOKEN = "test-token-0000-not-a-real-secret"  # noqa: S105 (documented fake, never a real token)  # nosec B105
TEST_ACCOUNT_SID = "AC" + "0" * 32


def signing_token(given: str | None = None) -> str:
    """The auth token a test message is signed with: the one given, else $TWILIO_AUTH_TOKEN, else the documented
    test token. Read when used, never as a parser default, so no token reaches --help or the generated docs."""
    return (given or "").strip() or os.environ.get("TWILIO_AUTH_TOKEN", "").strip() or TEST_AUTH_TOKEN


# An HTTP API's webhook URL as the template outputs it (an example: no such API exists).
TEST_WEBHOOK_URL = "https://abc123defg.execute-api.us-east-1.amazonaws.com/sms"
FORM_CONTENT_TYPE = f"{FORM_MEDIA_TYPE}; charset=UTF-8"  # what Twilio sends
FormPairs = list[tuple[str, str]]


def new_message_sid(media: bool = False) -> str:
    return ("MM" if media else "SM") + uuid.uuid4().hex


def inbound_form(
    *,
    body: str = "Hello from twilio-inbound",
    sender: str = "+15005550006",
    to: str = "+15005550001",
    media: Iterable[tuple[str, str]] = (),
    message_sid: str | None = None,
    account_sid: str = TEST_ACCOUNT_SID,
    extra: Iterable[tuple[str, str]] = (),
) -> FormPairs:
    """The parameters Twilio posts for an inbound message (media as (url, content type) pairs)."""
    media = list(media)
    sid = message_sid or new_message_sid(bool(media))
    whatsapp = sender.startswith("whatsapp:")
    pairs: FormPairs = [
        ("ToCountry", "US"),
        ("ToState", "CA"),
        ("SmsMessageSid", sid),
        ("NumMedia", str(len(media))),
        ("ToCity", "SAN FRANCISCO"),
        ("FromZip", "94105"),
        ("SmsSid", sid),
        ("FromState", "CA"),
        ("SmsStatus", "received"),
        ("FromCity", "SAN FRANCISCO"),
        ("Body", body),
        ("FromCountry", "US"),
        ("To", to),
        ("ToZip", "94105"),
        ("NumSegments", "1"),
        ("MessageSid", sid),
        ("AccountSid", account_sid),
        ("From", sender),
        ("ApiVersion", "2010-04-01"),
    ]
    if whatsapp:
        # A customer known by number has a WaId; one known only by a business-scoped user ID (whatsapp:US.1349…)
        # comes with it as ExternalUserIdentifier (Twilio's changelog, 2026-07-20: WhatsApp BSUID format).
        user = sender.removeprefix("whatsapp:")
        identity = ("WaId", user.removeprefix("+")) if user.startswith("+") else ("ExternalUserIdentifier", user)
        pairs += [("ProfileName", "Test User"), identity]
    for index, (url, content_type) in enumerate(media):
        pairs += [(f"MediaContentType{index}", content_type), (f"MediaUrl{index}", url)]
    return pairs + list(extra)


def status_callback_form(
    message_sid: str,
    status: str,
    *,
    error_code: int | None = None,
    sender: str = "+15005550001",
    to: str = "+15005550006",
    account_sid: str = TEST_ACCOUNT_SID,
) -> FormPairs:
    """The parameters Twilio posts to a StatusCallback for an SMS our number sent (ErrorCode for failures)."""
    pairs: FormPairs = [
        ("AccountSid", account_sid),
        ("ApiVersion", "2010-04-01"),
        ("From", sender),
        ("MessageSid", message_sid),
        ("MessageStatus", status),
        ("SmsSid", message_sid),
        ("SmsStatus", status),
        ("To", to),
    ]
    return [*pairs, ("ErrorCode", str(error_code))] if error_code is not None else pairs


def signature(url: str, pairs: FormPairs, token: str = TEST_AUTH_TOKEN, algorithm: str = "HMAC_SHA1") -> str:
    """X-Twilio-Signature as Twilio computes it (HMAC_SHA256: a webhook signed with a shared key)."""
    return str(RequestValidator(token).compute_signature(url, MultiParams(group_pairs(pairs)), algorithm))


def signed_headers(
    url: str, pairs: FormPairs, token: str = TEST_AUTH_TOKEN, algorithm: str = "HMAC_SHA1"
) -> dict[str, str]:
    """The headers Twilio sends with an inbound message's form posted to `url`."""
    headers = {
        "Content-Type": FORM_CONTENT_TYPE,
        "User-Agent": "TwilioProxy/1.1",
        "X-Twilio-Signature": signature(url, pairs, token, algorithm),
    }
    if algorithm != "HMAC_SHA1":  # a webhook signed with a shared key says which
        headers["X-Twilio-Webhooks-Signature-Settings"] = f"key=webhooks_sharedkey_1,algorithm={algorithm}"
    return headers


def encode_form(pairs: FormPairs) -> bytes:
    return urlencode(pairs).encode("utf-8")


def encode_base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
