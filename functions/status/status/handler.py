"""Status function: Twilio's status callbacks (StatusCallback = <stack>/status) -> verified -> each status of an
outbound message recorded once, never backwards; the table's stream publishes a status event for each forward move.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from status.callbacks import NotOutbound, NotSentHere, OtherAccount, StatusCallbacks
from status.settings import StatusSettings
from twilio_inbound.aws_errors import describe
from twilio_inbound.clock import utc_now
from twilio_inbound.delivery_status import InvalidStatusCallback
from twilio_inbound.dynamo import webhook_client
from twilio_inbound.messages_table import MessageStore
from twilio_inbound.outbound_table import OutboundStore
from twilio_inbound.secrets import TokensUnavailable, WebhookSecrets
from twilio_inbound.sends_table import SendIntentStore
from twilio_inbound.signature import SignatureVerifier
from twilio_inbound.webhook import RequestRejected, error_response

logger = Logger()
metrics = Metrics()
settings = StatusSettings.from_env()
dynamodb = webhook_client()


def _load_secrets() -> WebhookSecrets:
    return settings.secrets.load()  # cached for secrets.cache_seconds


callbacks = StatusCallbacks(
    settings=settings,
    verifier=SignatureVerifier(_load_secrets, settings.signing_mode),
    store=OutboundStore(dynamodb, settings.table_name, settings.retention_days),
    intents=SendIntentStore(dynamodb, settings.sends_table_name),
    messages=MessageStore(dynamodb, settings.table_name, ""),
    now=utc_now,
)
RECORDED = {"statusCode": 200, "headers": {"Content-Type": "text/plain; charset=utf-8"}, "body": "recorded\n"}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        recorded = callbacks.receive(event)
    except (RequestRejected, InvalidStatusCallback, NotOutbound, NotSentHere, OtherAccount) as error:
        rejection = _as_rejection(error)
        metrics.add_metric(name="RejectedRequests", unit=MetricUnit.Count, value=1)
        logger.warning(
            "request rejected", extra={"status": rejection.status, "reason": rejection.reason, **rejection.log}
        )
        return error_response(rejection)
    except TokensUnavailable as error:
        metrics.add_metric(name="StatusErrors", unit=MetricUnit.Count, value=1)
        logger.error("webhook misconfigured: %s", error)
        return error_response(RequestRejected(500, "webhook is not configured"))
    except (BotoCoreError, ClientError, RuntimeError) as error:
        # Nothing was recorded: Twilio retries if the callback URL's connection overrides say so
        # (docs/guides/deploy.md).
        metrics.add_metric(name="StatusErrors", unit=MetricUnit.Count, value=1)
        logger.error("recording the status failed: %s", describe(error))
        return error_response(RequestRejected(503, "temporarily unavailable, retry"))

    report = recorded.report
    logger.set_correlation_id(report.message_sid)
    fields = {
        "messageSid": report.message_sid,
        "messageStatus": report.status,
        "errorCode": report.error_code,
        "outcome": recorded.outcome,
    }
    if recorded.outcome == "repeat":
        metrics.add_metric(name="DuplicateStatuses", unit=MetricUnit.Count, value=1)
        logger.info("repeat status acknowledged, not recorded again", extra=fields)
        return RECORDED
    metrics.add_metric(name="StatusesRecorded", unit=MetricUnit.Count, value=1)
    # One line per callback, as the ingest function does: the fields ride on the metrics line this invocation
    # writes anyway (docs/guides/operate.md, "Logs"); a second JSON log line would cost a sixth of the UpdateItem.
    metrics.add_metadata(key="message", value="status recorded")
    for key, value in fields.items():
        metrics.add_metadata(key=key, value=value)
    logger.debug("status recorded", extra=fields)
    return RECORDED


def _as_rejection(
    error: RequestRejected | InvalidStatusCallback | NotOutbound | NotSentHere | OtherAccount,
) -> RequestRejected:
    if isinstance(error, InvalidStatusCallback):
        return RequestRejected(400, str(error))
    if isinstance(error, NotOutbound):
        return RequestRejected(409, "MessageSid names an inbound message: status callbacks describe outbound ones")
    if isinstance(error, NotSentHere):
        return RequestRejected(404, str(error))
    if isinstance(error, OtherAccount):
        return RequestRejected(403, "AccountSid is not the account of the message")
    return error
