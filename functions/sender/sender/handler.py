"""Sender function: send commands from the outbound queue -> checked (registry, opt-outs, idempotency) -> Twilio's
Messages API through the official SDK, with a StatusCallback to this stack -> the outbound message stored.

A command that raises is reported as a partial batch failure (nothing was sent for it): SQS delivers it again
after the queue's visibility timeout, and moves it to the queue's DLQ after maxReceiveCount deliveries.
"""

from __future__ import annotations

import time
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from sender.accounts import TwilioAccounts
from sender.dead_letters import DeadLetters
from sender.sending import Sender, SendLater
from sender.service_pools import ServicePools
from sender.settings import SenderSettings
from twilio_inbound.clock import utc_now
from twilio_inbound.messages_table import MessageStore
from twilio_inbound.numbers_table import NumberRegistry
from twilio_inbound.opt_outs_table import OptOutStore
from twilio_inbound.outbound_table import OutboundStore
from twilio_inbound.publishing import event_publisher
from twilio_inbound.redact import mask_numbers
from twilio_inbound.sends_table import SendIntentStore
from twilio_inbound.twilio_rest import Backoff

logger = Logger()
metrics = Metrics()
settings = SenderSettings.from_env()
dynamodb = boto3.client("dynamodb")
processor = BatchProcessor(event_type=EventType.SQS)
accounts = TwilioAccounts(settings.secrets.load, settings.twilio_api_url, settings.twilio_timeout_seconds)
sender = Sender(
    intents=SendIntentStore(dynamodb, settings.sends_table_name),
    messages=MessageStore(dynamodb, settings.table_name, settings.opt_outs_table_name),
    outbound=OutboundStore(dynamodb, settings.table_name, settings.retention_days),
    registry=NumberRegistry(dynamodb, settings.numbers_table_name, ttl=settings.registry_cache_seconds),
    optouts=OptOutStore(dynamodb, settings.opt_outs_table_name),
    pools=ServicePools(accounts, ttl=settings.registry_cache_seconds),
    publisher=event_publisher(settings.topic_arn, settings.event_bus_name, boto3.client),
    dead_letters=DeadLetters(boto3.client("sqs"), settings.dead_letter_queue_url),
    accounts=accounts,
    status_callback_url=settings.status_callback_url,
    in_flight_seconds=settings.in_flight_seconds,
    max_deliveries=settings.max_deliveries,
    backoff=Backoff(attempts=settings.attempts, max_seconds=4.0),
    now=utc_now,
    sleep=time.sleep,
)
METRICS = {
    "sent": "MessagesSent",
    "duplicate": "DuplicateCommands",
    "refused": "CommandsRefused",
    "failed": "SendsFailed",
    "unknown": "SendsUnknown",
    "malformed": "MalformedCommands",
}


def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> None:
    # Not started without the time it may take, so nothing sent: SQS delivers it again (or, on its last delivery,
    # it is given up) rather than the function timing out mid-call.
    time_left = lambda_context.get_remaining_time_in_millis() >= settings.command_budget_seconds * 1000
    try:
        outcome = sender.handle(
            record.body, record.message_id, int(record.attributes.approximate_receive_count or 1), time_left=time_left
        )
    except SendLater as later:
        metrics.add_metric(name="SendsRetried", unit=MetricUnit.Count, value=1)
        reason = mask_numbers(str(later), settings.log_message_content)
        logger.warning("send deferred", extra={"sqsMessageId": record.message_id, "reason": reason})
        raise
    metrics.add_metric(name=METRICS[outcome.kind], unit=MetricUnit.Count, value=1)
    fields = {
        "sqsMessageId": record.message_id,
        "idempotencyKey": outcome.key,
        "messageSid": outcome.message_sid,
        "outcome": outcome.kind,
        "reason": mask_numbers(outcome.reason, settings.log_message_content),
        "errorCode": outcome.error_code,
    }
    if outcome.kind in ("sent", "duplicate"):
        logger.info("command handled", extra=fields)
    else:
        logger.warning("command not sent", extra=fields)


# clear_state: nothing of the previous invocation leaks into this one's lines.
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
