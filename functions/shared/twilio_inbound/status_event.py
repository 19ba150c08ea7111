"""The delivery status event: a CloudEvents 1.0 document of type `twilio-inbound.message.status`, published on
the messages topic beside `message.received` (subscribers select with a filter policy on `eventType`).

Built from a stored outbound item when its status moves forward (the fanout, from the table's stream), or from
the send intent of a command that produced no message: refused by the stack, failed at Twilio's create call, or
of unknown outcome (the sender). The `id` is `<MessageSid or idempotencyKey>:<status>`: one event per status.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import quote

from twilio_inbound.cloudevent import NOT_SQS_TEXT, encode
from twilio_inbound.message import channel_of
from twilio_inbound.publishing import Outgoing
from twilio_inbound.sends_table import SendIntent

if TYPE_CHECKING:
    from mypy_boto3_sns.type_defs import MessageAttributeValueTypeDef

STATUS_EVENT_TYPE = "twilio-inbound.message.status"
STATUS_DATA_SCHEMA = "urn:twilio-inbound:schema:message-status:v1"

# Functional form: "from" is a Python keyword.
StatusData = TypedDict(
    "StatusData",
    {
        "messageSid": str,  # "" when Twilio never created the message
        "idempotencyKey": str,  # the send command's key ("" for a message not sent through the stack)
        "accountSid": str,
        "messagingServiceSid": str,
        "from": str,
        "to": str,
        "channel": str,
        "status": str,  # Twilio's MessageStatus, or the stack's own: refused, unknown
        "errorCode": int | None,
        "reason": str,  # why, for refused, failed and unknown outcomes without a message
        "inReplyTo": str,
        "timestamp": str,
    },
)


def status_data_from_item(values: dict[str, Any]) -> StatusData:
    """From a stored outbound item (a stream image) whose status just moved forward."""
    return {
        "messageSid": str(values["messageSid"]),
        "idempotencyKey": str(values.get("idempotencyKey", "")),
        "accountSid": str(values.get("accountSid", "")),
        "messagingServiceSid": str(values.get("messagingServiceSid", "")),
        "from": str(values.get("from", "")),
        "to": str(values.get("to", "")),
        "channel": str(values.get("channel", "")),
        "status": str(values["status"]),
        "errorCode": values.get("errorCode"),
        "reason": "",
        "inReplyTo": str(values.get("inReplyTo", "")),
        "timestamp": str(values.get("statusAt", "")),
    }


def status_data_from_intent(intent: SendIntent, at: str) -> StatusData:
    """From a command that produced no message (refused, failed or unknown)."""
    return {
        "messageSid": intent.message_sid,
        "idempotencyKey": intent.key,
        "accountSid": intent.account_sid,
        "messagingServiceSid": "",
        "from": intent.sender,
        "to": intent.to,
        "channel": channel_of(intent.sender, intent.to, 0) if intent.to else "",
        "status": intent.state,
        "errorCode": intent.error_code,
        "reason": intent.reason,
        "inReplyTo": intent.in_reply_to,
        "timestamp": at,
    }


def status_event(data: StatusData) -> dict[str, Any]:
    sender = data["from"] or data["messagingServiceSid"]
    return {
        "specversion": "1.0",
        "id": f"{data['messageSid'] or data['idempotencyKey']}:{data['status']}",
        "source": f"/twilio-inbound/{quote(data['accountSid'], safe='')}/{quote(sender, safe='')}",
        "type": STATUS_EVENT_TYPE,
        "subject": data["to"],
        "time": data["timestamp"],
        "datacontenttype": "application/json",
        "dataschema": STATUS_DATA_SCHEMA,
        "data": dict(data),
    }


def status_attributes(data: StatusData) -> dict[str, MessageAttributeValueTypeDef]:
    """SNS message attributes for filter policies (empty or SQS-unsafe values left out, as for message events)."""
    values = {
        "eventType": STATUS_EVENT_TYPE,
        "status": data["status"],
        "to": data["to"],
        "from": data["from"],
        "channel": data["channel"],
    }
    return {
        name: {"DataType": "String", "StringValue": value}
        for name, value in values.items()
        if value and not NOT_SQS_TEXT.search(value)
    }


def status_outgoing(position: int, data: StatusData) -> Outgoing:
    event = status_event(data)
    return Outgoing(position, str(event["id"]), encode(event), status_attributes(data))
