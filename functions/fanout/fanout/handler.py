"""Fanout function: the messages table's stream (the outbox) -> one CloudEvent per new inbound message, and per
forward move of an outbound message's status, on the SNS topic, the EventBridge bus, or both (PublishTo)."""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from fanout.outbox import fan_out
from twilio_inbound.messages_table import MessageStore
from twilio_inbound.opt_outs_table import OptOutStore
from twilio_inbound.publishing import event_publisher
from twilio_inbound.reply_correlation import LastSent

logger = Logger()
metrics = Metrics()
publisher = event_publisher(os.environ["TOPIC_ARN"], os.environ["EVENT_BUS_NAME"], boto3.client)
dynamodb = boto3.client("dynamodb")
optouts = OptOutStore(dynamodb, os.environ["OPT_OUTS_TABLE_NAME"])
# Each inbound event names the message of ours it answers (reply_correlation.py); 0 minutes: off.
last_sent = LastSent(
    MessageStore(dynamodb, os.environ["TABLE_NAME"], os.environ["OPT_OUTS_TABLE_NAME"]),
    int(os.environ["REPLY_WINDOW_MINUTES"]),
)


# clear_state: nothing of the previous invocation (its MessageSid as correlation id) leaks into this one's lines.
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = fan_out(event.get("Records", []), publisher, optouts, last_sent)
    metrics.add_metric(name="MessagesPublished", unit=MetricUnit.Count, value=result.published)
    if result.statuses:
        metrics.add_metric(name="StatusEventsPublished", unit=MetricUnit.Count, value=result.statuses)
    for problem in result.problems:
        logger.error(problem)
    if result.skipped:  # messages to disabled numbers: recorded, deliberately not published
        metrics.add_metric(name="MessagesSkipped", unit=MetricUnit.Count, value=result.skipped)
    if result.retry:
        metrics.add_metric(name="RecordsRetried", unit=MetricUnit.Count, value=len(result.retry))
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in result.retry]}
