"""Fanout function: the messages table's stream (the outbox) -> one CloudEvent per new message on SNS.

Records are handled in stream order. At the first record that cannot be built or published, that record and
all after it are reported as failed, so Lambda retries from there (bisecting, a bounded number of times, then
the on-failure destination). Earlier records are not published twice by this invocation.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError
from publisher import Outgoing, TopicPublisher, batches, outgoing_from_record

logger = Logger()
metrics = Metrics()
publisher = TopicPublisher(boto3.client("sns"), os.environ["TOPIC_ARN"])


def _prepare(records: list[dict[str, Any]]) -> tuple[list[Outgoing], int]:
    """The events for new messages up to the first unusable record, and that record's index (or len)."""
    outgoing = []
    for position, record in enumerate(records):
        if record.get("eventName") != "INSERT":
            continue  # TTL expiry and other changes are not new messages
        try:
            outgoing.append(outgoing_from_record(position, record))
        except (KeyError, TypeError, ValueError) as error:
            logger.error("unusable stream record", extra={"eventID": record.get("eventID"), "error": repr(error)})
            return outgoing, position
    return outgoing, len(records)


def fan_out(records: list[dict[str, Any]], topic: TopicPublisher) -> list[str]:
    """Publishes what it can; returns the sequence numbers Lambda must retry (in stream order)."""
    outgoing, retry_from = _prepare(records)
    published = 0
    for batch in batches(outgoing):
        try:
            failed = topic.publish_batch(batch)
        except (BotoCoreError, ClientError) as error:
            logger.error("PublishBatch failed", extra={"error": type(error).__name__})
            failed = batch
        published += len(batch) - len(failed)
        if failed:
            logger.error("publish failed", extra={"messageSids": [item.message_sid for item in failed]})
            retry_from = min(item.position for item in failed)
            break
    metrics.add_metric(name="MessagesPublished", unit=MetricUnit.Count, value=published)
    retry = [record["dynamodb"]["SequenceNumber"] for record in records[retry_from:]]
    if retry:
        metrics.add_metric(name="RecordsRetried", unit=MetricUnit.Count, value=len(retry))
    return retry


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    retry = fan_out(event.get("Records", []), publisher)
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in retry]}
