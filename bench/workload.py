"""The messages the benchmark feeds the functions, written as JSON lines for the measuring processes.

Built here, in the parent, so a measured process imports nothing but its function and reads one event at a
time. Every webhook event is a distinct message (its own MessageSid and sender) signed exactly as Twilio
signs; every stream record carries the item the ingest function stores for such a message.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.stackenv import REGION
from devtools.apigw import http_api_event
from twilio_inbound.dynamo import to_item
from twilio_inbound.message import build_record, check_parameters, group_pairs
from twilio_inbound_cli.signing import encode_form, inbound_form, signature

WEBHOOK_URL = "https://abc123defg.execute-api.us-east-1.amazonaws.com/sms"
FORM_TYPE = "application/x-www-form-urlencoded; charset=UTF-8"
BODY = "Hi! Is my order 4521 on its way? 📦"
STREAM_ARN = f"arn:aws:dynamodb:{REGION}:123456789012:table/bench-MessagesTable/stream/2026-01-01T00:00:00.000"


def _message(index: int, serial: str) -> list[tuple[str, str]]:
    return inbound_form(body=BODY, sender=f"+1415{index % 10_000_000:07d}", message_sid=f"SM{serial}{index:030x}")


def webhook_events(count: int, serial: str = "00") -> Iterator[dict[str, Any]]:
    """API Gateway (payload 2.0) events, as Twilio's POST reaches the ingest function."""
    for index in range(count):
        pairs = _message(index, serial)
        headers = {"Content-Type": FORM_TYPE, "X-Twilio-Signature": signature(WEBHOOK_URL, pairs)}
        yield http_api_event("POST", WEBHOOK_URL, headers, encode_form(pairs))


def _stream_record(index: int, serial: str, received_at: datetime) -> dict[str, Any]:
    item = to_item(build_record(check_parameters(group_pairs(_message(index, serial))), received_at))
    return {
        "eventID": f"{index:032x}",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": {
            "ApproximateCreationDateTime": received_at.timestamp(),
            "Keys": {"messageSid": item["messageSid"]},
            "NewImage": item,
            "SequenceNumber": str(10**20 + index),
            "SizeBytes": len(json.dumps(item)),
            "StreamViewType": "NEW_IMAGE",
        },
        "eventSourceARN": STREAM_ARN,
    }


def stream_events(count: int, records_per_event: int, serial: str = "01") -> Iterator[dict[str, Any]]:
    """DynamoDB stream events as the fanout's event source mapping delivers them (BatchSize records each)."""
    received_at = datetime.now(UTC)
    for event_index in range(count):
        first = event_index * records_per_event
        records = [_stream_record(first + offset, serial, received_at) for offset in range(records_per_event)]
        yield {"Records": records}


def queue_events(publish_batches: list[dict[str, Any]], messages: int, per_event: int) -> Iterator[dict[str, Any]]:
    """SQS events for the subscriber (raw delivery, BatchSize per event), made of what the fanout published
    (the parameters of its PublishBatch calls), repeated up to `messages`."""
    entries = [entry for batch in publish_batches for entry in batch["PublishBatchRequestEntries"]]
    records = []
    for index in range(messages):
        entry = entries[index % len(entries)]
        attributes = {
            name: {"stringValue": value["StringValue"], "dataType": value["DataType"]}
            for name, value in entry.get("MessageAttributes", {}).items()
        }
        records.append(
            {
                "messageId": f"{index:08x}-0000-4000-8000-000000000000",
                "receiptHandle": f"bench-{index}",
                "body": entry["Message"],
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1767225600000"},
                "messageAttributes": attributes,
                "md5OfBody": hashlib.md5(entry["Message"].encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:bench-SubscriberQueue",
                "awsRegion": REGION,
            }
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
