"""Commands that can never be sent as written go to the queue's dead-letter queue at once, with the reason, instead
of being retried until SQS gives up (which would say nothing about why)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from twilio_inbound.cloudevent import NOT_SQS_TEXT

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

MAX_REASON_CHARS = 1024


class DeadLetters:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, body: str, reason: str, source_message_id: str) -> None:
        """The command as received, with `reason` and the source message's id as message attributes."""
        safe_reason = NOT_SQS_TEXT.sub("?", reason)[:MAX_REASON_CHARS] or "malformed"
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=body,
            MessageAttributes={
                "reason": {"DataType": "String", "StringValue": safe_reason},
                "sourceMessageId": {"DataType": "String", "StringValue": source_message_id or "unknown"},
            },
        )
