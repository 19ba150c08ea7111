"""What the stand-in holds: accounts, keys, numbers, Messaging Services, messages, media, faults and logs.

Plain dataclasses; `Store` guards them with one lock. Field names are ours (snake case); `resources.py` turns
them into Twilio's JSON.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

FormPairs = list[tuple[str, str]]
AccountStatus = Literal["active", "suspended", "closed"]
KeyType = Literal["standard", "main"]
Direction = Literal["inbound", "outbound-api", "outbound-call", "outbound-reply"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


@dataclass
class Account:
    sid: str
    auth_token: str
    friendly_name: str
    owner_account_sid: str  # its own SID for a main account, the parent's for a subaccount
    status: AccountStatus = "active"
    date_created: datetime = field(default_factory=utcnow)
    date_updated: datetime = field(default_factory=utcnow)

    @property
    def is_subaccount(self) -> bool:
        return self.owner_account_sid != self.sid


@dataclass
class ApiKey:
    sid: str  # SK...
    secret: str
    account_sid: str
    key_type: KeyType = "standard"  # standard keys cannot use the Accounts (and Keys) resources


@dataclass
class PhoneNumber:
    sid: str  # PN...
    account_sid: str
    phone_number: str
    friendly_name: str
    sms_url: str | None = None
    sms_method: str = "POST"
    sms_fallback_url: str | None = None
    sms_fallback_method: str = "POST"
    status_callback: str | None = None
    status_callback_method: str = "POST"
    voice_url: str | None = None
    voice_method: str = "POST"
    service_sid: str | None = None  # the Messaging Service it belongs to, if any
    date_created: datetime = field(default_factory=utcnow)
    date_updated: datetime = field(default_factory=utcnow)


@dataclass
class Service:
    sid: str  # MG...
    account_sid: str
    friendly_name: str
    inbound_request_url: str | None = None
    inbound_method: str = "POST"
    fallback_url: str | None = None
    fallback_method: str = "POST"
    status_callback: str | None = None
    use_inbound_webhook_on_number: bool = False
    date_created: datetime = field(default_factory=utcnow)
    date_updated: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class MediaSpec:
    """One media item to seed: its bytes come from `seed` (or are `content`), served by the CDN listener.

    `not_found_first`: the API answers 404 to that many content requests first (Twilio's media lagging the
    webhook); `server_errors`: then that many 500s; `cdn_errors`: the CDN answers 503 that many times.
    """

    content_type: str = "image/jpeg"
    size: int = 1024
    seed: str | None = None
    content: bytes | None = None
    not_found_first: int = 0
    server_errors: int = 0
    cdn_errors: int = 0
    redirect_status: int = 307


@dataclass
class Media:
    sid: str  # ME...
    account_sid: str
    message_sid: str
    content_type: str
    size: int
    seed: str
    content: bytes | None
    not_found_remaining: int
    server_errors_remaining: int
    cdn_errors_remaining: int
    redirect_status: int
    date_created: datetime = field(default_factory=utcnow)


@dataclass
class Message:
    sid: str
    account_sid: str
    direction: Direction
    from_: str | None
    to: str
    body: str
    status: str
    seq: int  # creation order, to sort messages created within the same second
    messaging_service_sid: str | None = None
    status_callback: str | None = None
    error_code: int | None = None
    media_urls: list[str] = field(default_factory=list)  # MediaUrl values of a created message
    content_sid: str | None = None  # the Content Template it was created from (its body is the template's)
    date_created: datetime = field(default_factory=utcnow)
    date_updated: datetime = field(default_factory=utcnow)
    date_sent: datetime | None = None


@dataclass
class ContentTemplate:
    """A Content Template (content.twilio.com/v1/Content) of type twilio/text: its body with {{1}}-style
    placeholders, and each variable's default."""

    sid: str  # HX...
    account_sid: str
    friendly_name: str
    body: str
    variables: dict[str, str] = field(default_factory=dict)
    language: str = "en"
    date_created: datetime = field(default_factory=utcnow)
    date_updated: datetime = field(default_factory=utcnow)


@dataclass
class Fault:
    """Answer `status` (429 with Retry-After, or 5xx) to the next `remaining` requests matching the pattern."""

    path_pattern: str  # a regular expression searched in the request path
    status: int
    remaining: int
    method: str | None = None
    retry_after: int | None = 1


@dataclass(frozen=True)
class RequestRecord:
    """One request a listener answered ("api", "cdn" or "admin")."""

    listener: str
    method: str
    path: str
    query: FormPairs
    form: FormPairs
    headers: dict[str, str]  # names lower-cased
    status: int
    at: datetime

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


@dataclass(frozen=True)
class CallbackRecord:
    """One signed request the stand-in sent: a status callback or an inbound message webhook."""

    kind: Literal["status", "inbound"]
    message_sid: str
    url: str
    params: FormPairs
    signature: str
    status: int | None  # the HTTP status answered, None when the request failed
    error: str | None
    response_body: str
    at: datetime = field(default_factory=utcnow)

    def param(self, name: str) -> str | None:
        return next((value for key, value in self.params if key == name), None)
