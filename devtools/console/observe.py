"""Where the console hooks into the local stack: every function's invocations, as the local stack makes them.

`Observer.observe(name, invoke)` wraps a function's invoke, and notes in the journal what went in and what came
out: a webhook request and its answer (/sms, /status), the stream records the fanout function got (the stored
items, decoded), the queue messages a subscriber or the sender got and whether it processed them. `published`
takes what the console's own subscription to the topic received: every event the stack published. Nothing here
decides anything the pipeline decides; a failure to note something is logged and never reaches the function.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from devtools.console.journal import Flow, Journal, Step, now
from devtools.twilio_api import twiml
from twilio_inbound.cloudevent import EVENT_TYPE, MEDIA_ARCHIVED_TYPE
from twilio_inbound.message import channel_of
from twilio_inbound.message_item import item_values
from twilio_inbound.outbound import OUTBOUND
from twilio_inbound.status_event import STATUS_EVENT_TYPE

log = logging.getLogger("twilio_inbound.console")
Invoke = Callable[[dict[str, Any]], Any]
_PROBLEM_STATUSES = {"failed", "undelivered", "refused", "unknown", "canceled"}


def twiml_replies(answer: str) -> list[str]:
    """The text of each <Message> in a TwiML answer, read as the Twilio API stand-in reads it."""
    return [reply.body for reply in twiml.replies(answer, "")]


def _form(event: dict[str, Any]) -> dict[str, str]:
    try:
        raw = base64.b64decode(event.get("body") or "") if event.get("isBase64Encoded") else event.get("body") or ""
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    except (binascii.Error, ValueError):
        return {}
    return dict(parse_qsl(text, keep_blank_values=True))


def _answer(result: Any) -> tuple[int, str]:
    if not isinstance(result, dict):
        return 500, "the function raised"
    body = str(result.get("body") or "")
    if result.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8", "replace")
    return int(result.get("statusCode", 200)), body


def _failed(result: Any) -> set[str] | None:
    """The identifiers a batch reported as failed; None when the function raised (the whole batch failed)."""
    if result is None:
        return None
    failures = result.get("batchItemFailures", []) if isinstance(result, dict) else []
    return {str(failure["itemIdentifier"]) for failure in failures}


def event_key(event: dict[str, Any]) -> str:
    """The flow a CloudEvent belongs to: its message, or the send command that produced no message."""
    data = event.get("data") or {}
    return str(data.get("messageSid") or data.get("idempotencyKey") or event.get("id", ""))


class Observer:
    def __init__(self, journal: Journal, queue_names: Callable[[str], str]) -> None:
        self.journal = journal
        self._queue_name = queue_names  # a queue ARN -> the name a person knows it by
        self._requests = 0

    def observe(self, function: str, invoke: Invoke) -> Invoke:
        """`invoke`, noting what it was given (a stored item: before the function publishes it) and, once it
        returned or raised, what came of it."""

        def observed(event: dict[str, Any]) -> Any:
            started = now()
            self._safely(self._given, function, event)
            result = None
            try:
                result = invoke(event)
                return result
            finally:
                self._safely(self._done, function, event, result, started)

        return observed

    def _safely(self, note: Callable[..., None], *arguments: Any) -> None:
        try:
            note(*arguments)
        except Exception:  # a spectator: the function's answer must not depend on the console
            log.exception("console: could not note an invocation of %s", arguments[0])

    def _given(self, function: str, event: dict[str, Any]) -> None:
        records = event.get("Records") or []
        if records and records[0].get("eventSource") == "aws:dynamodb":
            self._stored(records)
        for command in (_json(record.get("body")) for record in records if record.get("eventSource") == "aws:sqs"):
            if command and "specversion" not in command and command.get("idempotencyKey"):
                self._command_given(command)

    def _done(self, function: str, event: dict[str, Any], result: Any, started: datetime) -> None:
        if "routeKey" in event:
            self._request(event["rawPath"], event, result, started)
            return
        records = event.get("Records") or []
        if records and records[0].get("eventSource") == "aws:dynamodb":
            self._not_published(records, _failed(result))
        elif records:
            self._delivered(function, records, _failed(result), started)

    # ---- the webhook routes
    def _request(self, path: str, event: dict[str, Any], result: Any, started: datetime) -> None:
        form = _form(event)
        status, answer = _answer(result)
        problem = status >= 400
        self._requests += 1
        key = form.get("MessageSid") or f"request-{self._requests}"
        if path == "/status":
            self._status_callback(key, form, status, answer, started)
            return
        replies = twiml_replies(answer)
        summary = f"webhook answered {status}"
        summary += f": refused, {answer.strip()}" if problem else f", reply: {replies[0]}" if replies else ", no reply"
        detail = {"request": {"path": path, "form": form}, "answer": {"status": status, "body": answer}}
        self.journal.record(
            key,
            Step("webhook", summary, detail, problem, started),
            direction="inbound",
            sender=form.get("From", ""),
            to=form.get("To", ""),
            body=form.get("Body", ""),
            channel=channel_of(form.get("From", ""), form.get("To", ""), int(form.get("NumMedia") or 0)),
            state=f"refused {status}" if problem else f"answered {status}",
        )

    def _status_callback(self, key: str, form: dict[str, str], status: int, answer: str, started: datetime) -> None:
        reported = form.get("MessageStatus", "?")
        error = f" (error {form['ErrorCode']})" if form.get("ErrorCode") else ""
        refused = status >= 400
        summary = f"status callback: {reported}{error}, answered {status}" + (f": {answer.strip()}" if refused else "")
        detail = {"form": form, "answer": {"status": status, "body": answer}}
        problem = refused or bool(error) or reported in _PROBLEM_STATUSES
        self.journal.record(key, Step("status", summary, detail, problem, started))

    # ---- the stream (what the fanout function was given)
    def _stored(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            image = record.get("dynamodb", {}).get("NewImage")
            if not image:
                continue
            values = item_values(image)
            key = str(values.get("messageSid", ""))
            summary = f"stored ({record.get('eventName', '')})"
            if values.get("direction") == OUTBOUND:
                summary += f": status {values['status']}" if values.get("status") else ": the message as sent"
                self._outbound_stored(key, values)
            self.journal.record(
                key,
                Step("stored", summary, values),
                record=values,
                direction=str(values.get("direction") or "inbound"),
                sender=str(values.get("from", "")),
                to=str(values.get("to", "")),
                body=str(values.get("body", "")),
                channel=str(values.get("channel", "")),
            )

    def _not_published(self, records: list[dict[str, Any]], failed: set[str] | None) -> None:
        for record in records:
            change = record.get("dynamodb", {})
            if failed is not None and str(change.get("SequenceNumber", "")) not in failed:
                continue
            key = str(change.get("Keys", {}).get("messageSid", {}).get("S", ""))
            summary = "the fanout function failed on this change: the stream hands it over again (then its DLQ)"
            self.journal.record(key, Step("stored", summary, None, True))

    def _outbound_stored(self, key: str, values: dict[str, Any]) -> None:
        command = str(values.get("idempotencyKey", ""))
        if command:
            self.journal.rekey(command, key)
        if values.get("inReplyTo"):
            self.journal.link(key, str(values["inReplyTo"]))
        if values.get("status"):
            self.journal.record(key, state=str(values["status"]))

    # ---- queues: subscribers, the media function, the sender
    def _delivered(
        self, function: str, records: list[dict[str, Any]], failed: set[str] | None, started: datetime
    ) -> None:
        for record in records:
            queue = self._queue_name(str(record.get("eventSourceARN", "")))
            ok = failed is not None and record["messageId"] not in failed
            body = _json(record["body"])
            if body is None:
                continue
            if "specversion" in body:
                outcome = "processed" if ok else "failed: it goes back to the queue, then to its DLQ"
                line = f"{queue} → {function}: {outcome}"
                self.journal.update(event_key(body), _received(str(body.get("id", "")), line))
                step = Step("received", f"{body.get('type')}: {line}", None, not ok, started)
                self.journal.record(event_key(body), step)
            else:
                self._command(function, queue, body, ok, started)

    def _command_given(self, command: dict[str, Any]) -> None:
        """A send command, as the sender is handed it (what it leads to is published while the sender runs)."""
        key = str(command["idempotencyKey"])
        self.journal.record(
            key, direction="outbound", body=str(command.get("body", "")), to=str(command.get("to", "")), state="sending"
        )
        if command.get("inReplyTo"):
            self.journal.link(key, str(command["inReplyTo"]))

    def _command(self, function: str, queue: str, command: dict[str, Any], ok: bool, started: datetime) -> None:
        key = str(command.get("idempotencyKey") or "")
        if not key:
            return
        outcome = "taken" if ok else "failed: SQS delivers it again"
        target = f"in reply to {command['inReplyTo']}" if command.get("inReplyTo") else f"to {command.get('to', '')}"
        step = Step("send", f"send command {target}: {queue} → {function}: {outcome}", command, not ok, started)
        self.journal.record(key, step)

    # ---- the console's own subscription: every event published
    def published(self, event: dict[str, Any], at: datetime) -> None:
        """An event the console's own subscription received (`at`: when SNS put it in the console's queue)."""
        key = event_key(event)
        kind = str(event.get("type", ""))
        data = event.get("data") or {}
        summary = f"published {kind}"
        problem = False
        fields: dict[str, Any] = {}
        if kind == STATUS_EVENT_TYPE:
            status = str(data.get("status", ""))
            problem = status in _PROBLEM_STATUSES
            reason = f": {data['reason']}" if data.get("reason") else ""
            error = f" (error {data['errorCode']})" if data.get("errorCode") else ""
            summary += f": {status}{error}{reason}"
            fields = {"state": status, "direction": "outbound", "to": data.get("to"), "sender": data.get("from")}
            if data.get("inReplyTo"):
                self.journal.link(key, str(data["inReplyTo"]))
        elif kind == MEDIA_ARCHIVED_TYPE:
            media = list(data.get("media") or [])
            archived = sum(1 for item in media if item.get("archived"))
            problem = archived < len(media)
            summary += f": {archived} of {len(media)} archived"
            fields = {"media": media}
        elif kind == EVENT_TYPE:
            fields = {"channel": data.get("channel")}
        self.journal.update(key, lambda flow: flow.events.__setitem__(str(event.get("id", "")), event))
        self.journal.record(key, Step("published", summary, event, problem, at), **fields)


def _json(text: Any) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _received(event_id: str, line: str) -> Callable[[Flow], None]:
    def add(flow: Flow) -> None:
        flow.received.setdefault(event_id, []).append(line)

    return add
