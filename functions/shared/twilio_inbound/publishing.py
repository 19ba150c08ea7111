"""The stack's events out to where subscribers read them: the SNS topic (PublishBatch), the EventBridge bus
(PutEvents), or both (the template's PublishTo). 10 per call, within both services' size limit.

Shared by the fanout function (from the stream), the sender and media functions, and `twilio-inbound replay`.
On the bus, `source` is the stack's, `detail-type` the event's type and `detail` the CloudEvent itself.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from twilio_inbound.cloudevent import (
    EVENT_SOURCE,
    MAX_SNS_MESSAGE_BYTES,
    attributes_bytes,
    build_event,
    encode,
    message_attributes,
)
from twilio_inbound.message import MessageRecord
from twilio_inbound.opt_out_rule import SenderIdentity
from twilio_inbound.opt_outs_table import OptOutStore
from twilio_inbound.reply_correlation import LastSent

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import MessageAttributeValueTypeDef

MAX_BATCH_ENTRIES = 10
# Entries SNS refuses (throttling, an internal error) are sent again this many times in all, a short pause
# apart, before the batch goes back to Lambda: well inside the function's timeout.
PUBLISH_ATTEMPTS = 3
RETRY_DELAY_SECONDS = 0.1
# SNS's limit for one message is also its limit for a whole PublishBatch, and EventBridge's for a PutEvents call.
MAX_BATCH_BYTES = MAX_SNS_MESSAGE_BYTES
# PutEvents entries EventBridge says to send again; any other error code would be refused again.
RETRYABLE_PUT_EVENTS_ERRORS = frozenset({"InternalFailure", "ThrottlingException"})


@dataclass(frozen=True)
class Outgoing:
    position: int  # the stream record's index in the batch Lambda handed us
    message_sid: str
    message: str
    attributes: dict[str, MessageAttributeValueTypeDef]

    @property
    def event_type(self) -> str:
        """The CloudEvent's type, as every event's attributes carry it (EventBridge's detail-type)."""
        value = self.attributes.get("eventType")
        return value.get("StringValue", "") if value else ""

    @property
    def size(self) -> int:
        """What the larger of SNS and EventBridge counts: SNS the body and attributes, EventBridge the source,
        detail-type and detail (the same body)."""
        body = len(self.message.encode())
        return body + max(attributes_bytes(self.attributes), len(EVENT_SOURCE) + len(self.event_type.encode()))


def outgoing_for(
    stored: Sequence[tuple[int, MessageRecord]], optouts: OptOutStore, last_sent: LastSent | None = None
) -> list[Outgoing]:
    """The events for stored records (position, record), with each sender's current opt-out state (of the number
    written to, and of its Messaging Service) and, with `last_sent`, the message of ours each one answers.

    One BatchGetItem per 100 senders, and per record a look at its thread; AWS errors propagate.
    """
    scopes = {position: SenderIdentity.of_inbound(record).scopes for position, record in stored}
    opted_out = optouts.opted_out((scope, record["from"]) for position, record in stored for scope in scopes[position])
    outgoing = []
    for position, record in stored:
        answered = last_sent.before(record) if last_sent else None
        event = build_event(record, any((scope, record["from"]) in opted_out for scope in scopes[position]), answered)
        attributes = message_attributes(record, in_reply_to=answered)
        outgoing.append(Outgoing(position, record["messageSid"], encode(event), attributes))
    return outgoing


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


class Publisher(Protocol):
    def publish_batch(self, batch: Sequence[Outgoing]) -> list[Outgoing]:
        """Publishes one batch (at most MAX_BATCH_ENTRIES, MAX_BATCH_BYTES); returns the entries still refused
        after bounded retries. AWS errors propagate."""
        ...


class _RetryingPublisher(ABC):
    """One batch call, then the refused entries alone, a bounded number of times."""

    def __init__(self, sleep: Callable[[float], None]) -> None:
        self._sleep = sleep

    def publish_batch(self, batch: Sequence[Outgoing]) -> list[Outgoing]:
        """Only the refused entries are sent again, here: handing the batch back to Lambda from the first refused
        entry would publish every accepted entry after it a second time. Entries refused for a fault of the
        request itself (SNS's SenderFault, EventBridge's non-retryable codes) are not retried: they would be
        refused again.
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

    @abstractmethod
    def _publish_once(self, batch: Sequence[Outgoing]) -> list[tuple[Outgoing, bool]]:
        """One call: the refused entries, each with whether it was refused for good."""


class TopicPublisher(_RetryingPublisher):
    def __init__(self, client: SNSClient, topic_arn: str, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(sleep)
        self._client = client
        self._topic_arn = topic_arn

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


class BusPublisher(_RetryingPublisher):
    def __init__(self, client: EventBridgeClient, bus_name: str, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(sleep)
        self._client = client
        self._bus_name = bus_name

    def _publish_once(self, batch: Sequence[Outgoing]) -> list[tuple[Outgoing, bool]]:
        """One PutEvents call: its answer lists every entry in order, the refused ones with an ErrorCode."""
        response = self._client.put_events(
            Entries=[
                {
                    "EventBusName": self._bus_name,
                    "Source": EVENT_SOURCE,
                    "DetailType": item.event_type,
                    "Detail": item.message,
                }
                for item in batch
            ]
        )
        if not response.get("FailedEntryCount"):
            return []
        return [
            (item, entry["ErrorCode"] not in RETRYABLE_PUT_EVENTS_ERRORS)
            for item, entry in zip(batch, response["Entries"], strict=True)
            if "ErrorCode" in entry
        ]


class BothPublishers:
    """The topic and the bus (PublishTo=SnsAndEventBridge): an entry either refused is refused. Publishing it
    again (Lambda's retry) repeats it where it was accepted: delivery is at least once, dedupe on the id."""

    def __init__(self, first: Publisher, second: Publisher) -> None:
        self._publishers = (first, second)

    def publish_batch(self, batch: Sequence[Outgoing]) -> list[Outgoing]:
        refused = {id(item) for publisher in self._publishers for item in publisher.publish_batch(batch)}
        return [item for item in batch if id(item) in refused]


def event_publisher(topic_arn: str, bus_name: str, client: Callable[..., Any]) -> Publisher:
    """Where the stack's events go: the topic when `topic_arn` is set (TOPIC_ARN), the bus when `bus_name` is
    (EVENT_BUS_NAME), both when both are. `client` makes a boto3 client by service name."""
    topic = TopicPublisher(client("sns"), topic_arn) if topic_arn else None
    bus = BusPublisher(client("events"), bus_name) if bus_name else None
    if topic and bus:
        return BothPublishers(topic, bus)
    if topic or bus:
        return topic or bus  # type: ignore[return-value]
    raise ValueError("TOPIC_ARN or EVENT_BUS_NAME must name where events are published")
