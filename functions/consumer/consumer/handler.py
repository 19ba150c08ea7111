"""Example subscriber: reads message events (and media.archived events) from its own SQS queue (raw SNS delivery).

Replace `handle_message` with your own work. A record that raises is reported as a partial batch failure:
only it goes back to the queue, to be retried and then moved to the queue's DLQ.
"""

from __future__ import annotations

import json
import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from twilio_inbound.cloudevent import EVENT_TYPE, MEDIA_ARCHIVED_TYPE
from twilio_inbound.redact import message_fields

logger = Logger()
log_message_content = os.environ.get("LOG_MESSAGE_CONTENT", "").strip().lower() == "true"
processor = BatchProcessor(event_type=EventType.SQS)


class NotAMessageEvent(ValueError):
    pass


def handle_message(event: dict[str, Any]) -> dict[str, Any]:
    """Checks the envelope and returns the event's data; where your integration would do its work."""
    if event.get("specversion") != "1.0" or event.get("type") not in (EVENT_TYPE, MEDIA_ARCHIVED_TYPE):
        raise NotAMessageEvent("not a twilio-inbound message event")
    data: dict[str, Any] = event["data"]
    return data


def record_handler(record: SQSRecord) -> None:
    event = json.loads(record.body)
    data = handle_message(event)
    if event["type"] == MEDIA_ARCHIVED_TYPE:  # the archived objects: read them with the MediaReadPolicy
        keys = [item["key"] if item["archived"] else None for item in data["media"]]
        logger.info("media archived", extra={"messageSid": data["messageSid"], "keys": keys})
        return
    logger.info("message delivered", extra=message_fields(data, log_message_content))


# clear_state: nothing of the previous invocation (its MessageSid as correlation id) leaks into this one's lines.
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
