"""The event subscribers receive: a CloudEvents 1.0 JSON document built from a stored record.

Built from the record alone (not from the request), so the fanout function and a replay produce the same
document for the same message, with the same `id` for subscribers to dedupe on.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from twilio_inbound.message import MessageRecord

if TYPE_CHECKING:
    from mypy_boto3_sns.type_defs import MessageAttributeValueTypeDef

EVENT_TYPE = "twilio-inbound.message.received"
DATA_SCHEMA = "urn:twilio-inbound:schema:message-received:v1"

# Fields of Twilio Event Streams' InboundMessageV1, in its order, then what that schema lacks.
DATA_FIELDS = (
    "messageSid",
    "accountSid",
    "messagingServiceSid",
    "from",
    "to",
    "body",
    "numMedia",
    "numSegments",
    "fromCity",
    "fromState",
    "fromZip",
    "fromCountry",
    "toCity",
    "toState",
    "toZip",
    "toCountry",
    "optOutType",
    "media",
    "channel",
    "keyword",
    "parameters",
)


def event_source(record: MessageRecord) -> str:
    return f"/twilio-inbound/{quote(record['accountSid'], safe='')}/{quote(record['to'], safe='')}"


def build_event(record: MessageRecord, opted_out: bool) -> dict[str, Any]:
    """`opted_out`: whether the sender has opted out of this number (STOP and no START since)."""
    data = {field: record.get(field, "") for field in DATA_FIELDS}
    data["timestamp"] = record["receivedAt"]
    data["entryPoint"] = record.get("entryPoint")
    data["optedOut"] = opted_out
    return {
        "specversion": "1.0",
        "id": record["messageSid"],
        "source": event_source(record),
        "type": EVENT_TYPE,
        "subject": record["from"],
        "time": record["receivedAt"],
        "datacontenttype": "application/json",
        "dataschema": DATA_SCHEMA,
        "data": data,
    }


def message_attributes(record: MessageRecord) -> dict[str, MessageAttributeValueTypeDef]:
    """SNS message attributes for subscription filter policies.

    At most 9, under SNS's limit of 10 for raw delivery to SQS, and without empty values, which SNS rejects.
    Everything else (optedOut, keyword, tags, ...) is filterable in the body (FilterPolicyScope: MessageBody).
    """
    entry_point = record.get("entryPoint")
    values = {
        "eventType": EVENT_TYPE,
        "to": record["to"],
        "from": record["from"],
        "channel": record["channel"],
        "fromCountry": record.get("fromCountry", ""),
        "hasMedia": "true" if record.get("media") else "false",
        "optOutType": record.get("optOutType", ""),
        "numberName": entry_point["name"] if entry_point else "",
        "routeKey": entry_point["routeKey"] if entry_point else "",
    }
    return {name: {"DataType": "String", "StringValue": value} for name, value in values.items() if value}


def encode(event: dict[str, Any]) -> str:
    # Compact and UTF-8 as is: the SNS size limit counts bytes, and escaping non-ASCII triples them.
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))
