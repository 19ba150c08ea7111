"""Stream records in, CloudEvents out to SNS with PublishBatch: 10 per call, within SNS's size limit."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from twilio_inbound.cloudevent import build_event, encode, message_attributes
from twilio_inbound.dynamo import from_item
from twilio_inbound.registry import OptOutStore

MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 256 * 1024  # SNS's limit for one message and for a whole PublishBatch


@dataclass(frozen=True)
class Outgoing:
    position: int  # the stream record's index in the batch Lambda handed us
    message_sid: str
    message: str
    attributes: dict[str, dict[str, str]]

    @property
    def size(self) -> int:
        attributes = sum(
            len(name) + len(value["DataType"]) + len(value["StringValue"].encode())
            for name, value in self.attributes.items()
        )
        return len(self.message.encode()) + attributes


def outgoing_for(stored: Sequence[tuple[int, dict[str, Any]]], optouts: OptOutStore) -> list[Outgoing]:
    """The events for stored records (position, record), with each sender's current opt-out state.

    One BatchGetItem per 100 senders; AWS errors propagate.
    """
    opted_out = optouts.opted_out((record["to"], record["from"]) for _, record in stored)
    return [
        Outgoing(
            position=position,
            message_sid=record["messageSid"],
            message=encode(build_event(record, (record["to"], record["from"]) in opted_out)),
            attributes=message_attributes(record),
        )
        for position, record in stored
    ]


def batches(outgoing: Sequence[Outgoing]) -> Iterator[list[Outgoing]]:
    batch: list[Outgoing] = []
    size = 0
    for item in outgoing:
        if batch and (len(batch) == MAX_BATCH_ENTRIES or size + item.size > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += item.size
    if batch:
        yield batch


class TopicPublisher:
    def __init__(self, client: Any, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn

    def publish_batch(self, batch: Sequence[Outgoing]) -> list[Outgoing]:
        """Publishes one batch; returns the entries SNS did not accept. AWS errors propagate."""
        response = self._client.publish_batch(
            TopicArn=self._topic_arn,
            PublishBatchRequestEntries=[
                {"Id": str(index), "Message": item.message, "MessageAttributes": item.attributes}
                for index, item in enumerate(batch)
            ],
        )
        failed_ids = {int(entry["Id"]) for entry in response.get("Failed", [])}
        return [item for index, item in enumerate(batch) if index in failed_ids]


@dataclass
class FanoutResult:
    published: int = 0
    skipped: int = 0  # messages to disabled numbers: recorded, never published
    retry: list[str] = field(default_factory=list)  # sequence numbers for Lambda to retry, in stream order
    problems: list[str] = field(default_factory=list)  # what went wrong, safe to log (no message content)


def _new_messages(records: list[dict[str, Any]], result: FanoutResult) -> tuple[list[tuple[int, dict[str, Any]]], int]:
    """The new messages to publish, up to the first unusable record, and that record's index (or len)."""
    stored: list[tuple[int, dict[str, Any]]] = []
    for position, record in enumerate(records):
        if record.get("eventName") != "INSERT":
            continue  # TTL expiry and other changes are not new messages
        try:
            message = from_item(record["dynamodb"]["NewImage"])
            missing = {"messageSid", "to", "from", "receivedAt", "channel", "accountSid"} - set(message)
            if missing:
                raise KeyError(", ".join(sorted(missing)))
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
