"""Example subscriber, written only against the subscribers' package (twilio-inbound-client, clients/python) and
Powertools, as a service of yours would be: copy this folder and its Makefile.

Its own queue delivers the events (SNS raw delivery, or with PublishTo=EventBridge the bus's rule with InputPath
$.detail: the same body). Powertools' batch processor parses each record with the package's record model, so the
handler gets a MessageReceived or MediaArchived; a record that does not parse, or that raises, is reported as a
partial batch failure: only it goes back to the queue, to be retried and then moved to the queue's DLQ.

Replace `handle_message` with your own work. With AUTO_REPLY_TEXT set, it also answers each inbound message the
way any service sends: `Sender.reply`, a send command with `inReplyTo` on the stack's outbound queue (sender,
recipient and channel come from the inbound message). Its idempotencyKey comes from the inbound MessageSid, so an
event delivered twice is answered once. Replies are bounded per conversation and window, and a message reconcile
recovered late is not answered (replies.py).
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from consumer.replies import ReplyBudget, ReplyPolicy, too_old
from twilio_inbound_client import AnyEvent, MediaArchived, MessageReceived, Sender
from twilio_inbound_client.envelopes import EventSqsRecord

logger = Logger()
log_message_content = os.environ.get("LOG_MESSAGE_CONTENT", "").strip().lower() == "true"
processor = BatchProcessor(event_type=EventType.SQS, model=EventSqsRecord)
auto_reply_text = os.environ.get("AUTO_REPLY_TEXT", "")
# Only when replying: the example otherwise makes no AWS call at all.
sender = Sender(os.environ["OUTBOUND_QUEUE_URL"]) if auto_reply_text else None
policy = ReplyPolicy.from_env()
budget = ReplyBudget(boto3.client("dynamodb"), os.environ["AUTO_REPLIES_TABLE_NAME"], policy) if sender else None


class NotAMessageEvent(ValueError):
    pass


def handle_message(event: AnyEvent) -> MessageReceived | MediaArchived:
    """Where your integration would do its work. The subscription's filter lets only these two types through."""
    if not isinstance(event, MessageReceived | MediaArchived):
        raise NotAMessageEvent(f"not an event this subscriber takes: {event.type}")
    return event


def _message_fields(event: MessageReceived) -> dict[str, Any]:
    """Log fields; the sender's and recipient's numbers and the body only with LOG_MESSAGE_CONTENT=true."""
    data = event.data
    fields = {"messageSid": data.messageSid, "channel": data.channel, "numMedia": data.numMedia}
    if log_message_content:
        return {**fields, "from": data.from_, "to": data.to, "body": data.body}
    return {**fields, "bodyChars": len(data.body)}


def record_handler(record: EventSqsRecord) -> None:
    event = handle_message(record.body)
    if isinstance(event, MediaArchived):  # the archived objects: read them with the MediaReadPolicy
        keys = [getattr(item, "key", None) for item in event.data.media]  # None: not archived (item.reason says why)
        logger.info("media archived", extra={"messageSid": event.data.messageSid, "keys": keys})
        return
    logger.info("message delivered", extra=_message_fields(event))
    # STOP, START and HELP are answered by Twilio; an opted-out sender is refused by the stack (with an event).
    data = event.data
    if sender is None or budget is None or data.optOutType:
        return
    withheld = too_old(bool(data.recovered), data.timestamp, policy) or budget.withheld(
        f"{data.to}|{data.from_}", data.messageSid
    )
    if withheld:
        logger.info("reply withheld", extra={"inReplyTo": data.messageSid, "reason": withheld})
        return
    command = sender.reply(event, auto_reply_text, idempotency_key=f"auto-reply:{data.messageSid}")
    logger.info("reply queued", extra={"inReplyTo": command.inReplyTo})


# clear_state: nothing of the previous invocation (its MessageSid as correlation id) leaks into this one's lines.
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
