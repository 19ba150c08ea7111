"""The functions under measurement and the SDK calls that are their floor. Stdlib only (loaded by the
measuring processes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Subject:
    name: str
    logical_id: str  # in template.yaml
    floor_operation: str  # service.Operation: the SDK call the function exists to make ("" for none)
    floor_calls_per_event: int | None  # how many of those calls make the floor; None: every one it made
    records_per_event: int  # the figures are per message: per event for ingest, per record for fanout
    per: str

    def accepted(self, result: Any) -> bool:
        """Whether the handler's answer is the success path the figure is meant to measure."""
        if self.name == "ingest":
            return isinstance(result, dict) and result.get("statusCode") == 200
        return isinstance(result, dict) and result.get("batchItemFailures") == []


INGEST = Subject("ingest", "IngestFunction", "dynamodb.PutItem", 1, 1, "message")
# BatchSize 100 in the template; SNS takes at most 10 entries per PublishBatch, so 10 calls are the floor.
FANOUT = Subject("fanout", "FanoutFunction", "sns.PublishBatch", None, 100, "record")
# The example subscriber makes no SDK call: measured for memory only, on the events the fanout published.
CONSUMER = Subject("consumer", "ConsumerFunction", "", 0, 10, "message")
SUBJECTS = {subject.name: subject for subject in (INGEST, FANOUT, CONSUMER)}
