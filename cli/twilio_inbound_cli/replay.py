"""Republishes stored messages, with the same event id, so subscribers that missed them catch up: inbound ones
as message.received, outbound ones as the message.status event of their current status.

Used by `twilio-inbound replay` (replay_command.py): by MessageSid, by time range (optionally for one number),
or for the stream batches the fanout function gave up on (its dead-letter queue).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from twilio_inbound.dynamo import MAX_BATCH_KEYS
from twilio_inbound.message import MessageRecord
from twilio_inbound.messages_table import MessageStore
from twilio_inbound.opt_outs_table import OptOutStore
from twilio_inbound.outbound import OUTBOUND
from twilio_inbound.publishing import Outgoing, Publisher, batches, outgoing_for
from twilio_inbound.reply_correlation import LastSent
from twilio_inbound.status_event import status_data_from_item, status_outgoing

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef


Progress = Callable[[int], object]  # told a count: how many were found, or how many more are done


def _unseen(count: int) -> None:
    """No one is watching (the default: tests, scripts)."""


@dataclass
class ReplayResult:
    published: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # messages to disabled numbers: never published
    dead_letters_done: int = 0
    dead_letters_kept: list[str] = field(default_factory=list)  # why a dead letter could not be replayed

    def merge(self, other: ReplayResult) -> None:
        for name in ("published", "failed", "not_found", "skipped", "dead_letters_kept"):
            getattr(self, name).extend(getattr(other, name))
        self.dead_letters_done += other.dead_letters_done


class Replayer:
    def __init__(
        self, messages: MessageStore, publisher: Publisher, optouts: OptOutStore, last_sent: LastSent | None = None
    ) -> None:
        self._messages = messages
        self._publisher = publisher
        self._optouts = optouts
        self._last_sent = last_sent  # as the fanout names the message each one answers: the same for a replay

    def publish(self, records: Iterable[MessageRecord], advance: Progress = _unseen) -> ReplayResult:
        """Inbound messages as message.received events; outbound ones as the event of their current status.
        `advance(n)` is told of each record once its fate is decided (published, failed or skipped)."""
        result = ReplayResult()
        wanted, statuses = [], []
        for record in records:
            values = cast(dict[str, Any], record)  # the table holds both directions
            if values.get("direction") == OUTBOUND and "status" in values:
                statuses.append(status_outgoing(0, status_data_from_item(values)))
            elif values.get("direction") == OUTBOUND:
                advance(1)  # a send intent Twilio never answered: no status to publish
            elif record.get("delivered") is False:
                result.skipped.append(record["messageSid"])
                advance(1)
            else:
                wanted.append(record)
        for start in range(0, len(wanted), MAX_BATCH_KEYS):
            chunk = list(enumerate(wanted[start : start + MAX_BATCH_KEYS]))
            self._publish(batches(outgoing_for(chunk, self._optouts, self._last_sent)), result, advance)
        self._publish(batches(statuses), result, advance)
        return result

    def _publish(self, groups: Iterable[list[Outgoing]], result: ReplayResult, advance: Progress) -> None:
        for batch in groups:
            failed = {item.message_sid for item in self._publisher.publish_batch(batch)}
            result.failed += [item.message_sid for item in batch if item.message_sid in failed]
            result.published += [item.message_sid for item in batch if item.message_sid not in failed]
            advance(len(batch))

    def by_message_sids(self, message_sids: Iterable[str]) -> ReplayResult:
        sids = list(dict.fromkeys(message_sids))
        found = {record["messageSid"]: record for record in self._messages.get_many(sids)}
        result = self.publish(found[sid] for sid in sids if sid in found)
        result.not_found = [sid for sid in sids if sid not in found]
        return result

    def by_time_range(
        self, since: str, until: str, number: str = "", *, found: Progress = _unseen, advance: Progress = _unseen
    ) -> ReplayResult:
        """Messages received in [since, until] (stored timestamps), oldest first; one number's via its index.
        `found(n)` is told how many there are before any is published."""
        records = self._messages.received_between(since, until, number)
        found(len(records))
        return self.publish(records, advance)

    def from_dead_letters(self, sqs: SQSClient, queue_url: str, streams: DynamoDBStreamsClient) -> ReplayResult:
        """Replays each failed stream batch the fanout function sent to its DLQ; deletes what succeeded."""
        result = ReplayResult()
        for message in _drain(sqs, queue_url):
            sids, problem = _sids_of_failed_batch(streams, json.loads(message["Body"]))
            if problem:
                result.dead_letters_kept.append(problem)
                continue
            replayed = self.by_message_sids(sids)
            result.merge(replayed)
            # Deleted only when every message of the range was republished (a skipped one, for a disabled
            # number, counts: it is never published).
            if replayed.failed or replayed.not_found:
                missing = len(replayed.failed) + len(replayed.not_found)
                result.dead_letters_kept.append(f"{missing} message(s) not republished; kept for later")
                continue
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            result.dead_letters_done += 1
        return result


# GetRecords pages followed for one dead letter's range before giving up (and keeping the dead letter).
MAX_PAGES = 100


def _drain(sqs: SQSClient, queue_url: str) -> Iterator[MessageTypeDef]:
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=60).get(
            "Messages", []
        )
        if not messages:
            return
        yield from messages


def _sids_of_failed_batch(streams: DynamoDBStreamsClient, dead_letter: dict[str, Any]) -> tuple[list[str], str]:
    """The MessageSids in the stream range Lambda reported, read back from the stream (kept 24 hours)."""
    info = dead_letter.get("DDBStreamBatchInfo")
    if not info:
        return [], "not a DynamoDB stream failure record"
    try:
        return _read_range(streams, info, dead_letter.get("timestamp", "unknown time"))
    except ClientError as error:
        return [], f"stream unreadable ({error.response['Error']['Code']}): replay by time range instead"


def _read_range(streams: DynamoDBStreamsClient, info: dict[str, Any], when: str) -> tuple[list[str], str]:
    """The INSERTs of the range, once every one of its `batchSize` records has been read; else a reason.

    DynamoDB Streams may answer empty pages before a range's records: pages are followed (a bounded number
    of them) until past the range's last sequence number, never stopping at the first empty one.
    """
    start, end, expected = int(info["startSequenceNumber"]), int(info["endSequenceNumber"]), int(info["batchSize"])
    iterator: str | None = streams.get_shard_iterator(
        StreamArn=info["streamArn"],
        ShardId=info["shardId"],
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=info["startSequenceNumber"],
    )["ShardIterator"]
    sids: list[str] = []
    seen = 0
    for _ in range(MAX_PAGES):
        if not iterator or seen >= expected:
            break
        response = streams.get_records(ShardIterator=iterator, Limit=1000)
        for record in response["Records"]:
            sequence = int(record["dynamodb"]["SequenceNumber"])
            if start <= sequence <= end:
                seen += 1
                if record.get("eventName") == "INSERT":
                    sids.append(record["dynamodb"]["Keys"]["messageSid"]["S"])
            if sequence >= end:
                iterator = None
                break
        else:
            iterator = response.get("NextShardIterator")
    if not seen:
        return [], f"stream records gone (older than 24 h?): replay by time range around {when}"
    if seen < expected:
        return [], f"read {seen} of the range's {expected} stream records: kept, try again or replay by time range"
    return sids, ""
