"""Example subscriber: reads message events (and media.archived events) from its own SQS queue (raw SNS delivery).

Replace `handle_message` with your own work. A record that raises is reported as a partial batch failure:
only it goes back to the queue, to be retried and then moved to the queue's DLQ.

With AUTO_REPLY_TEXT set, it also answers each inbound message the way any service sends: a send command with
`inReplyTo` on the stack's outbound queue (sender, recipient and channel come from the inbound message). The
idempotencyKey is derived from the inbound MessageSid, so an event delivered twice is answered once. Replies are
bounded per conversation and window, and a message reconcile recovered late is not answered (replies.py).
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from consumer.replies import ReplyBudget, ReplyPolicy, too_old
from twilio_inbound.clock import utc_now
from twilio_inbound.cloudevent import EVENT_TYPE, MEDIA_ARCHIVED_TYPE
from twilio_inbound.redact import message_fields

logger = Logger()
log_message_content = os.environ.get("LOG_MESSAGE_CONTENT", "").strip().lower() == "true"
processor = BatchProcessor(event_type=EventType.SQS)
auto_reply_text = os.environ.get("AUTO_REPLY_TEXT", "")
policy = ReplyPolicy.from_env()
# Only when replying: the example otherwise makes no AWS call at all.
outbound_queue = (os.environ["OUTBOUND_QUEUE_URL"], boto3.client("sqs")) if auto_reply_text else None
budget = (
    ReplyBudget(boto3.client("dynamodb"), os.environ["AUTO_REPLIES_TABLE_NAME"], policy, utc_now)
    if auto_reply_text
    else None
)


class NotAMessageEvent(ValueError):
    pass


def handle_message(event: dict[str, Any]) -> dict[str, Any]:
    """Checks the envelope and returns the event's data; where your integration would do its work."""
    if event.get("specversion") != "1.0" or event.get("type") not in (EVENT_TYPE, MEDIA_ARCHIVED_TYPE):
        raise NotAMessageEvent("not a twilio-inbound message event")
    data: dict[str, Any] = event["data"]
    return data


def reply_command(data: dict[str, Any], text: str) -> dict[str, str] | None:
    """The send command answering an inbound message; None for STOP, START and HELP, which Twilio answers itself.
    (A sender who opted out is not answered either: the stack's sender refuses the command, with an event.)"""
    if data.get("optOutType"):
        return None
    return {"inReplyTo": data["messageSid"], "body": text, "idempotencyKey": f"auto-reply:{data['messageSid']}"}


def record_handler(record: SQSRecord) -> None:
    event = json.loads(record.body)
    data = handle_message(event)
    if event["type"] == MEDIA_ARCHIVED_TYPE:  # the archived objects: read them with the MediaReadPolicy
        keys = [item["key"] if item["archived"] else None for item in data["media"]]
        logger.info("media archived", extra={"messageSid": data["messageSid"], "keys": keys})
        return
    logger.info("message delivered", extra=message_fields(data, log_message_content))
    command = reply_command(data, auto_reply_text) if outbound_queue else None
    if command is None or outbound_queue is None or budget is None:
        return
    withheld = too_old(data, policy, utc_now())
    if not withheld and not budget.take(f"{data['to']}|{data['from']}", data["messageSid"]):
        withheld = f"more than {policy.limit} replies in this conversation within {policy.window_seconds} s"
    if withheld:
        logger.info("reply withheld", extra={"inReplyTo": command["inReplyTo"], "reason": withheld})
        return
    queue_url, sqs = outbound_queue
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(command, ensure_ascii=False))
    logger.info("reply queued", extra={"inReplyTo": command["inReplyTo"]})


# clear_state: nothing of the previous invocation (its MessageSid as correlation id) leaks into this one's lines.
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
