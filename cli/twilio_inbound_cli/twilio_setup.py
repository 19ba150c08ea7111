"""What Twilio holds about an account's inbound messaging (phone numbers, Messaging Services, their webhooks),
and where an inbound message to each would go.

Reading is one pass through the SDK per account; the decisions below are plain functions of what was read.
A Messaging Service that has an inbound URL and does not defer to its numbers' webhooks
(UseInboundWebhookOnNumber false) sends its numbers' messages there, whatever the numbers say.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag, urlsplit


@dataclass(frozen=True)
class Webhook:
    url: str  # "" when none is set; may end in a #fragment of connection overrides
    method: str
    fallback_url: str
    fallback_method: str = "POST"


@dataclass(frozen=True)
class NumberSetup:
    account_sid: str
    sid: str  # PN...
    phone_number: str
    webhook: Webhook
    service_sid: str = ""  # the Messaging Service it belongs to


@dataclass(frozen=True)
class ServiceSetup:
    account_sid: str
    sid: str  # MG...
    friendly_name: str
    webhook: Webhook
    defers_to_numbers: bool  # UseInboundWebhookOnNumber
    number_sids: tuple[str, ...] = ()


@dataclass
class AccountSetup:
    account_sid: str
    numbers: list[NumberSetup] = field(default_factory=list)
    services: list[ServiceSetup] = field(default_factory=list)

    def number(self, phone_number: str) -> NumberSetup | None:
        return next((number for number in self.numbers if number.phone_number == phone_number), None)

    def service(self, sid: str) -> ServiceSetup | None:
        return next((service for service in self.services if service.sid == sid), None)

    def service_of(self, number: NumberSetup) -> ServiceSetup | None:
        return self.service(number.service_sid) if number.service_sid else None


def read_setup(client: Any, account_sid: str) -> AccountSetup:
    """The account's numbers and Messaging Services (every page), with which service holds which number."""
    services = []
    for service in client.messaging.v1.services.stream():
        members = tuple(number.sid for number in client.messaging.v1.services(service.sid).phone_numbers.stream())
        webhook = Webhook(
            service.inbound_request_url or "",
            service.inbound_method or "POST",
            service.fallback_url or "",
            service.fallback_method or "POST",
        )
        defers = bool(service.use_inbound_webhook_on_number)
        services.append(ServiceSetup(account_sid, service.sid, service.friendly_name or "", webhook, defers, members))
    member_of = {number_sid: service.sid for service in services for number_sid in service.number_sids}
    numbers = [
        NumberSetup(
            account_sid,
            number.sid,
            number.phone_number,
            Webhook(
                number.sms_url or "",
                number.sms_method or "POST",
                number.sms_fallback_url or "",
                number.sms_fallback_method or "POST",
            ),
            member_of.get(number.sid, ""),
        )
        for number in client.incoming_phone_numbers.stream()
    ]
    return AccountSetup(account_sid, numbers, services)


def same_url(configured: str, webhook_url: str) -> bool:
    """Whether Twilio, configured with `configured`, calls exactly `webhook_url`: the #fragment (connection
    overrides) is not part of the request; scheme and host are case-insensitive."""
    if not configured:
        return False
    left, right = urlsplit(urldefrag(configured).url), urlsplit(webhook_url)
    return (left.scheme.lower(), left.netloc.lower(), left.path, left.query) == (
        right.scheme.lower(),
        right.netloc.lower(),
        right.path,
        right.query,
    )


def same_host(configured: str, url: str) -> bool:
    return bool(configured) and urlsplit(configured).netloc.lower() == urlsplit(url).netloc.lower()


@dataclass(frozen=True)
class Delivery:
    """Where Twilio sends a number's inbound messages."""

    webhook: Webhook
    via_service: str = ""  # the Messaging Service whose URL applies, when it is not the number's own


def delivery_of(number: NumberSetup, service: ServiceSetup | None) -> Delivery:
    if service is not None and service.webhook.url and not service.defers_to_numbers:
        return Delivery(service.webhook, service.sid)
    return Delivery(number.webhook)


def delivers_to(webhook: Webhook, webhook_url: str) -> bool:
    """Twilio's request would reach the webhook and be accepted: this URL, and POST (a GET carries the message
    in the query string, which the webhook refuses)."""
    return same_url(webhook.url, webhook_url) and webhook.method.upper() == "POST"
