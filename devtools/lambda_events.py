"""The records Lambda's event source mappings hand a function: SQS messages and DynamoDB stream records.

One builder each, for the local stack's pollers, the files in events/, the benchmark's workload and the tests.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from twilio_inbound.message import MessageRecord, build_record, check_parameters, group_pairs
from twilio_inbound.message_item import message_item


def _region(arn: str) -> str:
    return arn.split(":")[3]


def lambda_message_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Message attributes as SQS and SNS spell them (StringValue, DataType), as Lambda's SQS event does."""
    return {
        name: {"stringValue": value.get("StringValue"), "dataType": value["DataType"]}
        for name, value in attributes.items()
    }


def sqs_record(
    *,
    message_id: str,
    receipt_handle: str,
    body: str,
    queue_arn: str,
    attributes: Mapping[Any, str],  # SQS system attributes (SentTimestamp, ...)
    message_attributes: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """One message of an SQS event (`message_attributes` as SQS or SNS spell them)."""
    return {
        "messageId": message_id,
        "receiptHandle": receipt_handle,
        "body": body,
        "attributes": dict(attributes),
        "messageAttributes": lambda_message_attributes(message_attributes),
        "md5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": _region(queue_arn),
    }


def stored_record(pairs: list[tuple[str, str]], received_at: datetime) -> MessageRecord:
    """What the ingest function stores for a valid form posted at `received_at` (to an unregistered number)."""
    return build_record(check_parameters(group_pairs(pairs)), received_at)


def as_event_json(item: Mapping[str, Any]) -> dict[str, Any]:
    """A typed item as a JSON event carries it: binary (B) as base64 text, as Lambda's stream events do."""
    return {
        name: {"B": base64.b64encode(value["B"]).decode()} if "B" in value else dict(value)
        for name, value in item.items()
    }


def stream_record(
    record: MessageRecord, *, event_id: str, sequence_number: int, stream_arn: str, created_at: datetime
) -> dict[str, Any]:
    """The INSERT record the messages table's stream (NEW_IMAGE) carries for a stored message, as Lambda's JSON
    event spells it (binary values as base64 text)."""
    item = as_event_json(message_item(record))
    return {
        "eventID": event_id,
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": _region(stream_arn),
        "dynamodb": {
            "ApproximateCreationDateTime": created_at.timestamp(),
            "Keys": {"messageSid": item["messageSid"]},  # the table's partition key
            "NewImage": item,
            "SequenceNumber": str(sequence_number),
            "SizeBytes": len(json.dumps(item)),
            "StreamViewType": "NEW_IMAGE",
        },
        "eventSourceARN": stream_arn,
    }
