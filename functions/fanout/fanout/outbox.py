"""The stream is the outbox: each batch of new-message records becomes CloudEvents on SNS, in stream order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from twilio_inbound.message import MessageRecord
from twilio_inbound.messages_table import record_from_item
from twilio_inbound.opt_outs_table import OptOutStore
from twilio_inbound.publishing import TopicPublisher, batches, outgoing_for


@dataclass
class FanoutResult:
    published: int = 0
    skipped: int = 0  # messages to disabled numbers: recorded, never published
    retry: list[str] = field(default_factory=list)  # sequence numbers for Lambda to retry, in stream order
    problems: list[str] = field(default_factory=list)  # what went wrong, safe to log (no message content)


def _new_messages(records: list[dict[str, Any]], result: FanoutResult) -> tuple[list[tuple[int, MessageRecord]], int]:
    """The new messages to publish, up to the first unusable record, and that record's index (or len)."""
    stored: list[tuple[int, MessageRecord]] = []
    for position, record in enumerate(records):
        if record.get("eventName") != "INSERT":
            continue  # TTL expiry and other changes are not new messages
        try:
            message = record_from_item(record["dynamodb"]["NewImage"])
        except (KeyError, TypeError, ValueError) as error:
            result.problems.append(f"unusable stream record {record.get('eventID')}: {error!r}")
            return stored, position
        if message.get("delivered") is False:
            result.skipped += 1
            continue
        stored.append((position, message))
    return stored, len(records)


def fan_out(records: list[dict[str, Any]], topic: TopicPublisher, optouts: OptOutStore) -> FanoutResult:
    """Publishes the records' events in stream order.

    At the first record that cannot be built or published, that record and all after it are returned for
    retry, so Lambda resumes there (bisecting, a bounded number of times, then the on-failure destination).
    Later batches are not published by this call: they would only be published twice.
    """
    result = FanoutResult()
    stored, retry_from = _new_messages(records, result)
    try:
        outgoing = outgoing_for(stored, optouts)
    except (BotoCoreError, ClientError, RuntimeError) as error:
        result.problems.append(f"opt-out state unavailable: {type(error).__name__}")
        outgoing, retry_from = [], min([retry_from, *(position for position, _ in stored)])
    for batch in batches(outgoing):
        try:
            failed = topic.publish_batch(batch)
        except (BotoCoreError, ClientError) as error:
            result.problems.append(f"PublishBatch failed: {type(error).__name__}")
            failed = list(batch)
        result.published += len(batch) - len(failed)
        if failed:
            result.problems.append("not published: " + ", ".join(item.message_sid for item in failed))
            retry_from = min(retry_from, *(item.position for item in failed))
            break
    result.retry = [record["dynamodb"]["SequenceNumber"] for record in records[retry_from:]]
    return result
