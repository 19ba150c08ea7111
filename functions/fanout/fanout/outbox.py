"""The stream is the outbox: each batch of records becomes CloudEvents on SNS and/or EventBridge, in stream order.

A new inbound message (INSERT) becomes a `message.received` event; an outbound message whose status moved
forward (any write with lastChange "status", outbound_table.py) a `message.status` event. Outbound messages are
never published as received, and other writes (the sender's own, late statuses, TTL deletions) publish nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from twilio_inbound.aws_errors import describe
from twilio_inbound.dynamo import from_item
from twilio_inbound.message import MessageRecord
from twilio_inbound.messages_table import record_from_item
from twilio_inbound.opt_outs_table import OptOutStore
from twilio_inbound.outbound import OUTBOUND
from twilio_inbound.publishing import Outgoing, Publisher, batches, outgoing_for
from twilio_inbound.reply_correlation import LastSent
from twilio_inbound.status_event import STATUS_EVENT_TYPE, status_data_from_item, status_outgoing

_OUTBOUND = {"S": OUTBOUND}
_STATUS_CHANGE = {"S": "status"}


@dataclass
class FanoutResult:
    published: int = 0  # message.received events
    statuses: int = 0  # message.status events
    skipped: int = 0  # messages to disabled numbers: recorded, never published
    retry: list[str] = field(default_factory=list)  # sequence numbers for Lambda to retry, in stream order
    problems: list[str] = field(default_factory=list)  # what went wrong, safe to log (no message content)


def _status_change(image: dict[str, Any], position: int) -> Outgoing | None:
    """The status event of an outbound write that moved the status forward; None for its other writes."""
    if image.get("lastChange") != _STATUS_CHANGE:
        return None
    return status_outgoing(position, status_data_from_item(from_item(image)))


def _to_publish(
    records: list[dict[str, Any]], result: FanoutResult
) -> tuple[list[tuple[int, MessageRecord]], list[Outgoing], int]:
    """The new inbound messages and the status events to publish, up to the first unusable record, and that
    record's index (or len)."""
    stored: list[tuple[int, MessageRecord]] = []
    statuses: list[Outgoing] = []
    for position, record in enumerate(records):
        image = record.get("dynamodb", {}).get("NewImage") or {}
        try:
            if image.get("direction") == _OUTBOUND:
                change = _status_change(image, position)
                statuses += [change] if change else []
                continue
            if record.get("eventName") != "INSERT":
                continue  # TTL expiry and other changes are not new messages
            message = record_from_item(image)
        except (KeyError, TypeError, ValueError) as error:
            result.problems.append(f"unusable stream record {record.get('eventID')}: {error!r}")
            return stored, statuses, position
        if message.get("delivered") is False:
            result.skipped += 1
            continue
        stored.append((position, message))
    return stored, statuses, len(records)


def fan_out(
    records: list[dict[str, Any]], publisher: Publisher, optouts: OptOutStore, last_sent: LastSent | None = None
) -> FanoutResult:
    """Publishes the records' events in stream order.

    At the first record that cannot be built or published, that record and all after it are returned for
    retry, so Lambda resumes there (bisecting, a bounded number of times, then the on-failure destination).
    Later batches are not published by this call: they would only be published twice.
    """
    result = FanoutResult()
    stored, statuses, retry_from = _to_publish(records, result)
    try:
        received = outgoing_for(stored, optouts, last_sent)
    except (BotoCoreError, ClientError, RuntimeError) as error:
        result.problems.append(f"opt-out state or thread unavailable: {describe(error)}")
        received, retry_from = [], min([retry_from, *(position for position, _ in stored)])
        statuses = [item for item in statuses if item.position < retry_from]
    outgoing = sorted([*received, *statuses], key=lambda item: item.position)
    for batch in batches(outgoing):
        try:
            failed = publisher.publish_batch(batch)
        except (BotoCoreError, ClientError) as error:
            result.problems.append(f"publishing failed: {describe(error)}")
            failed = list(batch)
        _count(result, [item for item in batch if item not in failed])
        if failed:
            result.problems.append("not published: " + ", ".join(item.message_sid for item in failed))
            retry_from = min(retry_from, *(item.position for item in failed))
            break
    result.retry = [record["dynamodb"]["SequenceNumber"] for record in records[retry_from:]]
    return result


def _count(result: FanoutResult, published: list[Outgoing]) -> None:
    statuses = sum(item.attributes["eventType"].get("StringValue") == STATUS_EVENT_TYPE for item in published)
    result.statuses += statuses
    result.published += len(published) - statuses
