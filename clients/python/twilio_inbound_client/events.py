"""Every event a subscriber can receive, as one type: `parse_event` gives a MessageReceived, MediaArchived or
MessageStatus (models generated from schemas/), or an UnknownEvent for a type this version does not know yet.

Fields an event has and its model lacks (a later minor version of the stack may add some) are kept, never an
error: `event.data.model_extra` holds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final, get_args

from pydantic import BaseModel, ConfigDict, Discriminator, Tag, TypeAdapter

from twilio_inbound_client.models.media_archived import Data as MediaArchivedData
from twilio_inbound_client.models.media_archived import MediaArchived
from twilio_inbound_client.models.message_received import Data as MessageReceivedData
from twilio_inbound_client.models.message_received import MessageReceived
from twilio_inbound_client.models.message_status import Data as MessageStatusData
from twilio_inbound_client.models.message_status import MessageStatus

__all__ = [
    "EVENT_TYPES",
    "MEDIA_ARCHIVED",
    "MESSAGE_RECEIVED",
    "MESSAGE_STATUS",
    "AnyEvent",
    "MediaArchived",
    "MediaArchivedData",
    "MessageReceived",
    "MessageReceivedData",
    "MessageStatus",
    "MessageStatusData",
    "TwilioInboundEvent",
    "UnknownEvent",
    "parse_event",
]


def _event_type(model: type[BaseModel]) -> str:
    """The `type` a model's schema fixes (its `const`), read from the generated model itself."""
    (value,) = get_args(model.model_fields["type"].annotation)
    return str(value)


MESSAGE_RECEIVED: Final = _event_type(MessageReceived)
MEDIA_ARCHIVED: Final = _event_type(MediaArchived)
MESSAGE_STATUS: Final = _event_type(MessageStatus)
EVENT_TYPES: Final = (MESSAGE_RECEIVED, MEDIA_ARCHIVED, MESSAGE_STATUS)
_UNKNOWN = "unknown"


class UnknownEvent(BaseModel):
    """A CloudEvent of a type this version does not know: parsed, not refused, so that a subscriber without a
    filter keeps working when the stack publishes a new kind of event. `data` stays as it came."""

    model_config = ConfigDict(extra="allow")
    specversion: str
    id: str
    source: str
    type: str
    data: Any = None


def _tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, Mapping) else getattr(value, "type", None)
    return kind if kind in EVENT_TYPES else _UNKNOWN


TwilioInboundEvent = Annotated[
    Annotated[MessageReceived, Tag(MESSAGE_RECEIVED)]
    | Annotated[MediaArchived, Tag(MEDIA_ARCHIVED)]
    | Annotated[MessageStatus, Tag(MESSAGE_STATUS)]
    | Annotated[UnknownEvent, Tag(_UNKNOWN)],
    Discriminator(_tag),
]
"""Any event of the stack, chosen by its `type`: the model for Powertools' parser and batch processor."""

AnyEvent = MessageReceived | MediaArchived | MessageStatus | UnknownEvent  # what TwilioInboundEvent parses into
_EVENTS: TypeAdapter[TwilioInboundEvent] = TypeAdapter(TwilioInboundEvent)


def parse_event(document: str | bytes | Mapping[str, Any]) -> AnyEvent:
    """A CloudEvent (JSON text, or already decoded) as its model; pydantic's ValidationError when it is not one
    of ours, or a known type whose fields are wrong."""
    if isinstance(document, str | bytes):
        return _EVENTS.validate_json(document)
    return _EVENTS.validate_python(document)
