"""Stand-ins for Lambda's event source mappings: a DynamoDB stream poller and an SQS poller.

They follow the template's settings (BatchSize, MaximumRetryAttempts, BisectBatchOnFunctionError,
ReportBatchItemFailures, the on-failure destination) and Lambda's documented behaviour, so that the local
stack and the tests see the failure semantics the deployed stack has. As Lambda's event source mappings do,
they read the source and write the on-failure destination with the function's role (`acting_as`); what only
the local stack does (counting what is pending, bringing a failed message back sooner) is the operator's.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import boto3
from mypy_boto3_sqs.literals import QueueAttributeFilterType

from devtools.iam.acting import acting_as
from devtools.lambda_events import sqs_record
from devtools.lambda_runtime import SYNC_REQUEST_BYTES, Invoke
from twilio_inbound.clock import iso_millis, utc_now

log = logging.getLogger("twilio_inbound.local")
SHARD_LIST_SECONDS = 1.0
IDLE_SECONDS = 0.1  # a stream poller's pause when a poll found nothing (Lambda polls a shard 4 times a second)
QUEUE_WAIT_SECONDS = 1  # a queue poller's long poll: the emulator answers as soon as a message arrives


def _failed_identifiers(result: Any) -> list[str] | None:
    """None when the whole batch succeeded, else the identifiers reported as failed."""
    if not isinstance(result, dict):
        return None
    failures = result.get("batchItemFailures") or []
    return [str(failure["itemIdentifier"]) for failure in failures] or None


def within_payload_limit(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The longest first part of a batch whose event fits Lambda's 6 MB (at least one record), as Lambda's event
    source mapping makes its batches."""
    size = len(b'{"Records":[]}')
    for count, record in enumerate(records):
        size += len(json.dumps(record, separators=(",", ":"), default=str).encode()) + 1
        if size > SYNC_REQUEST_BYTES and count:
            return records[:count]
    return records


def _acting(function: str | None) -> AbstractContextManager[None]:
    return acting_as(function) if function else nullcontext()


class StreamPoller:
    """Reads every shard of a DynamoDB stream and invokes the function with batches of records."""

    kind = "stream"

    def __init__(
        self,
        session: boto3.session.Session,
        stream_arn: str,
        invoke: Invoke,
        properties: dict[str, Any],
        retry_delay: float = 0.05,
        *,
        function: str | None,
    ) -> None:
        self.function = function  # whose role reads the stream (None: the operator's, a developer tool's poller)
        self._streams = session.client("dynamodbstreams")
        self._sqs = session.client("sqs")
        self._stream_arn = stream_arn
        self._invoke = invoke
        self._batch_size = int(properties.get("BatchSize", 100))
        self._max_retries = int(properties.get("MaximumRetryAttempts", -1))
        self._bisect = bool(properties.get("BisectBatchOnFunctionError", False))
        self._report_failures = "ReportBatchItemFailures" in properties.get("FunctionResponseTypes", [])
        self._starting_position = properties.get("StartingPosition", "LATEST")
        destination = properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination", "")
        self._dlq_url = self._queue_url(destination) if destination else ""
        self._retry_delay = retry_delay
        self._iterators: dict[str, str | None] = {}
        self._last_sequence: dict[str, str] = {}  # per shard: the last record handed to the function
        self._shards_listed_at = -SHARD_LIST_SECONDS

    def _queue_url(self, arn: str) -> str:
        name = arn.rsplit(":", 1)[-1]
        return str(self._sqs.get_queue_url(QueueName=name)["QueueUrl"])

    def _refresh_shards(self) -> None:
        # New shards appear every few hours in AWS (never in the emulator): looking once a second is plenty,
        # where a DescribeStream before every GetRecords doubled the requests of an idle poller.
        now = time.monotonic()
        if now - self._shards_listed_at < SHARD_LIST_SECONDS:
            return
        self._shards_listed_at = now
        description = self._streams.describe_stream(StreamArn=self._stream_arn)["StreamDescription"]
        for shard in description["Shards"]:
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                self._iterators[shard_id] = self._open(shard_id)

    def _open(self, shard_id: str) -> str:
        """An iterator just after the last record handled (else at the starting position). The emulator
        replaces a table's stream when it rolls back a cancelled transaction (a repeated STOP/START): an
        iterator into the old one never sees another record, so an idle shard is re-opened from here."""
        last = self._last_sequence.get(shard_id)
        position: dict[str, Any] = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": last}
            if last
            else {"ShardIteratorType": self._starting_position}
        )
        iterator: str = self._streams.get_shard_iterator(StreamArn=self._stream_arn, ShardId=shard_id, **position)[
            "ShardIterator"
        ]
        return iterator

    def poll_once(self) -> int:
        """Reads one batch from each shard and delivers it; returns how many records were read."""
        with _acting(self.function):
            return self._poll_once()

    def _poll_once(self) -> int:
        self._refresh_shards()
        total = 0
        for shard_id, iterator in list(self._iterators.items()):
            if iterator is None:
                continue
            response = self._streams.get_records(ShardIterator=iterator, Limit=self._batch_size)
            records = within_payload_limit(
                [{**record, "eventSourceARN": self._stream_arn} for record in response["Records"]]
            )
            if records:
                # The rest of a batch over Lambda's 6 MB is read again from after the last record delivered.
                whole = len(records) == len(response["Records"])
                self._iterators[shard_id] = response.get("NextShardIterator")
                self._deliver(shard_id, records)
                self._last_sequence[shard_id] = str(records[-1]["dynamodb"]["SequenceNumber"])
                if not whole:
                    self._iterators[shard_id] = self._open(shard_id)
                total += len(records)
            elif shard_id in self._last_sequence or self._starting_position == "TRIM_HORIZON":
                self._iterators[shard_id] = self._open(shard_id)  # nothing is skipped by re-opening here
            else:
                self._iterators[shard_id] = response.get("NextShardIterator")
        return total

    def pending(self) -> int:
        """Records after the last one handled: stored, not yet delivered to the function (a batch being
        delivered counts until it is done)."""
        count = 0
        for shard_id, current in list(self._iterators.items()):
            iterator = self._open(shard_id) if shard_id in self._last_sequence else current
            while iterator:
                page = self._streams.get_records(ShardIterator=iterator, Limit=1000)
                if not page["Records"]:
                    break
                count += len(page["Records"])
                iterator = page.get("NextShardIterator")
        return count

    def _attempt(self, records: list[dict[str, Any]]) -> int | None:
        """Invokes once; None on success, else the index from which the batch must be retried."""
        try:
            failed = _failed_identifiers(self._invoke({"Records": records}))
        except Exception:  # the function raised: Lambda counts the whole batch as failed
            log.exception("stream batch failed")
            return 0
        if failed is None or not self._report_failures:
            return None
        sequences = [record["dynamodb"]["SequenceNumber"] for record in records]
        # Lambda resumes from the lowest reported sequence number; an unknown identifier fails the batch.
        positions = [sequences.index(identifier) if identifier in sequences else 0 for identifier in failed]
        return min(positions)

    def _deliver(self, shard_id: str, records: list[dict[str, Any]]) -> None:
        pending = records
        attempts = 0
        while pending:
            attempts += 1
            failed_from = self._attempt(pending)
            if failed_from is None:
                return
            pending = pending[failed_from:]
            if self._bisect and len(pending) > 1:
                half = len(pending) // 2
                self._deliver(shard_id, pending[:half])
                self._deliver(shard_id, pending[half:])
                return
            if 0 <= self._max_retries < attempts:
                self._send_to_destination(shard_id, pending, attempts)
                return
            time.sleep(min(self._retry_delay * 2 ** (attempts - 1), 2.0))

    def _send_to_destination(self, shard_id: str, records: list[dict[str, Any]], attempts: int) -> None:
        """What Lambda sends to an on-failure destination: where the records are, not the records."""
        log.error("stream records sent to the on-failure destination after %d attempts", attempts)
        if not self._dlq_url:
            return
        first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
        document = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "version": "1.0",
            "timestamp": iso_millis(utc_now()),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "batchSize": len(records),
                "streamArn": self._stream_arn,
            },
        }
        self._sqs.send_message(QueueUrl=self._dlq_url, MessageBody=json.dumps(document))


class QueuePoller:
    """Receives from an SQS queue and invokes the function; deletes what succeeded, as Lambda does."""

    kind = "queue"

    def __init__(
        self,
        session: boto3.session.Session,
        queue_arn: str,
        invoke: Invoke,
        properties: dict[str, Any],
        retry_visibility: int | None = 1,
        *,
        function: str | None,
    ) -> None:
        self.function = function  # whose role receives and deletes (None: the operator's)
        self._sqs = session.client("sqs")
        self._queue_arn = queue_arn
        self._queue_url = str(self._sqs.get_queue_url(QueueName=queue_arn.rsplit(":", 1)[-1])["QueueUrl"])
        self._invoke = invoke
        self._batch_size = min(int(properties.get("BatchSize", 10)), 10)
        self._report_failures = "ReportBatchItemFailures" in properties.get("FunctionResponseTypes", [])
        # Locally, a failed message comes back after this many seconds instead of the queue's
        # VisibilityTimeout, so retries and the redrive to the DLQ happen while you watch.
        self._retry_visibility = retry_visibility

    def pending(self) -> int:
        """Messages in the queue: waiting, being processed (or waiting to be retried) and delayed."""
        names: list[QueueAttributeFilterType] = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        attributes = self._sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=names)["Attributes"]
        return sum(int(value) for value in attributes.values())  # just the counts asked for

    def poll_once(self, wait_seconds: int = 0) -> int:
        with _acting(self.function):
            response = self._sqs.receive_message(
                QueueUrl=self._queue_url,
                MaxNumberOfMessages=self._batch_size,
                WaitTimeSeconds=wait_seconds,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
        messages = response.get("Messages", [])
        if not messages:
            return 0
        records = [
            sqs_record(
                message_id=message["MessageId"],
                receipt_handle=message["ReceiptHandle"],
                body=message["Body"],
                queue_arn=self._queue_arn,
                attributes=message.get("Attributes", {}),
                message_attributes=message.get("MessageAttributes", {}),
            )
            for message in messages
        ]
        try:
            result = self._invoke({"Records": records})
            failed = set(_failed_identifiers(result) or []) if self._report_failures else set()
        except Exception:
            log.exception("queue batch failed")
            failed = {record["messageId"] for record in records}
        if self._retry_visibility is not None:  # the local shortcut, not Lambda's: the operator's doing
            for record in records:
                if record["messageId"] in failed:
                    self._sqs.change_message_visibility(
                        QueueUrl=self._queue_url,
                        ReceiptHandle=record["receiptHandle"],
                        VisibilityTimeout=self._retry_visibility,
                    )
        # One DeleteMessageBatch for what succeeded, as Lambda's SQS event source does.
        done: list[Any] = [
            {"Id": str(index), "ReceiptHandle": record["receiptHandle"]}
            for index, record in enumerate(records)
            if record["messageId"] not in failed
        ]
        if done:
            with _acting(self.function):
                undeleted = self._sqs.delete_message_batch(QueueUrl=self._queue_url, Entries=done).get("Failed", [])
            if undeleted:
                log.error("queue poller: %d messages not deleted; they come back", len(undeleted))
        return len(records)


class PollingThread(threading.Thread):
    """Polls until stopped, backing off a little when there is nothing to read."""

    def __init__(self, name: str, poller: StreamPoller | QueuePoller, stop: threading.Event) -> None:
        super().__init__(name=name, daemon=True)
        self.poller = poller
        self._stop_event = stop

    def _poll(self) -> int:
        # A queue with long polls, as Lambda's SQS source: the emulator answers as soon as a message arrives.
        if isinstance(self.poller, QueuePoller):
            return self.poller.poll_once(wait_seconds=QUEUE_WAIT_SECONDS)
        return self.poller.poll_once()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                count = self._poll()
            except Exception:
                if self._stop_event.is_set():
                    return
                log.exception("%s: polling failed; retrying", self.name)
                count = 0
            if count == 0:
                self._stop_event.wait(IDLE_SECONDS)
