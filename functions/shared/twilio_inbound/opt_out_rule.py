"""Who may be sent to: the opt-out rule, checked once against the identities a message leaves from.

An opt-out belongs to a recipient and to what they opted out of (OptOutChange.scopes): a Messaging Service, when
their STOP came through one (Twilio keeps opt-outs per service: a STOP to any number of a service is a STOP to all
of it), else the number they texted. So before any check, whatever a message names as its sender (a number, a
Messaging Service SID, an entry point's name, the inbound message it answers) is resolved into a SenderIdentity:
the number(s) it may leave from and the Messaging Service(s) they belong to. `refusal` is the rule.

Pure domain code: the opt-out state and the services' numbers are read by the callers' adapters.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from twilio_inbound.message import MessageRecord


@dataclass(frozen=True)
class SenderIdentity:
    numbers: frozenset[str]  # the number the message leaves from, or every number of the service's pool
    services: frozenset[str]  # the Messaging Services those numbers belong to, as far as known
    # True when `services` is known to be complete: a service's own pool (a number belongs to one service at
    # most), or an inbound message that named its service. False for a number named by a command: which service
    # it belongs to is looked up, for the services the recipient has opted out of.
    services_known: bool = False
    pool_of: str = ""  # the Messaging Service whose pool `numbers` is, for a send through it

    @property
    def scopes(self) -> frozenset[str]:
        return self.numbers | self.services

    @classmethod
    def of_inbound(cls, record: MessageRecord) -> SenderIdentity:
        """What answers an inbound message leaves from: the number it was sent to, in the service Twilio named."""
        service = record["messagingServiceSid"]
        return cls(frozenset({record["to"]}), frozenset({service} if service else ()), services_known=True)

    @classmethod
    def of_service(cls, service: str, pool: Collection[str], recipient: str) -> SenderIdentity:
        """A send through a Messaging Service: Twilio picks any number of its pool, addressed on the recipient's
        channel (whatsapp:+1…, as the opt-outs of a WhatsApp sender are kept)."""
        scheme, colon, _ = recipient.rpartition(":")
        numbers = frozenset(f"{scheme}{colon}{number}" for number in pool)
        return cls(numbers, frozenset({service}), services_known=True, pool_of=service)


def refusal(
    identity: SenderIdentity,
    opted_out: Collection[str],
    opted_out_services: Collection[str] = (),
    members: Callable[[str], frozenset[str]] | None = None,
) -> str | None:
    """Why the recipient may not be sent to from `identity`, or None.

    `opted_out`: the scopes of the identity the recipient is opted out of. `opted_out_services`: every Messaging
    Service they are opted out of, and `members(service)` its numbers (E.164), for an identity whose services are
    not known: a number named on its own is refused when it belongs to one of those services.
    """
    for scope in sorted(opted_out):
        if scope in identity.services:
            return f"the recipient has opted out of Messaging Service {scope} (STOP)"
        of = f", a number of Messaging Service {identity.pool_of}" if identity.pool_of else ""
        return f"the recipient has opted out of {scope}{of} (STOP)"
    if identity.services_known:
        return None
    if members is None:
        raise ValueError("a number whose services are not known needs members() to find them")
    numbers = {number.rpartition(":")[2] for number in identity.numbers}  # whatsapp:+1… is +1… of a pool
    for service in sorted(set(opted_out_services) - identity.services):
        shared = numbers & members(service)
        if shared:
            return f"the recipient has opted out of Messaging Service {service}, which {min(shared)} belongs to (STOP)"
    return None
