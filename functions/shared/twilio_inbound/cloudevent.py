"""The event subscribers receive: a CloudEvents 1.0 JSON document built from a stored record.

Built from the record alone (not from the request), so the fanout function and a replay produce the same
document for the same message, with the same `id` for subscribers to dedupe on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import quote

from twilio_inbound.message import MessageRecord

if TYPE_CHECKING:
    from mypy_boto3_sns.type_defs import MessageAttributeValueTypeDef

# Characters SQS refuses in a message body or attribute value: SNS accepts them, but its raw delivery to an SQS
# subscriber then fails and the message is dropped (SQS allows #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD
# #x10000-#x10FFFF).
NOT_SQS_TEXT = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

EVENT_TYPE = "twilio-inbound.message.received"
# Follows a message with media once each attachment is archived in the stack's bucket (or known not to be).
MEDIA_ARCHIVED_TYPE = "twilio-inbound.media.archived"
MAX_SNS_MESSAGE_BYTES = 256 * 1024  # SNS's limit for one message, body and attributes together
# The EventBridge `source` of every event the stack puts on its bus (PublishTo): rules match on it.
EVENT_SOURCE = "twilio-inbound"
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


def event_source(record: Mapping[str, Any]) -> str:
    return f"/twilio-inbound/{quote(record['accountSid'], safe='')}/{quote(record['to'], safe='')}"


class InReplyTo(TypedDict):
    """The last message the stack sent in the conversation before an inbound one arrived (reply correlation)."""

    messageSid: str
    idempotencyKey: str  # the send command's; "" for a reply Twilio sent from the webhook's TwiML
    sentAt: str  # its receivedAt: when the stack handed it to Twilio


# The largest `inReplyTo` an event can carry (a SID, a 128-character key, a timestamp): what the webhook counts
# for a message whose event is built later (published_bytes).
LARGEST_IN_REPLY_TO: InReplyTo = {
    "messageSid": "SM" + "0" * 32,
    "idempotencyKey": "k" * 128,
    "sentAt": "2026-01-01T00:00:00.000Z",
}


def build_event(record: MessageRecord, opted_out: bool, in_reply_to: InReplyTo | None = None) -> dict[str, Any]:
    """`opted_out`: whether the sender has opted out of this number (STOP and no START since). `in_reply_to`:
    the message the stack sent last in the conversation before this one arrived, within the window, or None."""
    data = {field: record.get(field, "") for field in DATA_FIELDS}
    data["timestamp"] = record["receivedAt"]
    data["entryPoint"] = record.get("entryPoint")
    data["optedOut"] = opted_out
    data["inReplyTo"] = dict(in_reply_to) if in_reply_to else None
    if record.get("recovered"):
        data["recovered"] = True  # stored by reconcile: Twilio's API has no city/state/zip fields
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


def message_attributes(
    record: Mapping[str, Any], event_type: str = EVENT_TYPE, in_reply_to: InReplyTo | None = None
) -> dict[str, MessageAttributeValueTypeDef]:
    """SNS message attributes for subscription filter policies (a stored record or an event's data: the same
    field names); media.archived events carry the attributes of their message, with their own eventType.
    `inReplyToKey`: the idempotencyKey of the message this one answers (the record's, or an event's data's
    inReplyTo), so a service filters the answers to its own commands ({"inReplyToKey": [{"prefix": "survey:"}]}).

    At most 10, SNS's limit for raw delivery to SQS, and without empty values, which SNS rejects, or values SQS
    would refuse (the attribute is left out; the body still carries the field, escaped).
    Everything else (optedOut, keyword, tags, ...) is filterable in the body (FilterPolicyScope: MessageBody).
    """
    entry_point = record.get("entryPoint")
    answered = in_reply_to if in_reply_to is not None else record.get("inReplyTo")
    values = {
        "eventType": event_type,
        "to": record["to"],
        "from": record["from"],
        "channel": record["channel"],
        "fromCountry": record.get("fromCountry", ""),
        "hasMedia": "true" if record.get("media") else "false",
        "optOutType": record.get("optOutType", ""),
        "numberName": entry_point["name"] if entry_point else "",
        "routeKey": entry_point["routeKey"] if entry_point else "",
        "inReplyToKey": answered["idempotencyKey"] if answered else "",
    }
    return {
        name: {"DataType": "String", "StringValue": value}
        for name, value in values.items()
        if value and not NOT_SQS_TEXT.search(value)
    }


def attributes_bytes(attributes: dict[str, MessageAttributeValueTypeDef]) -> int:
    """What SNS counts for message attributes: names, data types and values."""
    return sum(
        len(name) + len(value["DataType"]) + len(value.get("StringValue", "").encode())
        for name, value in attributes.items()
    )


def published_bytes(record: MessageRecord) -> int:
    """The size SNS or EventBridge (whichever counts more) will count for this record's event, at its largest
    (optedOut false, the largest inReplyTo)."""
    attributes = message_attributes(record, in_reply_to=LARGEST_IN_REPLY_TO)
    return len(encode(build_event(record, False, LARGEST_IN_REPLY_TO)).encode()) + max(
        attributes_bytes(attributes), len(EVENT_SOURCE) + len(EVENT_TYPE)
    )


def encode(event: dict[str, Any]) -> str:
    # Compact and UTF-8 as is: the SNS size limit counts bytes, and escaping non-ASCII triples them. json
    # escapes control characters itself; what else SQS refuses (U+FFFE, U+FFFF) is escaped here.
    text = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    return NOT_SQS_TEXT.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
