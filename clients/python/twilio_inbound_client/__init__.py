"""twilio-inbound-client: the events of a twilio-inbound stack as typed models, and sending through it.

    from twilio_inbound_client import MessageReceived, Sender, parse_event

    event = parse_event(sqs_message_body)          # MessageReceived | MediaArchived | MessageStatus | UnknownEvent
    if isinstance(event, MessageReceived):
        Sender(outbound_queue_url).reply(event, "Thanks, we got it.")

Powertools' parser and batch processor: `twilio_inbound_client.envelopes`. docs/subscribers.md has the rest.
"""

from twilio_inbound_client.commands import SendCommand
from twilio_inbound_client.events import (
    EVENT_TYPES,
    MEDIA_ARCHIVED,
    MESSAGE_RECEIVED,
    MESSAGE_STATUS,
    AnyEvent,
    MediaArchived,
    MediaArchivedData,
    MessageReceived,
    MessageReceivedData,
    MessageStatus,
    MessageStatusData,
    TwilioInboundEvent,
    UnknownEvent,
    parse_event,
)
from twilio_inbound_client.sender import Sender

__version__ = "1.0.0"
SCHEMA_VERSION = 1  # the events' and the command's schemas (schemas/*.v1.json): the package's major version

__all__ = [
    "EVENT_TYPES",
    "MEDIA_ARCHIVED",
    "MESSAGE_RECEIVED",
    "MESSAGE_STATUS",
    "SCHEMA_VERSION",
    "AnyEvent",
    "MediaArchived",
    "MediaArchivedData",
    "MessageReceived",
    "MessageReceivedData",
    "MessageStatus",
    "MessageStatusData",
    "SendCommand",
    "Sender",
    "TwilioInboundEvent",
    "UnknownEvent",
    "parse_event",
]
