"""The functions under measurement, the SDK calls that are their floor, and their targets. Stdlib only (loaded by
the measuring processes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Answer = Literal["http", "batch", "reconciled"]


@dataclass(frozen=True)
class Subject:
    name: str
    logical_id: str  # in template.yaml
    # service.Operation of the SDK calls the function exists to make: its floor ("twilio.Messages.create" is the
    # SDK's MessageList.create, "twilio.Messages.stream" its list pages). Empty: no call (measured for memory).
    floor_operations: tuple[str, ...]
    floor_calls_per_event: int | None  # how many of those calls make the floor; None: every one it made
    records_per_event: int  # the figures are per message: per event for webhooks, per record for batches
    per: str
    answer: Answer
    max_warm_ratio: float | None = None
    # Also measured against every SDK call it makes, bare (reads included): the target where the calls it must make
    # go beyond the floor (None: not measured so; the floor is every call).
    max_every_call_ratio: float | None = None
    # Imported by the cold floor besides boto3 and the function's clients: the SDK the function calls Twilio with.
    sdk_imports: tuple[str, ...] = ()

    @property
    def floor_operation(self) -> str:
        return ", ".join(self.floor_operations)

    def accepted(self, result: Any) -> bool:
        """Whether the handler's answer is the success path the figure is meant to measure."""
        if self.answer == "http":
            return isinstance(result, dict) and result.get("statusCode") == 200
        if self.answer == "reconciled":
            return (
                isinstance(result, dict)
                and result.get("checked", 0) > 0
                and result.get("complete") is True
                and not result.get("recovered")
                and not result.get("different")
                and not result.get("failed")
            )
        return isinstance(result, dict) and result.get("batchItemFailures") == []


INGEST = Subject("ingest", "IngestFunction", ("dynamodb.PutItem",), 1, 1, "message", "http", 1.25)
# BatchSize 100 in the template; SNS takes at most 10 entries per PublishBatch, so 10 calls are the floor. It also
# reads the batch's opt-out state (BatchGetItem) and, with reply correlation on (ReplyWindowMinutes, the default),
# queries each inbound message's thread (a Query a record, more SDK work than the publishing itself): the target is
# on every call, as for the functions whose reads go beyond their floor.
FANOUT = Subject(
    "fanout", "FanoutFunction", ("sns.PublishBatch",), None, 100, "record", "batch", max_every_call_ratio=1.5
)
# The example subscriber makes no SDK call: measured for memory only, on the events the fanout published.
CONSUMER = Subject("consumer", "ConsumerFunction", (), 0, 10, "message", "batch")
# Three or four callbacks per message sent; each records one status with one conditional UpdateItem, after reading
# the command its URL names (a callback is accepted only for a message the stack sent): the target is on every call.
STATUS = Subject(
    "status", "StatusFunction", ("dynamodb.UpdateItem",), 1, 1, "callback", "http", max_every_call_ratio=1.25
)
# One command per invocation (a quiet queue; a busy one batches 10): Messages.create and the writes around it. It
# also reads the intent and the opt-out state (both consistent) before it sends: the target is on every call.
SENDER = Subject(
    "sender",
    "SenderFunction",
    ("twilio.Messages.create", "dynamodb.PutItem", "dynamodb.UpdateItem", "dynamodb.TransactWriteItems"),
    None,
    1,
    "message",
    "batch",
    max_every_call_ratio=1.25,
    sdk_imports=("twilio.rest",),
)
# One MMS picture (BatchSize 1): the floor is the S3 write of the same bytes, its SHA-256 computed by the SDK. It
# also asks S3 whether an earlier attempt archived it, reads back what S3 stored, and publishes media.archived;
# the download is a pass over the bytes no SDK call makes (HTTP, SHA-256, the /tmp spool): 2x every call.
MEDIA = Subject("media", "MediaFunction", ("s3.PutObject",), None, 1, "message", "batch", max_every_call_ratio=2.0)
# One scheduled run over a window of 200 inbound messages, all stored: the floor is the SDK's list pages. It also
# reads every listed message back (BatchGetItem) and decodes it to compare: 1.5x every call.
RECONCILE = Subject(
    "reconcile",
    "ReconcileFunction",
    ("twilio.Messages.stream",),
    None,
    1,
    "run",
    "reconciled",
    max_every_call_ratio=1.5,
    sdk_imports=("twilio.rest",),
)
SUBJECTS = {subject.name: subject for subject in (INGEST, FANOUT, CONSUMER, STATUS, SENDER, MEDIA, RECONCILE)}
