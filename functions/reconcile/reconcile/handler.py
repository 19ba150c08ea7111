"""Reconcile function (scheduled, optional): Twilio's log of the last window against the table; the messages
the webhook never got are stored, marked recovered, and published by the stream like any other.

Invoked by EventBridge Scheduler every ReconcileEveryMinutes. A manual invocation may pass
{"windowMinutes": N} to look further back. The run stops itself before the function's timeout.
"""

from __future__ import annotations

import time
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext

from reconcile.settings import ReconcileSettings
from twilio_inbound.clock import iso_millis, utc_now
from twilio_inbound.message import StorageOptions
from twilio_inbound.messages_table import MessageStore
from twilio_inbound.numbers_table import NumberRegistry
from twilio_inbound.opt_outs_table import OptOutStore
from twilio_inbound.reconciliation import Reconciler, reconcile_accounts
from twilio_inbound.secrets import TokensUnavailable, secrets_from_text
from twilio_inbound.twilio_rest import TWILIO_FAILURES, account_client, describe_failure

SAFETY_SECONDS = 10.0  # at most this (a tenth of a short timeout) is left for the metrics line and returning

logger = Logger()
metrics = Metrics()
settings = ReconcileSettings.from_env()
dynamodb = boto3.client("dynamodb")
store = MessageStore(dynamodb, settings.table_name, settings.opt_outs_table_name)
registry = NumberRegistry(dynamodb, settings.numbers_table_name, ttl=0)
optouts = OptOutStore(dynamodb, settings.opt_outs_table_name)


def _clients(deadline: float) -> dict[str, Any]:
    """One SDK client per account the secret knows, each bounded by the run's deadline."""
    secrets = secrets_from_text(str(parameters.get_secret(settings.secret_arn, max_age=300)))
    accounts = dict(secrets.accounts)
    if not accounts and secrets.single is not None:
        accounts = {secrets.single.account_sid: secrets.single}
    if not accounts or "" in accounts:
        raise TokensUnavailable("reconcile needs the secret to name its account (accountSid, or an accounts map)")
    return {
        sid: account_client(account, sid, api_base_url=settings.twilio_api_url, deadline=deadline)
        for sid, account in accounts.items()
    }


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    remaining = context.get_remaining_time_in_millis() / 1000
    budget = min(settings.run_seconds, remaining - min(SAFETY_SECONDS, remaining / 10))
    deadline = time.monotonic() + budget
    since, until = settings.window(utc_now(), int(event.get("windowMinutes") or 0) or None)
    reconciler = Reconciler(
        store,
        registry,
        optouts,
        StorageOptions(settings.retention_days),
        time_left=lambda: deadline - time.monotonic(),
        consistent_reads=False,  # the window ends SETTLE_SECONDS ago: half the read units
    )
    try:
        clients = _clients(deadline)
        registered = [config.number for config in registry.all()]
        report = reconcile_accounts(reconciler, clients, registered, since, until, backfill=True)
    except TWILIO_FAILURES as error:
        # Raised, so the invocation fails visibly (its errors metric, then the schedule's dead-letter queue).
        logger.error("reconcile failed: %s", describe_failure(error))
        raise RuntimeError(describe_failure(error)) from None
    metrics.add_metric(name="MessagesRecovered", unit=MetricUnit.Count, value=len(report.recovered))
    summary = {
        "since": iso_millis(since),
        "until": iso_millis(until),
        "checked": report.checked,
        "recovered": report.recovered,
        "different": [difference.message_sid for difference in report.different],
        "failed": report.failed,
        "pastRetention": len(report.past_retention),
        "complete": report.complete,
    }
    if report.recovered:
        logger.warning("recovered messages the webhook never got", extra=summary)
    elif not report.complete or report.failed or report.different:
        logger.warning("reconcile found problems", extra=summary)
    else:
        logger.info("reconciled", extra=summary)
    return summary
