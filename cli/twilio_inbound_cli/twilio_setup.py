"""What Twilio holds about an account's inbound messaging (phone numbers, Messaging Services, their webhooks),
and where an inbound message to each would go.

Reading asks only for what a command needs (read_setup for the whole account, AccountLookup for one address);
the decisions below are plain functions of what was read.
A Messaging Service that has an inbound URL and does not defer to its numbers' webhooks
(UseInboundWebhookOnNumber false) sends its numbers' messages there, whatever the numbers say.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urldefrag, urlsplit

from twilio.base.exceptions import TwilioException

from twilio_inbound.twilio_rest import twilio_failure


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


PAGE_SIZE = 1000  # Twilio's largest page: one request per thousand numbers or services


def decides_delivery(service: ServiceSetup) -> bool:
    """Whether the service's own URL receives its numbers' messages: it has one and does not defer to theirs."""
    return bool(service.webhook.url) and not service.defers_to_numbers


def _service_setup(account_sid: str, service: Any, number_sids: tuple[str, ...] = ()) -> ServiceSetup:
    webhook = Webhook(
        service.inbound_request_url or "",
        service.inbound_method or "POST",
        service.fallback_url or "",
        service.fallback_method or "POST",
    )
    defers = bool(service.use_inbound_webhook_on_number)
    return ServiceSetup(account_sid, service.sid, service.friendly_name or "", webhook, defers, number_sids)


def _number_setup(account_sid: str, number: Any, service_sid: str = "") -> NumberSetup:
    webhook = Webhook(
        number.sms_url or "",
        number.sms_method or "POST",
        number.sms_fallback_url or "",
        number.sms_fallback_method or "POST",
    )
    return NumberSetup(account_sid, number.sid, number.phone_number, webhook, service_sid)


def _members(client: Any, service_sid: str) -> tuple[str, ...]:
    listed = client.messaging.v1.services(service_sid).phone_numbers.stream(page_size=PAGE_SIZE)
    return tuple(number.sid for number in listed)


def read_setup(client: Any, account_sid: str, registered: Iterable[str] = ()) -> AccountSetup:
    """The account's numbers and Messaging Services, a request per thousand of each; and the numbers of the
    services that matter: those whose own URL receives their numbers' messages, and registered ones (a registered
    service covers its numbers). Which other service holds a number changes nothing a command says or does, so
    it is not asked: the requests grow with the services that decide delivery, not with every service."""
    wanted = set(registered)
    services = [
        _service_setup(account_sid, service) for service in client.messaging.v1.services.stream(page_size=PAGE_SIZE)
    ]
    services = [
        replace(service, number_sids=_members(client, service.sid))
        if decides_delivery(service) or service.sid in wanted
        else service
        for service in services
    ]
    member_of = {number_sid: service.sid for service in services for number_sid in service.number_sids}
    numbers = [
        _number_setup(account_sid, number, member_of.get(number.sid, ""))
        for number in client.incoming_phone_numbers.stream(page_size=PAGE_SIZE)
    ]
    return AccountSetup(account_sid, numbers, services)


class AccountLookup:
    """One address of an account, read on demand for a command about that address (connect), each thing at most
    once: a number is one request, a service one, and the Messaging Service that sends a number's messages to
    another URL is found among the services that do (a services page, then one membership read each)."""

    def __init__(self, client: Any, account_sid: str) -> None:
        self.client = client
        self.account_sid = account_sid
        self._services: list[ServiceSetup] | None = None

    def number(self, phone_number: str) -> NumberSetup | None:
        found = self.client.incoming_phone_numbers.list(phone_number=phone_number, page_size=PAGE_SIZE)
        matching = [number for number in found if number.phone_number == phone_number]
        return _number_setup(self.account_sid, matching[0]) if matching else None

    def service(self, sid: str) -> ServiceSetup | None:
        try:
            return _service_setup(self.account_sid, self.client.messaging.v1.services(sid).fetch())
        except TwilioException as error:
            if _not_found(error):
                return None
            raise

    def service_sending_elsewhere(self, number: NumberSetup, webhook_url: str) -> ServiceSetup | None:
        """The Messaging Service holding `number` whose own URL receives its messages and is not `webhook_url`
        (a number is in at most one service), or None."""
        if self._services is None:
            listed = self.client.messaging.v1.services.stream(page_size=PAGE_SIZE)
            self._services = [_service_setup(self.account_sid, service) for service in listed]
        candidates = (
            service
            for service in self._services
            if decides_delivery(service) and not delivers_to(service.webhook, webhook_url)
        )
        return next(
            (
                replace(service, number_sids=(number.sid,))
                for service in candidates
                if self._holds(service.sid, number.sid)
            ),
            None,
        )

    def _holds(self, service_sid: str, number_sid: str) -> bool:
        try:
            self.client.messaging.v1.services(service_sid).phone_numbers(number_sid).fetch()
        except TwilioException as error:
            if _not_found(error):
                return False
            raise
        return True


def _not_found(error: TwilioException) -> bool:
    failure = twilio_failure(error)
    return failure is not None and failure.status == 404


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
