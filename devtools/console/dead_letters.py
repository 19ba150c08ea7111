"""The stack's dead-letter queues as the console shows them: what is in each, why, and the CLI's own replay.

A replay button runs exactly what the command line runs: `twilio-inbound replay --from-dlq` for the fanout's
stream batches, `twilio-inbound media replay` for media; the others say what to do (`doctor`'s advice).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twilio_inbound_cli import media_command, replay_command
from twilio_inbound_cli.doctor_checks import DLQ_FIXES, DLQ_SUFFIX
from twilio_inbound_cli.target import Target

PEEK = 10  # dead letters shown per queue (SQS hands out at most 10 per receive)
ADVICE = {
    **DLQ_FIXES,
    "MediaDeadLetterQueueUrl": "`twilio-inbound media replay` moves them back to the media queue: archived again",
    "OutboundDeadLetterQueueUrl": "send commands that could never be sent as written (the reason says why) or "
    "that kept failing: fix the command and send it again",
}


def _replay_stream_batches(target: Target) -> str:
    result = replay_command.replay_dead_letters(target)
    kept = f"; kept: {'; '.join(result.dead_letters_kept)}" if result.dead_letters_kept else ""
    return f"republished {len(result.published)} message(s) from {result.dead_letters_done} dead letter(s){kept}"


def _replay_media(target: Target) -> str:
    return f"moved {media_command.replay_dead_letters(target)} dead letter(s) back to the media queue"


REPLAYS: dict[str, Callable[[Target], str]] = {
    "FanoutDeadLetterQueueUrl": _replay_stream_batches,
    "MediaDeadLetterQueueUrl": _replay_media,
}


@dataclass(frozen=True)
class DeadLetter:
    body: Any  # JSON when it is, else the text
    reason: str  # the `reason` attribute the sender sets, or what the body says
    message_sid: str  # the message it is about, when the body names one


@dataclass(frozen=True)
class DeadLetterQueue:
    name: str  # the output's name without "Url": FanoutDeadLetterQueue
    url: str
    count: int
    letters: list[DeadLetter]
    advice: str
    replayable: bool


def queue_outputs(outputs: dict[str, str]) -> dict[str, str]:
    """The stack's dead-letter queues: output name -> URL."""
    return {name: url for name, url in sorted(outputs.items()) if name.endswith(DLQ_SUFFIX) and url}


def counts(sqs: Any, outputs: dict[str, str]) -> dict[str, int]:
    """How many dead letters each queue holds (waiting or being read)."""
    found = {}
    for name, url in queue_outputs(outputs).items():
        attributes = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        found[name] = sum(int(value) for value in attributes.values())
    return found


def _letter(message: dict[str, Any]) -> DeadLetter:
    try:
        body: Any = json.loads(message["Body"])
    except ValueError:
        body = message["Body"]
    attributes = message.get("MessageAttributes", {})
    reason = str(attributes.get("reason", {}).get("StringValue", ""))
    sid = ""
    if isinstance(body, dict):
        data: dict[str, Any] = body["data"] if isinstance(body.get("data"), dict) else body
        sid = str(data.get("messageSid") or data.get("inReplyTo") or "")
        condition = body.get("requestContext", {}).get("condition", "")
        reason = reason or (f"{condition}: a stream range the fanout function gave up on" if condition else "")
    return DeadLetter(body, reason, sid)


def peek(sqs: Any, outputs: dict[str, str]) -> list[DeadLetterQueue]:
    """Each dead-letter queue with up to PEEK of its letters, read without taking them (visible again at once)."""
    queues = []
    found = counts(sqs, outputs)
    for name, url in queue_outputs(outputs).items():
        letters: list[dict[str, Any]] = []
        if found[name]:
            letters = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=PEEK, VisibilityTimeout=0, MessageAttributeNames=["All"]
            ).get("Messages", [])
        queues.append(
            DeadLetterQueue(
                name=name.removesuffix("Url"),
                url=url,
                count=found[name],
                letters=[_letter(message) for message in letters],
                advice=ADVICE.get(name, ""),
                replayable=name in REPLAYS,
            )
        )
    return queues


def replay(target: Target, name: str) -> str:
    """Runs the CLI's replay for the queue `name` (FanoutDeadLetterQueue, MediaDeadLetterQueue); what it did."""
    run = REPLAYS.get(f"{name}Url")
    if run is None:
        raise KeyError(f"{name} has no replay")
    return run(target)
