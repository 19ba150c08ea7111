"""Sending through the stack: a send command on its outbound queue (the `OutboundQueueUrl` output; the caller's
role needs `sqs:SendMessage` on `OutboundQueueArn`, nothing else). The stack's sender sends each
`idempotencyKey` at most once and publishes the outcome as `message.status` events.

boto3 is needed only here (the `sender` extra); Lambda's runtime has it already.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from twilio_inbound_client.commands import SendCommand
from twilio_inbound_client.events import MessageReceived

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

REPLY_KEY_PREFIX = "reply:"


class Sender:
    def __init__(self, queue_url: str, sqs: SQSClient | None = None) -> None:
        if sqs is None:
            import boto3  # the `sender` extra: only a service that sends needs it

            sqs = boto3.client("sqs")
        self._sqs = sqs
        self._queue_url = queue_url

    def send(
        self,
        *,
        to: str,
        from_: str,
        idempotency_key: str,
        body: str | None = None,
        media_urls: Sequence[str] | None = None,
        account_sid: str | None = None,
        content_sid: str | None = None,
        content_variables: Mapping[str, str] | None = None,
    ) -> SendCommand:
        """A message from `from_` (a registered number or address, an entry point's name, or a Messaging Service
        SID) to `to`: a body and/or media, or a Content Template (`content_sid`, HX…, with its variables; on
        WhatsApp, the only message allowed outside the customer's 24-hour window). `idempotency_key` is yours, one
        per message you mean to send: the stack never sends one key twice, so a retry of this call (after a
        timeout, say) is safe."""
        command = SendCommand.model_validate(
            _present(
                {
                    "idempotencyKey": idempotency_key,
                    "to": to,
                    "from": from_,
                    "body": body,
                    "mediaUrls": list(media_urls) if media_urls is not None else None,
                    "accountSid": account_sid,
                    "contentSid": content_sid,
                    "contentVariables": dict(content_variables) if content_variables is not None else None,
                }
            )
        )
        return self.put(command)

    def reply(
        self,
        to_event: MessageReceived,
        body: str | None = None,
        *,
        media_urls: Sequence[str] | None = None,
        idempotency_key: str | None = None,
        content_sid: str | None = None,
        content_variables: Mapping[str, str] | None = None,
    ) -> SendCommand:
        """An answer to an inbound message, from the number it was sent to, on its channel (a body and/or media, or
        a Content Template). The key defaults to `reply:<MessageSid>`: one reply per message, however often the
        event is delivered; pass your own key to answer one message more than once."""
        message_sid = to_event.data.messageSid
        command = SendCommand.model_validate(
            _present(
                {
                    "idempotencyKey": idempotency_key or f"{REPLY_KEY_PREFIX}{message_sid}",
                    "inReplyTo": message_sid,
                    "body": body,
                    "mediaUrls": list(media_urls) if media_urls is not None else None,
                    "contentSid": content_sid,
                    "contentVariables": dict(content_variables) if content_variables is not None else None,
                }
            )
        )
        return self.put(command)

    def put(self, command: SendCommand) -> SendCommand:
        """Queues a command built by hand; returns it as queued."""
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=command.to_json())
        return command


def _present(fields: dict[str, object]) -> dict[str, object]:
    return {name: value for name, value in fields.items() if value is not None}
