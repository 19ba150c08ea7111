"""Reply correlation: which message of ours an inbound message answers.

An inbound message's event names the last message the stack sent in the same conversation (the thread's key,
"our number|theirs") before the inbound one was received, within a window (the template's ReplyWindowMinutes), or
none. "Before its receipt time" makes it deterministic: a replay of the message names the same one, whatever was
sent since. Computed off the webhook's path, where the event is built (the fanout, a replay), from the
ByConversation index: its keys newest first, then the few fields of each item that say its direction.

What it cannot know: a message the customer answers that was sent from another system; an answer to an older
message of ours than the last one (it names the last one); a message of ours whose item was written after the
inbound one was published (a status callback that stored it late names the message for a later replay).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from twilio_inbound.clock import iso_millis
from twilio_inbound.cloudevent import InReplyTo
from twilio_inbound.message import MessageRecord
from twilio_inbound.messages_table import MessageStore


class LastSent:
    def __init__(self, messages: MessageStore, window_minutes: int) -> None:
        self._messages = messages
        self._window = timedelta(minutes=window_minutes)

    def before(self, record: MessageRecord) -> InReplyTo | None:
        """The last message sent in the record's conversation in [receivedAt - window, receivedAt), or None (and
        None, without a read, when the window is 0: correlation off). AWS errors propagate."""
        if self._window <= timedelta(0):
            return None
        received_at = record["receivedAt"]
        since = iso_millis(datetime.fromisoformat(received_at) - self._window)
        found = self._messages.latest(record["conversation"], "outbound", since, received_at)
        if found is None:
            return None
        return {"messageSid": found.message_sid, "idempotencyKey": found.idempotency_key, "sentAt": found.at}
