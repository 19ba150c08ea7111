"""Stored messages out to SNS as CloudEvents with PublishBatch: 10 per call, within SNS's size limit.

Shared by the fanout function (from the stream) and `twilio-inbound replay` (from the table).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from twilio_inbound.cloudevent import build_event, encode, message_attributes
from twilio_inbound.message import MessageRecord
from twilio_inbound.numbers_table import OptOutStore

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import MessageAttributeValueTypeDef

MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 256 * 1024  # SNS's limit for one message and for a whole PublishBatch


@dataclass(frozen=True)
class Outgoing:
    position: int  # the stream record's index in the batch Lambda handed us
    message_sid: str
    message: str
    attributes: dict[str, MessageAttributeValueTypeDef]

    @property
    def size(self) -> int:
        attributes = sum(
            len(name) + len(value["DataType"]) + len(value["StringValue"].encode())
            for name, value in self.attributes.items()
        )
        return len(self.message.encode()) + attributes


def outgoing_for(stored: Sequence[tuple[int, MessageRecord]], optouts: OptOutStore) -> list[Outgoing]:
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
    def __init__(self, client: SNSClient, topic_arn: str) -> None:
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
