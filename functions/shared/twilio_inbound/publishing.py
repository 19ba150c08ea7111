"""Stored messages out to SNS as CloudEvents with PublishBatch: 10 per call, within SNS's size limit.

Shared by the fanout function (from the stream) and `twilio-inbound replay` (from the table).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from twilio_inbound.cloudevent import MAX_SNS_MESSAGE_BYTES, attributes_bytes, build_event, encode, message_attributes
from twilio_inbound.message import MessageRecord
from twilio_inbound.opt_out_rule import SenderIdentity
from twilio_inbound.opt_outs_table import OptOutStore

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import MessageAttributeValueTypeDef

MAX_BATCH_ENTRIES = 10
# Entries SNS refuses (throttling, an internal error) are sent again this many times in all, a short pause
# apart, before the batch goes back to Lambda: well inside the function's timeout.
PUBLISH_ATTEMPTS = 3
RETRY_DELAY_SECONDS = 0.1
MAX_BATCH_BYTES = MAX_SNS_MESSAGE_BYTES  # SNS's limit for one message is also its limit for a whole PublishBatch


@dataclass(frozen=True)
class Outgoing:
    position: int  # the stream record's index in the batch Lambda handed us
    message_sid: str
    message: str
    attributes: dict[str, MessageAttributeValueTypeDef]

    @property
    def size(self) -> int:
        return len(self.message.encode()) + attributes_bytes(self.attributes)


def outgoing_for(stored: Sequence[tuple[int, MessageRecord]], optouts: OptOutStore) -> list[Outgoing]:
    """The events for stored records (position, record), with each sender's current opt-out state (of the number
    written to, and of its Messaging Service).

    One BatchGetItem per 100 senders; AWS errors propagate.
    """
    scopes = {position: SenderIdentity.of_inbound(record).scopes for position, record in stored}
    opted_out = optouts.opted_out((scope, record["from"]) for position, record in stored for scope in scopes[position])
    return [
        Outgoing(
            position=position,
            message_sid=record["messageSid"],
            message=encode(
                build_event(record, any((scope, record["from"]) in opted_out for scope in scopes[position]))
            ),
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
    def __init__(self, client: SNSClient, topic_arn: str, sleep: Callable[[float], None] = time.sleep) -> None:
        self._client = client
        self._topic_arn = topic_arn
        self._sleep = sleep

    def publish_batch(self, batch: Sequence[Outgoing]) -> list[Outgoing]:
        """Publishes one batch; returns the entries SNS still refused after bounded retries. AWS errors propagate.

        Only the refused entries are sent again, here: handing the batch back to Lambda from the first refused
        entry would publish every accepted entry after it a second time. Entries refused for a fault of the
        request itself (SenderFault) are not retried: they would be refused again.
        """
        pending = list(batch)
        given_up: list[Outgoing] = []
        for attempt in range(PUBLISH_ATTEMPTS):
            if attempt:
                self._sleep(RETRY_DELAY_SECONDS * attempt)
            refused = self._publish_once(pending)
            given_up += [item for item, sender_fault in refused if sender_fault]
            pending = [item for item, sender_fault in refused if not sender_fault]
            if not pending:
                break
        return given_up + pending

    def _publish_once(self, batch: Sequence[Outgoing]) -> list[tuple[Outgoing, bool]]:
        """One PublishBatch call: the refused entries, each with SNS's SenderFault."""
        response = self._client.publish_batch(
            TopicArn=self._topic_arn,
            PublishBatchRequestEntries=[
                {"Id": str(index), "Message": item.message, "MessageAttributes": item.attributes}
                for index, item in enumerate(batch)
            ],
        )
        return [(batch[int(entry["Id"])], entry["SenderFault"]) for entry in response.get("Failed", [])]
