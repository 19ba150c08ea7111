"""A downstream service written only against the subscribers' package (twilio_inbound_client), with boto3 for its
own queue, as a team plugging a help desk into the stack would write it: read the queue, parse each event, answer
each customer's message through the stack, follow the answers' delivery statuses."""

from __future__ import annotations

from typing import Any

from twilio_inbound_client import MessageReceived, MessageStatus, SendCommand, Sender, parse_event

ANSWER = "Ticket opened: we will text you back within the hour."


class HelpDesk:
    def __init__(self, sqs: Any, queue_url: str, outbound_queue_url: str) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._sender = Sender(outbound_queue_url, sqs)
        self.received: list[MessageReceived] = []
        self.answers: list[SendCommand] = []
        self.statuses: list[MessageStatus] = []

    def poll(self) -> int:
        """One receive from the queue: each event handled, then deleted. Returns how many there were."""
        messages = self._sqs.receive_message(QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in messages.get("Messages", []):
            event = parse_event(message["Body"])
            if isinstance(event, MessageReceived):
                self.received.append(event)
                self.answers.append(self._sender.reply(event, ANSWER))
            elif isinstance(event, MessageStatus):
                self.statuses.append(event)
            self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages.get("Messages", []))

    def final_status(self, answer: SendCommand) -> str | None:
        """The answer's delivery status once Twilio reported a final one (delivered, undelivered, failed)."""
        for event in self.statuses:
            if event.data.idempotencyKey == answer.idempotencyKey and event.data.status in (
                "delivered",
                "undelivered",
                "failed",
            ):
                return event.data.status
        return None
