"""One status callback, from API Gateway event to recorded status: the status function's use case.

Verified exactly as inbound webhooks are (same secret, signing mode and URL rules), before any field is read. Then
accepted only for a message this stack sent, of the callback's own account:

- a callback whose URL names a command (`?idempotencyKey=`, which the sender puts in every StatusCallback): the
  command must exist, be the callback's account's, and not name another message. If the command's outcome was not
  recorded yet (a callback before the sender's write, or after Twilio's answer was lost), the message is stored
  from the command's draft, with its body, inReplyTo, entry point and key.
- any other callback: only for an outbound message the table holds, unless the operator opted in to recording
  other applications' callbacks (ACCEPT_OTHER_STATUS_CALLBACKS).

A key's kind is read from the URL's query (delivery_status.StatusReport): another kind of key (a reply the stack
caused itself, say) is a new branch of `_may_create`, with its own rule.

Raises RequestRejected (4xx), InvalidStatusCallback, NotOutbound, NotSentHere, OtherAccount, TokensUnavailable or
an AWS error; the handler maps each to an answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from status.settings import StatusSettings
from twilio_inbound.clock import iso_millis
from twilio_inbound.delivery_status import StatusReport, status_report
from twilio_inbound.outbound import Created, outbound_record
from twilio_inbound.outbound_table import OutboundStore, StatusOutcome
from twilio_inbound.sends_table import SendIntent, SendIntentStore
from twilio_inbound.signature import SignatureVerifier

NOT_SENT_HERE = "MessageSid names no message this stack sent"


class NotOutbound(Exception):
    """The MessageSid names an inbound message: a status callback never describes one."""


class NotSentHere(Exception):
    """The callback names no message this stack sent (or a key no command used); the text says which."""


class OtherAccount(Exception):
    """The callback's AccountSid is not the account of the message (or command) it names."""


@dataclass(frozen=True)
class Recorded:
    report: StatusReport
    outcome: StatusOutcome  # moved (a status event follows), history (a late status), repeat


@dataclass(frozen=True)
class StatusCallbacks:
    settings: StatusSettings
    verifier: SignatureVerifier
    store: OutboundStore
    intents: SendIntentStore
    now: Callable[[], datetime]

    def receive(self, event: dict[str, Any]) -> Recorded:
        request, params = self.verifier.verified_form(
            event, self.settings.public_base_url, self.settings.max_body_bytes
        )

        report = status_report(params, request.query, iso_millis(self.now()))
        outcome = self.store.record_status(report, create=self._may_create(report))
        if outcome == "not-outbound":
            raise NotOutbound(report.message_sid)
        if outcome == "other-account":
            raise OtherAccount(report.message_sid)
        if outcome == "unknown":
            raise NotSentHere(NOT_SENT_HERE)
        return Recorded(report, outcome)

    def _may_create(self, report: StatusReport) -> bool:
        """Whether the callback may store a message the table does not hold yet (else it only updates one)."""
        if report.idempotency_key:  # a command's: the sender sets ?idempotencyKey=… on every StatusCallback
            self._check_command(report)
            return True
        return self.settings.accept_other_callbacks

    def _check_command(self, report: StatusReport) -> None:
        intent = self.intents.get(report.idempotency_key)
        if intent is None or intent.state in ("refused", "failed"):
            raise NotSentHere("idempotencyKey names no command this stack sent")
        if intent.account_sid != report.account_sid:
            raise OtherAccount(report.message_sid)
        if intent.message_sid and intent.message_sid != report.message_sid:
            raise NotSentHere("idempotencyKey names a command that sent another message")
        if intent.state in ("sending", "unknown"):
            self._store_from_draft(intent, report)

    def _store_from_draft(self, intent: SendIntent, report: StatusReport) -> None:
        """The callback came before the sender recorded Twilio's answer, or after it was lost: the message is
        stored from the command's draft, and a lost answer (unknown) becomes sent."""
        if intent.draft is None:
            return
        # Twilio's answer, which said when, is not known here: the callback's time is the nearest after it.
        created = Created(report.message_sid, report.status, report.sender, report.num_segments, report.at)
        self.store.put_sent(outbound_record(intent.draft, created))
        if intent.state == "unknown":
            self.intents.found(intent.key, report.message_sid)
