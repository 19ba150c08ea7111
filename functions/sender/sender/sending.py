"""One send command, from the queue's message to a message Twilio accepted (or a reason it was not sent): the
sender function's use case.

Idempotency: the command's intent is written, conditionally on its idempotencyKey, before Twilio is called, and
carries the MessageSid after. A redelivered command whose intent exists is never sent again. When a call's
outcome is unknown (a timeout after the request went out, or a delivery that ended before the answer was
recorded), the command is not sent again either: at most once. A duplicate SMS cannot be taken back and a
person reads it; a missing one is reported (a `message.status` event with status `unknown`), and if Twilio did
create it, its status callbacks still arrive, carrying the command's idempotencyKey (it is in the StatusCallback
URL), so the service learns the outcome. A service that prefers at least once resends with a new key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal
from urllib.parse import urlencode

from sender.accounts import TwilioAccounts
from sender.customer_window import CLOSED, TWILIO_ERROR, needs_window, window_opens_after
from sender.dead_letters import DeadLetters
from sender.service_pools import MembershipUnknown, ServicePools
from sender.twilio_call import OutcomeUnknown, PermanentFailure, RetryLater, create_message
from twilio_inbound.clock import iso_millis
from twilio_inbound.delivery_status import StatusReport
from twilio_inbound.message import conversation_key
from twilio_inbound.messages_table import MessageStore
from twilio_inbound.numbers import NumberConfig
from twilio_inbound.numbers_table import NumberRegistry
from twilio_inbound.opt_out_rule import SenderIdentity
from twilio_inbound.opt_outs_table import OptOutStore
from twilio_inbound.outbound import (
    IDEMPOTENCY_QUERY,
    OUTBOUND,
    SERVICE_PATTERN,
    MalformedCommand,
    Refused,
    Route,
    SendCommand,
    check_same_channel,
    outbound_draft,
    outbound_record,
    parse_command,
)
from twilio_inbound.outbound_table import OutboundStore
from twilio_inbound.publishing import Publisher
from twilio_inbound.sends_table import IntentState, SendIntent, SendIntentStore
from twilio_inbound.status_event import status_data_from_intent, status_data_from_item, status_outgoing
from twilio_inbound.twilio_rest import Backoff

OutcomeKind = Literal["sent", "duplicate", "refused", "failed", "unknown", "malformed"]
REUSED_KEY = "idempotencyKey already used for a different command"
_SETTLED: dict[str, OutcomeKind] = {"refused": "refused", "failed": "failed", "unknown": "unknown"}
OPTED_OUT = 21610  # Twilio's "Attempt to send to unsubscribed recipient", for the same refusal
LOST_ANSWER = "an earlier delivery of this command ended before Twilio's answer was recorded: not sent again"


class SendLater(Exception):
    """Nothing was sent; SQS delivers the command again after its visibility timeout (on its last delivery, the
    sender gives it up instead). `in_flight`: another delivery may be calling Twilio, and will settle it."""

    def __init__(self, reason: str, *, in_flight: bool = False) -> None:
        super().__init__(reason)
        self.in_flight = in_flight


class PublishFailed(Exception):
    """An outcome event was refused (SNS or EventBridge); the command is delivered again and the event republished."""


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    key: str = ""
    message_sid: str = ""
    reason: str = ""
    error_code: int | None = None


@dataclass(frozen=True)
class Sender:
    intents: SendIntentStore
    messages: MessageStore
    outbound: OutboundStore
    registry: NumberRegistry
    optouts: OptOutStore
    pools: ServicePools
    publisher: Publisher  # the stack's events: its topic, its bus, or both
    dead_letters: DeadLetters
    accounts: TwilioAccounts
    status_callback_url: str
    in_flight_seconds: int  # a "sending" intent younger than this may belong to a delivery still calling Twilio
    max_deliveries: int  # the queue's maxReceiveCount: the last delivery gives a command up rather than retry it
    backoff: Backoff
    now: Callable[[], datetime]
    sleep: Callable[[float], None]

    def handle(self, body: str, message_id: str, delivery: int = 1, *, time_left: bool = True) -> Outcome:
        """Raises SendLater, PublishFailed, TokensUnavailable or an AWS error: the command is delivered again.
        `delivery`: SQS's receive count; on the last one the queue allows, a command that would be delivered again
        is given up instead (a `failed` event, and the dead-letter queue with the reason). `time_left`: False when
        the invocation has not the time a command may take (then it is not started)."""
        try:
            command = parse_command(body)
        except MalformedCommand as error:
            self.dead_letters.send(body, str(error), message_id)
            return Outcome("malformed", reason=str(error))
        try:
            if not time_left:
                raise SendLater("not enough time left in this invocation")
            return self._handle(body, message_id, command)
        except SendLater as later:
            if delivery < self.max_deliveries or later.in_flight:
                raise
            return self.give_up(command, body, message_id, f"{later}: given up after {delivery} deliveries")

    def _handle(self, body: str, message_id: str, command: SendCommand) -> Outcome:
        existing = self.intents.get(command.idempotency_key)
        if existing is not None and existing.state != "pending":
            return self._again(body, message_id, command, existing)
        route: Route | None = None
        try:
            route = self._route(command)
            identity = self._identity(route)
            self._check_opt_outs(route, identity)
            self._check_window(command, route, identity)
        except MembershipUnknown as error:
            raise SendLater(str(error)) from error
        except Refused as refusal:
            intent = self._intent(
                command, "refused", route, reason=str(refusal), reported=False, code=refusal.error_code
            )
            return self._first(body, message_id, command, intent) or self._report(intent)
        intent = replace(self._intent(command, "sending", route), draft=outbound_draft(command, route))
        return self._first(body, message_id, command, intent) or self._send(command, route, intent)

    def give_up(self, command: SendCommand, body: str, message_id: str, reason: str) -> Outcome:
        """The command will not be delivered again: its outcome is `failed` with the reason (a `message.status`
        event), and it goes to the dead-letter queue with the same reason, for a replay once the cause is fixed.
        Nothing was sent: a command whose call may have reached Twilio is never given up here."""
        existing = self.intents.get(command.idempotency_key)
        if existing is None or existing.state == "pending":  # never decided, or its last call sent nothing
            intent = replace(existing or self._intent(command, "failed"), state="failed", reason=reason, reported=False)
            found = self.intents.claim(intent)
            if found is None:
                self.dead_letters.send(body, reason, message_id)
                return self._report(intent)
            existing = found
        # Decided by another delivery (or still being sent by one): that delivery reports it.
        return Outcome("duplicate", existing.key, existing.message_sid, existing.reason, existing.error_code)

    # ---- a command seen before
    def _again(self, body: str, message_id: str, command: SendCommand, intent: SendIntent) -> Outcome:
        if intent.fingerprint != command.fingerprint():
            self.dead_letters.send(body, REUSED_KEY, message_id)
            return Outcome("malformed", command.idempotency_key, reason=REUSED_KEY)
        if intent.state == "pending":  # another delivery released it between our read and our write
            raise SendLater("another delivery of this command changed its state meanwhile", in_flight=True)
        if intent.state == "sending":
            if self._seconds() - intent.claimed_at < self.in_flight_seconds:
                raise SendLater("another delivery of this command may still be calling Twilio", in_flight=True)
            # The delivery that called Twilio ended without recording the answer: it may have sent the message.
            self.intents.settle(intent.key, "unknown", LOST_ANSWER)
            return self._report(replace(intent, state="unknown", reason=LOST_ANSWER))
        # Whoever sends a command again hears its outcome again, under the same event id (subscribers dedupe).
        if intent.state == "sent":
            self._store(intent)  # the delivery that sent it may have ended before the message was stored
            self._republish_status(intent.message_sid)
        else:
            self._report(intent)
        return Outcome("duplicate", intent.key, intent.message_sid, intent.reason, intent.error_code)

    def _first(self, body: str, message_id: str, command: SendCommand, intent: SendIntent) -> Outcome | None:
        """Writes the command's first intent; None when it did, else what an earlier delivery decided."""
        found = self.intents.claim(intent)
        return None if found is None else self._again(body, message_id, command, found)

    def _seconds(self) -> int:
        return int(self.now().timestamp())

    # ---- who sends to whom
    def _route(self, command: SendCommand) -> Route:
        if command.in_reply_to:
            return self._reply_route(command)
        if command.sender_kind == "name":
            named = self.registry.named(command.sender)
            if len(named) != 1:
                problem = "is not the name of a registered number" if not named else "names several numbers"
                raise Refused(f"from: {command.sender!r} {problem}")
            config: NumberConfig | None = named[0]
        else:
            config = self.registry.lookup(command.sender)
        number = _enabled(config, command.sender)
        service = number if SERVICE_PATTERN.fullmatch(number) else ""
        sender = "" if service else number
        if sender:
            check_same_channel(sender, command.to)
        return Route(
            account_sid=self.accounts.account_for(command.account_sid),
            sender=sender,
            service_sid=service,
            to=command.to,
            conversation=conversation_key(sender, command.to) if sender else "",
            entry_point=config.entry_point() if config else None,
        )

    def _reply_route(self, command: SendCommand) -> Route:
        """Sender, recipient, channel and account from the inbound message: the reply goes back where it came from
        (a WhatsApp message is answered on WhatsApp)."""
        inbound = self.messages.get(command.in_reply_to)
        if inbound is None or inbound.get("direction") == OUTBOUND:
            raise Refused(f"inReplyTo: {command.in_reply_to} is not a stored inbound message")
        ours, theirs = str(inbound["to"]), str(inbound["from"])
        config = self.registry.lookup(ours, str(inbound.get("messagingServiceSid", "")))
        _enabled(config, ours)
        return Route(
            account_sid=self.accounts.account_for(command.account_sid or str(inbound.get("accountSid", ""))),
            sender=ours,
            service_sid="",
            to=theirs,
            conversation=str(inbound.get("conversation") or conversation_key(ours, theirs)),
            entry_point=config.entry_point() if config else None,
            sender_service=str(inbound.get("messagingServiceSid", "")),
        )

    # ---- the opt-out rule, once, on the identities the route resolves to
    def _identity(self, route: Route) -> SenderIdentity:
        """The numbers the message may leave from (a service's whole pool) and the services they belong to; raises
        MembershipUnknown when a pool cannot be read."""
        if route.service_sid:
            pool = self.pools.members(route.account_sid, route.service_sid)
            return SenderIdentity.of_service(route.service_sid, pool, route.to)
        services = frozenset({route.sender_service} if route.sender_service else ())
        return SenderIdentity(frozenset({route.sender}), services, services_known=bool(services))

    def _check_opt_outs(self, route: Route, identity: SenderIdentity) -> None:
        """Refused when the recipient opted out of the sending number or of its Messaging Service; raises
        MembershipUnknown or an AWS error when that cannot be known (nothing is sent)."""
        reason = self.optouts.refusal(
            identity, route.to, lambda service: self.pools.members(route.account_sid, service)
        )
        if reason:
            raise Refused(reason, OPTED_OUT)

    def _check_window(self, command: SendCommand, route: Route, identity: SenderIdentity) -> None:
        """Refused when a free-form WhatsApp message's window is closed: no message from the customer, in the
        stored thread of any number it may leave from, since the window's start (customer_window.py)."""
        if not needs_window(route.to, command.template):
            return
        since = window_opens_after(self.now())
        for number in sorted(identity.numbers):
            if self.messages.latest(conversation_key(number, route.to), "inbound", since) is not None:
                return
        raise Refused(CLOSED, TWILIO_ERROR)

    # ---- the call
    def _send(self, command: SendCommand, route: Route, intent: SendIntent) -> Outcome:
        key = command.idempotency_key
        callback = f"{self.status_callback_url}?{urlencode({IDEMPOTENCY_QUERY: key})}"
        try:
            client = self.accounts.client(route.account_sid)
            created = create_message(
                client,
                route,
                body=command.body,
                media_urls=command.media_urls,
                content_sid=command.content_sid,
                content_variables=command.content_variables,
                status_callback=callback,
                backoff=self.backoff,
                sleep=self.sleep,
                now=lambda: iso_millis(self.now()),
            )
        except RetryLater as error:
            self.intents.release(key)
            raise SendLater(error.reason) from error
        except (PermanentFailure, OutcomeUnknown) as error:
            state: Literal["failed", "unknown"] = "failed" if isinstance(error, PermanentFailure) else "unknown"
            self.intents.settle(key, state, error.reason, error.error_code)
            return self._report(
                self._intent(command, state, route, reason=error.reason, reported=False, code=error.error_code)
            )
        except Exception:
            self.intents.release(key)  # a fault of ours (credentials, a bug): nothing was sent
            raise
        # The answer first: a delivery that ends before the message is stored leaves it for the next one.
        self.intents.sent(key, created)
        self._store(replace(intent, state="sent", message_sid=created.message_sid, created=created))
        return Outcome("sent", key, created.message_sid)

    def _store(self, intent: SendIntent) -> None:
        """Stores the message Twilio created, with its body and first status, from the intent's draft and answer
        (a no-op when it is stored already: a redelivery, or a status callback came first)."""
        if intent.draft is None or intent.created is None:
            return  # an intent written before drafts were kept: its message was stored by the delivery that sent it
        first = StatusReport(
            message_sid=intent.created.message_sid,
            status=intent.created.status,
            at=intent.created.at,
            account_sid=intent.draft["accountSid"],
            sender=intent.created.sender or intent.draft["from"],
            to=intent.draft["to"],
            messaging_service_sid=intent.draft["messagingServiceSid"],
            idempotency_key=intent.key,
        )
        if not self.outbound.put_sent(outbound_record(intent.draft, intent.created), first):
            self.outbound.record_status(first)  # a callback created the item first: the status goes by its rank

    # ---- outcomes without a message
    def _intent(
        self,
        command: SendCommand,
        state: IntentState,
        route: Route | None = None,
        *,
        reason: str = "",
        reported: bool = True,
        code: int | None = None,
    ) -> SendIntent:
        return SendIntent(
            key=command.idempotency_key,
            state=state,
            fingerprint=command.fingerprint(),
            error_code=code,
            reason=reason,
            reported=reported,
            claimed_at=self._seconds(),
            to=route.to if route else command.to,
            sender=(route.sender or route.service_sid) if route else command.sender,
            account_sid=route.account_sid if route else command.account_sid,
            in_reply_to=command.in_reply_to,
        )

    def _republish_status(self, message_sid: str) -> None:
        """The message's current status event, as the fanout published it (none before its first status)."""
        item = self.messages.get(message_sid)
        if item is None or "status" not in item:
            return
        if self.publisher.publish_batch([status_outgoing(0, status_data_from_item(item))]):
            raise PublishFailed(message_sid)

    def _report(self, intent: SendIntent) -> Outcome:
        """Publishes the event of an outcome without a message, then notes it was published."""
        if self.publisher.publish_batch([status_outgoing(0, status_data_from_intent(intent, iso_millis(self.now())))]):
            raise PublishFailed(intent.key)
        if not intent.reported:
            self.intents.mark_reported(intent.key)
        return Outcome(_SETTLED[intent.state], intent.key, intent.message_sid, intent.reason, intent.error_code)


def _enabled(config: NumberConfig | None, named: str) -> str:
    """The registered number to send from; only registered, enabled numbers send."""
    if config is None:
        raise Refused(f"from: {named} is not a registered number")
    if not config.enabled:
        raise Refused(f"from: {config.number} is disabled")
    return config.number
