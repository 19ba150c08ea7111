"""One status callback, from API Gateway event to recorded status: the status function's use case.

Verified exactly as inbound webhooks are (same secret, signing mode and URL rules), before any field is read. Then
accepted only for a message this stack sent, of the callback's own account:

- a callback whose URL names a command (`?idempotencyKey=`, which the sender puts in every StatusCallback): the
  command must exist, be the callback's account's, and not name another message. If the command's outcome was not
  recorded yet (a callback before the sender's write, or after Twilio's answer was lost), the message is stored
  from the command's draft, with its body, inReplyTo, entry point and key.
- a callback whose URL names an inbound message (`?replyTo=`, which the ingest function puts on the TwiML
  <Message> it answers with): the message must be an inbound one of the callback's account, the webhook must have
  answered it (the ingest stored the reply in the same write as the message), and the callback must describe a
  message from the number it was sent to, back to its sender. The reply is stored in the thread from what the
  ingest stored (its body, inReplyTo, entry point), then its status recorded like any other.
- any other callback: only for an outbound message the table holds, unless the operator opted in to recording
  other applications' callbacks (ACCEPT_OTHER_STATUS_CALLBACKS).

A key's kind is read from the URL's query (delivery_status.StatusReport); each kind is a branch of `_may_create`,
with its own rule.

Raises RequestRejected (4xx), InvalidStatusCallback, NotOutbound, NotSentHere, OtherAccount, TokensUnavailable or
an AWS error; the handler maps each to an answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from status.settings import StatusSettings
from twilio_inbound.clock import iso_millis, just_after
from twilio_inbound.delivery_status import StatusReport, status_report
from twilio_inbound.messages_table import MessageStore
from twilio_inbound.outbound import OUTBOUND, Created, OutboundDraft, outbound_record, twiml_reply_draft
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
    messages: MessageStore  # the inbound message a TwiML reply answers
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
        if report.reply_to:  # a TwiML reply's: the ingest sets ?replyTo=<inbound MessageSid> on its <Message>
            self._check_reply(report)
            return True
        return self.settings.accept_other_callbacks

    def _check_reply(self, report: StatusReport) -> None:
        """The inbound message the callback names must be the account's, answered by the webhook, with this
        message going back to its sender; the reply is stored from what the ingest stored, unless it is already."""
        found = {item["messageSid"]: item for item in self.messages.read_many([report.reply_to, report.message_sid])}
        inbound = found.get(report.reply_to)
        if inbound is None or inbound.get("direction") == OUTBOUND or not inbound.get("reply"):
            raise NotSentHere("replyTo names no message this stack answered")
        if inbound["accountSid"] != report.account_sid:
            raise OtherAccount(report.message_sid)
        if (report.sender, report.to) != (inbound["to"], inbound["from"]):
            raise NotSentHere("the callback is not for a reply to the message replyTo names")
        if report.message_sid not in found:
            # Handed to Twilio as the webhook answered: in the thread right after the message it answers, whenever
            # its first callback comes (the customer may have written again meanwhile).
            self._store(twiml_reply_draft(inbound), report, at=just_after(str(inbound["receivedAt"])))

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
        self._store(intent.draft, report)
        if intent.state == "unknown":
            self.intents.found(intent.key, report.message_sid)

    def _store(self, draft: OutboundDraft, report: StatusReport, at: str = "") -> None:
        """The message, from what was decided before Twilio sent it, handed to Twilio `at`. Unless known, the
        callback's time is the nearest after Twilio's answer, which said when. It is stored with the status Twilio
        created it with (queued, or accepted when a Messaging Service picks the number), which no callback reports
        (Twilio's guide "Outbound Message Status in Status Callbacks"), so that subscribers hear it first whichever
        came first, this callback or the sender's record of Twilio's answer."""
        created = Created(report.message_sid, report.status, report.sender, report.num_segments, at or report.at)
        initial = replace(report, status="queued" if draft["from"] else "accepted", at=created.at, error_code=None)
        self.store.put_sent(outbound_record(draft, created), initial)
