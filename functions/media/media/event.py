"""The media function's input (the message event, as SNS delivered it to its queue) and its output, the
`twilio-inbound.media.archived` CloudEvent (schemas/media-archived.v1.json).

The message event is published at once and never waits for media; this event follows, once per message with
media, after every attachment is either archived (and verified in S3) or known not to be archivable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal, TypedDict

from twilio_inbound.cloudevent import EVENT_TYPE, MEDIA_ARCHIVED_TYPE, encode, event_source, message_attributes
from twilio_inbound.publishing import Outgoing

DATA_SCHEMA = "urn:twilio-inbound:schema:media-archived:v1"
# What the media event repeats from the message event, so a subscriber needs only one of them.
MESSAGE_FIELDS = ("messageSid", "accountSid", "from", "to", "channel", "numMedia", "entryPoint")


class NotAMessageEvent(ValueError):
    pass


class ArchivedMedia(TypedDict):
    url: str  # the MediaUrl Twilio sent
    contentType: str  # as stored (what Twilio served)
    archived: Literal[True]
    bucket: str
    key: str
    size: int
    sha256: str  # hex


class UnarchivedMedia(TypedDict):
    url: str
    contentType: str  # the webhook's MediaContentType
    archived: Literal[False]
    reason: str


MediaOutcome = ArchivedMedia | UnarchivedMedia


def message_of(body: str) -> dict[str, Any]:
    """The message event's data from an SQS body: raw SNS delivery, or an SNS envelope (a dead letter SNS
    itself redrove, moved back by `twilio-inbound media replay`)."""
    try:
        event = json.loads(body)
        if isinstance(event, dict) and event.get("Type") == "Notification":
            event = json.loads(event["Message"])
    except (ValueError, KeyError, TypeError) as error:
        raise NotAMessageEvent(f"not JSON: {type(error).__name__}") from error
    if not isinstance(event, dict) or event.get("type") != EVENT_TYPE or not isinstance(event.get("data"), dict):
        raise NotAMessageEvent(f"not a {EVENT_TYPE} event")
    data: dict[str, Any] = event["data"]
    if not isinstance(data.get("messageSid"), str) or not isinstance(data.get("media"), list):
        raise NotAMessageEvent("the event has no messageSid or media")
    return data


def media_archived_event(message: Mapping[str, Any], media: list[MediaOutcome], time: str) -> dict[str, Any]:
    data = {field: message.get(field) for field in MESSAGE_FIELDS}
    data["media"] = media
    data["archivedAt"] = time
    return {
        "specversion": "1.0",
        "id": f"{message['messageSid']}:media",
        "source": event_source(message),
        "type": MEDIA_ARCHIVED_TYPE,
        "subject": message["from"],
        "time": time,
        "datacontenttype": "application/json",
        "dataschema": DATA_SCHEMA,
        "data": data,
    }


def outgoing(message: Mapping[str, Any], event: dict[str, Any]) -> Outgoing:
    """The event as one SNS entry, with its message's attributes (to, from, channel, routeKey, ...)."""
    return Outgoing(
        position=0,
        message_sid=str(message["messageSid"]),
        message=encode(event),
        attributes=message_attributes(message, MEDIA_ARCHIVED_TYPE),
    )
