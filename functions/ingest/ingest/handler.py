"""Ingest function: Twilio's "A message comes in" webhook -> verified -> stored once -> TwiML."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from ingest.intake import Intake, NumberNotRegistered, TooLargeToPublish
from ingest.settings import IngestSettings
from twilio_inbound.aws_errors import describe
from twilio_inbound.clock import utc_now
from twilio_inbound.dynamo import webhook_client
from twilio_inbound.message import InvalidMessage
from twilio_inbound.messages_table import MessageStore
from twilio_inbound.numbers_table import NumberRegistry
from twilio_inbound.opt_outs_table import OptOutStore
from twilio_inbound.redact import message_fields
from twilio_inbound.secrets import TokensUnavailable, WebhookSecrets
from twilio_inbound.signature import SignatureVerifier
from twilio_inbound.webhook import RequestRejected, error_response, twiml_response

logger = Logger()
metrics = Metrics()
settings = IngestSettings.from_env()
dynamodb = webhook_client()


def _load_secrets() -> WebhookSecrets:
    return settings.secrets.load()  # cached for secrets.cache_seconds


intake = Intake(
    settings=settings,
    verifier=SignatureVerifier(_load_secrets, settings.signing_mode),
    store=MessageStore(dynamodb, settings.table_name, settings.opt_outs_table_name),
    registry=NumberRegistry(dynamodb, settings.numbers_table_name, ttl=settings.registry_cache_seconds),
    optouts=OptOutStore(dynamodb, settings.opt_outs_table_name),
    now=utc_now,
)


# clear_state: nothing of the previous invocation (its MessageSid as correlation id) leaks into this one's lines.
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        accepted = intake.receive(event)
    except (RequestRejected, InvalidMessage, NumberNotRegistered, TooLargeToPublish) as error:
        rejection = _as_rejection(error)
        metrics.add_metric(name="RejectedRequests", unit=MetricUnit.Count, value=1)
        logger.warning(
            "request rejected", extra={"status": rejection.status, "reason": rejection.reason, **rejection.log}
        )
        return error_response(rejection)
    except TokensUnavailable as error:
        metrics.add_metric(name="IngestErrors", unit=MetricUnit.Count, value=1)
        logger.error("webhook misconfigured: %s", error)
        return error_response(RequestRejected(500, "webhook is not configured"))
    except (BotoCoreError, ClientError) as error:
        # Twilio retries or uses the fallback URL; nothing was stored.
        metrics.add_metric(name="IngestErrors", unit=MetricUnit.Count, value=1)
        logger.error("AWS call failed: %s", describe(error))
        return error_response(RequestRejected(503, "temporarily unavailable, retry"))

    record = accepted.record
    logger.set_correlation_id(record["messageSid"])
    fields = {**message_fields(record, settings.log_message_content), "replied": bool(accepted.reply)}
    if accepted.reply_undecided:
        metrics.add_metric(name="RepliesUndecided", unit=MetricUnit.Count, value=1)
        logger.warning("opt-out state unreadable: answered without a reply", extra=fields)
    if accepted.stored:
        metrics.add_metric(name="MessagesReceived", unit=MetricUnit.Count, value=1)
        # One line per message in the logs: the fields ride on the metrics line this invocation writes anyway
        # (searchable in Logs Insights, docs/guides/operate.md "Logs"). A second JSON log line would cost more than
        # verifying the signature.
        metrics.add_metadata(key="message", value="message stored")
        for key, value in fields.items():
            metrics.add_metadata(key=key, value=value)
        logger.debug("message stored", extra=fields)
    else:
        metrics.add_metric(name="DuplicateMessages", unit=MetricUnit.Count, value=1)
        logger.info("repeat delivery acknowledged, not stored again", extra=fields)
    return twiml_response(accepted.reply, accepted.status_callback)


def _as_rejection(error: RequestRejected | InvalidMessage | NumberNotRegistered | TooLargeToPublish) -> RequestRejected:
    """The HTTP answer for what the use case refused."""
    if isinstance(error, InvalidMessage):
        return RequestRejected(400, str(error))
    if isinstance(error, NumberNotRegistered):
        return RequestRejected(404, "number is not registered")
    if isinstance(error, TooLargeToPublish):
        return RequestRejected(413, "message is too large to publish (its event would exceed 256 KiB)")
    return error
