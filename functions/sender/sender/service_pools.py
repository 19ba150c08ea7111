"""Which numbers a Messaging Service holds, from Twilio (the authority on it), cached per container.

The opt-out rule needs it twice (opt_out_rule.py): a send through a service may leave from any number of its pool,
and a number named on its own is refused when it belongs to a service the recipient opted out of. A failed read is
never taken for an empty pool: MembershipUnknown, and the command is delivered again (fail closed).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import requests
from twilio.base.exceptions import TwilioException

from sender.accounts import TwilioAccounts
from twilio_inbound.twilio_rest import describe_failure, twilio_failure


class MembershipUnknown(Exception):
    """Twilio could not say which numbers the service holds; the text says why."""


class ServicePools:
    def __init__(self, accounts: TwilioAccounts, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self._accounts = accounts
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[float, frozenset[str]]] = {}

    def members(self, account_sid: str, service_sid: str) -> frozenset[str]:
        """The service's phone numbers (E.164); empty for a service the account does not have (404)."""
        now = self._clock()
        cached = self._cache.get((account_sid, service_sid))
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            service = self._accounts.client(account_sid).messaging.v1.services(service_sid)
            pool = frozenset(str(number.phone_number) for number in service.phone_numbers.stream())
        except (TwilioException, requests.RequestException) as error:
            failure = twilio_failure(error)
            if failure is None or failure.status != 404:
                raise MembershipUnknown(
                    f"the numbers of Messaging Service {service_sid} could not be read: {describe_failure(error)}"
                ) from error
            pool = frozenset()
        self._cache[(account_sid, service_sid)] = (now + self._ttl, pool)
        return pool
