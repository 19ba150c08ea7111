"""One status callback, from API Gateway event to recorded status: the status function's use case.

Verified exactly as inbound webhooks are (same secret, signing mode and URL rules), before any field is read.
Raises RequestRejected (4xx), InvalidStatusCallback, NotOutbound, TokensUnavailable or an AWS error; the
handler maps each to an answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from status.settings import StatusSettings
from twilio_inbound.clock import iso_millis
from twilio_inbound.delivery_status import StatusReport, status_report
from twilio_inbound.outbound_table import OutboundStore, StatusOutcome
from twilio_inbound.signature import SignatureVerifier


class NotOutbound(Exception):
    """The MessageSid names an inbound message: a status callback never describes one."""


@dataclass(frozen=True)
class Recorded:
    report: StatusReport
    outcome: StatusOutcome  # moved (a status event follows), history (a late status), repeat


@dataclass(frozen=True)
class StatusCallbacks:
    settings: StatusSettings
    verifier: SignatureVerifier
    store: OutboundStore
    now: Callable[[], datetime]

    def receive(self, event: dict[str, Any]) -> Recorded:
        request, params = self.verifier.verified_form(
            event, self.settings.public_base_url, self.settings.max_body_bytes
        )

        report = status_report(params, request.query, iso_millis(self.now()))
        outcome = self.store.record_status(report)
        if outcome == "not-outbound":
            raise NotOutbound(report.message_sid)
        return Recorded(report, outcome)
