"""The checks `twilio-inbound doctor` runs: everything that makes inbound messages fail silently, each with
its fix. Every check returns Check lines; none raises for what it finds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from twilio_inbound.numbers_table import NumberRegistry
from twilio_inbound_cli.twilio_setup import (
    AccountSetup,
    NumberSetup,
    ServiceSetup,
    Webhook,
    delivers_to,
    delivery_of,
    same_host,
    same_url,
)

METRICS_NAMESPACE = "TwilioInbound"
BURST_PERIOD_SECONDS = 300
BURST_REJECTIONS = 5  # rejected requests in one 5-minute period that are more than stray scanners
DLQ_SUFFIX = "DeadLetterQueueUrl"
DLQ_FIXES = {
    "FanoutDeadLetterQueueUrl": "`twilio-inbound replay --from-dlq` republishes them from the table",
    "SubscriberDeadLetterQueueUrl": "events the example subscriber failed: read them, fix the subscriber, then "
    "move them back to its queue (SQS StartMessageMoveTask)",
    "ReconcileDeadLetterQueueUrl": "scheduled reconcile runs that failed: read the reconcile function's log, "
    "then `twilio-inbound reconcile --since ... --backfill` over the missed window",
}


@dataclass(frozen=True)
class Check:
    ok: bool
    subject: str
    detail: str  # what is fine, or what is wrong and how to fix it
    skipped: bool = False

    def line(self) -> str:
        word = "skip" if self.skipped else "ok  " if self.ok else "FIX "
        return f"{word} {self.subject}: {self.detail}"


@dataclass(frozen=True)
class StackUrls:
    webhook_url: str  # what Twilio must call (PublicBaseUrl + /sms, or the API's URL)
    api_webhook_url: str  # the API Gateway's own URL
    public_base_url: str
    reject_unknown: bool  # UnknownNumberPolicy=reject


def _why_not_here(subject: str, address: str, webhook: Webhook, urls: StackUrls) -> Check:
    """A webhook that does not deliver here: which of the silent failures it is, and the fix."""
    connect = f"`twilio-inbound connect {address}"
    if not webhook.url:
        return Check(False, subject, f"has no inbound webhook, Twilio drops its messages: {connect}`")
    if same_url(webhook.url, urls.webhook_url):
        return Check(False, subject, f"uses {webhook.method}, the webhook accepts only POST (a GET is refused "
                     f"405): {connect}`")  # fmt: skip
    if urls.public_base_url and same_url(webhook.url, urls.api_webhook_url):
        return Check(False, subject, f"points at the API Gateway URL {webhook.url}, but the stack verifies "
                     f"signatures against PublicBaseUrl ({urls.webhook_url}): every message is refused (403): "
                     f"{connect} --force`, or clear PublicBaseUrl")  # fmt: skip
    if same_host(webhook.url, urls.webhook_url) or same_host(webhook.url, urls.api_webhook_url):
        return Check(False, subject, f"points at {webhook.url}, not this stack's webhook {urls.webhook_url}: "
                     f"a PublicBaseUrl or path that does not match fails every signature (403) or route (404): "
                     f"{connect} --force`, or set PublicBaseUrl to what Twilio calls")  # fmt: skip
    return Check(False, subject, f"sends its messages to {webhook.url}, not here: {connect} --force`")


def _number_check(setup: AccountSetup, number: NumberSetup, urls: StackUrls) -> Check:
    subject = number.phone_number
    service = setup.service_of(number)
    delivery = delivery_of(number, service)
    if delivers_to(delivery.webhook, urls.webhook_url):
        via = f" (through Messaging Service {delivery.via_service})" if delivery.via_service else ""
        return Check(True, subject, f"delivers here{via}")
    if delivery.via_service and delivers_to(number.webhook, urls.webhook_url):
        via, elsewhere = delivery.via_service, delivery.webhook.url
        force = "" if same_url(elsewhere, urls.webhook_url) else " --force"
        detail = (
            f"points here, but its Messaging Service {via} ignores number webhooks and sends to {elsewhere}: "
            f"`twilio-inbound connect {via}{force}`, or set the service to defer to the sender's webhook"
        )
        return Check(False, subject, detail)
    if delivery.via_service:
        return _why_not_here(f"{subject} (via {delivery.via_service})", delivery.via_service, delivery.webhook, urls)
    return _why_not_here(subject, number.phone_number, number.webhook, urls)


def _service_checks(setup: AccountSetup, service: ServiceSetup, urls: StackUrls) -> list[Check]:
    if not service.defers_to_numbers:
        if delivers_to(service.webhook, urls.webhook_url):
            return [Check(True, service.sid, "delivers here")]
        return [_why_not_here(service.sid, service.sid, service.webhook, urls)]
    members = [number for number in setup.numbers if number.sid in service.number_sids]
    return [_number_check(setup, number, urls) for number in members] or [
        Check(False, service.sid, "defers to its numbers' webhooks but holds no number")
    ]


def registered_checks(
    setups: list[AccountSetup], unreadable: list[str], registered: Iterable[str], urls: StackUrls
) -> list[Check]:
    checks = []
    for address in registered:
        if ":" in address:
            checks.append(Check(True, address, "channel sender: its webhook is set in Twilio's sender settings, "
                                "not checked here", skipped=True))  # fmt: skip
            continue
        found = False
        for setup in setups:
            if address.startswith("MG") and (service := setup.service(address)):
                checks += _service_checks(setup, service, urls)
                found = True
            elif number := setup.number(address):
                checks.append(_number_check(setup, number, urls))
                found = True
        if not found:
            searched = ", ".join(setup.account_sid for setup in setups) or "no readable account"
            also = f" ({', '.join(unreadable)} could not be read)" if unreadable else ""
            checks.append(Check(False, address, f"registered here but not a number of {searched}{also}: add its "
                                "account to the stack's secret, or `twilio-inbound numbers remove` it"))  # fmt: skip
    return checks


def unregistered_checks(setups: list[AccountSetup], registered: set[str], urls: StackUrls) -> list[Check]:
    """With UnknownNumberPolicy=reject, a number that delivers here unregistered has every message refused."""
    if not urls.reject_unknown:
        return []
    checks = []
    for setup in setups:
        for number in setup.numbers:
            service = setup.service_of(number)
            if number.phone_number in registered or (service is not None and service.sid in registered):
                continue
            if delivers_to(delivery_of(number, service).webhook, urls.webhook_url):
                checks.append(Check(False, number.phone_number, "delivers here but is not registered, and "
                                    "UnknownNumberPolicy=reject refuses its messages (404): `twilio-inbound "
                                    f"numbers add {number.phone_number}`"))  # fmt: skip
    return checks


def rejected_requests_check(cloudwatch: Any, now: datetime) -> Check:
    """RejectedRequests of the ingest function over the last hour, in 5-minute sums."""
    points = cloudwatch.get_metric_statistics(
        Namespace=METRICS_NAMESPACE,
        MetricName="RejectedRequests",
        Dimensions=[{"Name": "service", "Value": "ingest"}],
        StartTime=now - timedelta(hours=1),
        EndTime=now,
        Period=BURST_PERIOD_SECONDS,
        Statistics=["Sum"],
    )["Datapoints"]
    total = int(sum(point["Sum"] for point in points))
    peak = int(max((point["Sum"] for point in points), default=0))
    subject = "rejected requests"
    if peak >= BURST_REJECTIONS:
        return Check(False, subject, f"{total} in the last hour, up to {peak} in 5 minutes: a wrong token, URL or "
                     "PublicBaseUrl refuses real messages; the \"Why was a webhook refused?\" query "
                     "(docs/guides/operate.md) shows which URL was checked and what would have verified")  # fmt: skip
    return Check(True, subject, f"{total} in the last hour")


def dead_letter_checks(sqs: Any, outputs: dict[str, str]) -> list[Check]:
    checks = []
    for key in sorted(key for key in outputs if key.endswith(DLQ_SUFFIX)):
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attributes = sqs.get_queue_attributes(QueueUrl=outputs[key], AttributeNames=names)["Attributes"]
        count = sum(int(value) for value in attributes.values())
        if count:
            fix = DLQ_FIXES.get(key, "read them and redrive them")
            checks.append(Check(False, key, f"{count} message(s) waiting: {fix}"))
        else:
            checks.append(Check(True, key, "empty"))
    return checks


def registry_addresses(registry: NumberRegistry) -> list[str]:
    return [config.number for config in registry.all()]
