"""Media function: the attachments of each stored MMS/WhatsApp message into the stack's bucket, then a
twilio-inbound.media.archived event. Reads its own queue, which receives message events with media only."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from media.archive import ArchivePolicy, MediaArchiver, RetryLater, next_attempt_seconds, process
from media.bucket import MediaBucket
from media.settings import MediaSettings
from media.twilio_media import TwilioMedia
from twilio_inbound.aws_errors import describe
from twilio_inbound.clock import iso_millis, utc_now
from twilio_inbound.publishing import event_publisher
from twilio_inbound.secrets import ApiCredentials, TokensUnavailable, secrets_from_text

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)
sqs = boto3.client("sqs")


def build_archiver(
    settings: MediaSettings, s3: S3Client | None = None, sleep: Callable[[float], None] = time.sleep
) -> MediaArchiver:
    """The archiver for these settings (tests build their own, with their stand-in's URL)."""

    def credentials(account_sid: str) -> ApiCredentials:
        # Cached for token_cache_seconds: a rotated token or key is picked up within that time.
        try:
            secret = parameters.get_secret(settings.secret_id, max_age=settings.token_cache_seconds)
        except parameters.GetParameterError as error:
            raise TokensUnavailable("the Twilio secret is unreadable") from error
        account = secrets_from_text(str(secret)).for_account(account_sid)
        if account is None:
            raise TokensUnavailable(f"the Twilio secret has no entry for {account_sid}")
        return account.api_credentials(account_sid)

    return MediaArchiver(
        TwilioMedia(settings.twilio_api_url, settings.http_timeout_seconds),
        MediaBucket(s3 or boto3.client("s3", config=Config(retries={"mode": "standard"})), settings.bucket_name),
        credentials,
        ArchivePolicy(
            max_bytes=settings.max_media_bytes,
            delete_after_archive=settings.delete_after_archive,
            retry_base_seconds=settings.retry_base_seconds,
        ),
        sleep=sleep,
    )


settings = MediaSettings.from_env()
archiver = build_archiver(settings)
publisher = event_publisher(settings.topic_arn, settings.event_bus_name, boto3.client)


def _retry_later(record: SQSRecord) -> None:
    receives = int(record.attributes.approximate_receive_count or 1)
    try:
        sqs.change_message_visibility(
            QueueUrl=settings.queue_url,
            ReceiptHandle=record.receipt_handle,
            VisibilityTimeout=next_attempt_seconds(receives),
        )
    except (BotoCoreError, ClientError) as error:  # the queue's own visibility timeout then applies
        logger.warning("next attempt not scheduled: %s", describe(error))


def record_handler(record: SQSRecord) -> None:
    try:
        result = process(record.body, archiver, publisher, iso_millis(utc_now()))
    except RetryLater as error:
        metrics.add_metric(name="MediaRetriesScheduled", unit=MetricUnit.Count, value=1)
        logger.warning("media not archived yet: retried later", extra={"reason": str(error)})
        _retry_later(record)
        raise
    metrics.add_metric(name="MediaArchived", unit=MetricUnit.Count, value=result.archived)
    metrics.add_metric(name="MediaNotArchived", unit=MetricUnit.Count, value=len(result.not_archived))
    metrics.add_metric(name="MediaBytesArchived", unit=MetricUnit.Bytes, value=result.stored_bytes)
    metrics.add_metric(name="MediaFetchRetries", unit=MetricUnit.Count, value=result.fetch_retries)
    if result.deleted_at_twilio:
        metrics.add_metric(name="MediaDeletedAtTwilio", unit=MetricUnit.Count, value=result.deleted_at_twilio)
    logger.info(
        "media archived",
        extra={
            "messageSid": result.event["data"]["messageSid"],
            "archived": result.archived,
            "reused": result.reused,
            "bytes": result.stored_bytes,
            "notArchived": result.not_archived,
            "fetchRetries": result.fetch_retries,
            "deletedAtTwilio": result.deleted_at_twilio,
        },
    )


# clear_state: nothing of the previous invocation leaks into this one's lines.
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
