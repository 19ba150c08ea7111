"""WhatsApp's customer service window: free-form messages only within 24 hours of the customer's last message.

Outside it, WhatsApp allows only an approved template (a Content Template: the command's contentSid), and Twilio
fails a free-form message later, as a delivery status (error 63016). The stack refuses such a command before
Twilio is called, from the stored thread: the customer's last inbound message in the conversation.

The edge: the window is taken to close EDGE_MARGIN before 24 hours after the last message's `receivedAt`. That
time is when the webhook stored it, a little after WhatsApp received it (the webhook's latency, a retry); the
margin covers that and the clocks of two Lambda functions. A message still in flight (the customer wrote, the
webhook has not stored it yet) does not open the window: the command is refused, and a new command (a new
idempotencyKey) sent once the message is in succeeds. A command checked inside the window whose message Twilio
sends after it closed (its queue, a retry) fails with 63016: Twilio's own check is the backstop, and the status
event carries the code.

Pure domain code: the caller reads the thread.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from twilio_inbound.clock import iso_millis

WINDOW = timedelta(hours=24)
EDGE_MARGIN = timedelta(seconds=60)
TWILIO_ERROR = 63016  # "Failed to send freeform message because you are outside the allowed window"


def needs_window(recipient: str, template: bool) -> bool:
    """A free-form message to a WhatsApp address (a template is allowed at any time)."""
    return not template and recipient.startswith("whatsapp:")


def window_opens_after(now: datetime) -> str:
    """The earliest `receivedAt` of a customer message that keeps the window open at `now`."""
    return iso_millis(now - WINDOW + EDGE_MARGIN)


CLOSED = (
    "WhatsApp's 24-hour customer service window is closed (no message from the customer in the last 24 hours): "
    f"send an approved template (contentSid); Twilio would fail a free-form message with error {TWILIO_ERROR}"
)
