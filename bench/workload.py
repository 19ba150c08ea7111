"""The messages the benchmark feeds the functions, written as JSON lines for the measuring processes.

Built here, in the parent, so a measured process imports nothing but its function and reads one event at a
time. Every webhook event is a distinct message (its own MessageSid and sender) signed exactly as Twilio
signs; every stream record carries the item the ingest function stores for such a message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from bench.stackenv import REGION
from devtools.apigw import http_api_event
from devtools.lambda_context import ACCOUNT_ID
from devtools.lambda_events import sqs_record, stored_record, stream_record
from twilio_inbound.clock import utc_now
from twilio_inbound_cli.signing import TEST_WEBHOOK_URL, encode_form, inbound_form, signed_headers

BODY = "Hi! Is my order 4521 on its way? 📦"
STREAM_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/bench-MessagesTable/stream/2026-01-01T00:00:00.000"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:bench-SubscriberQueue"


def _message(index: int, serial: str) -> list[tuple[str, str]]:
    return inbound_form(body=BODY, sender=f"+1415{index % 10_000_000:07d}", message_sid=f"SM{serial}{index:030x}")


def webhook_events(count: int, serial: str = "00") -> Iterator[dict[str, Any]]:
    """API Gateway (payload 2.0) events, as Twilio's POST reaches the ingest function."""
    for index in range(count):
        pairs = _message(index, serial)
        yield http_api_event("POST", TEST_WEBHOOK_URL, signed_headers(TEST_WEBHOOK_URL, pairs), encode_form(pairs))


def stream_events(count: int, records_per_event: int, serial: str = "01") -> Iterator[dict[str, Any]]:
    """DynamoDB stream events as the fanout's event source mapping delivers them (BatchSize records each)."""
    received_at = utc_now()
    for event_index in range(count):
        first = event_index * records_per_event
        yield {
            "Records": [
                stream_record(
                    stored_record(_message(index, serial), received_at),
                    event_id=f"{index:032x}",
                    sequence_number=10**20 + index,
                    stream_arn=STREAM_ARN,
                    created_at=received_at,
                )
                for index in range(first, first + records_per_event)
            ]
        }


def queue_events(publish_batches: list[dict[str, Any]], messages: int, per_event: int) -> Iterator[dict[str, Any]]:
    """SQS events for the subscriber (raw delivery, BatchSize per event), made of what the fanout published
    (the parameters of its PublishBatch calls), repeated up to `messages`."""
    entries = [entry for batch in publish_batches for entry in batch["PublishBatchRequestEntries"]]
    records = []
    for index in range(messages):
        entry = entries[index % len(entries)]
        records.append(
            sqs_record(
                message_id=f"{index:08x}-0000-4000-8000-000000000000",
                receipt_handle=f"bench-{index}",
                body=entry["Message"],
                queue_arn=QUEUE_ARN,
                attributes={  # as Lambda hands them over (Powertools' SqsRecordModel requires each)
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1767225600000",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1767225600000",
                },
                message_attributes=entry.get("MessageAttributes", {}),
            )
        )
        if len(records) == per_event:
            yield {"Records": records}
            records = []
    if records:
        yield {"Records": records}


def write_jsonl(path: Path, events: Iterable[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as stream:
        for event in events:
            stream.write(json.dumps(event, ensure_ascii=False) + "\n")
    return path


def write_json(path: Path, content: Any) -> Path:
    path.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    return path
