"""`twilio-inbound doctor`: every silent failure of inbound messaging found, one line each with its fix, and
an exit code that says whether all is well."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devtools.twilio_api import TwilioStandIn
from devtools.twilio_api.models import Account
from tests.unit.twilio_side.conftest import SALES, SUPPORT, Cli
from twilio_inbound_cli.signing import TEST_AUTH_TOKEN, TEST_WEBHOOK_URL

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

PUBLIC = "https://hooks.example.com/twilio"
HERE = PUBLIC + "/sms"


def test_a_healthy_setup_is_all_well(cli: Cli, twilio: TwilioStandIn, account: Account) -> None:
    twilio.add_number(account.sid, SUPPORT, sms_url=TEST_WEBHOOK_URL + "#rc=2&rp=5xx")
    cli.register(SUPPORT)
    result = cli("doctor")
    assert result.code == 0, result.out
    assert result.lines == [
        f'ok   credentials {account.sid}: "Main" active (auth token)',
        f"ok   {SUPPORT}: delivers here",
        "ok   rejected requests: 0 in the last hour",
        "ok   FanoutDeadLetterQueueUrl: empty",
        "ok   MediaDeadLetterQueueUrl: empty",
        "ok   OutboundDeadLetterQueueUrl: empty",
        "ok   ReconcileDeadLetterQueueUrl: empty",
        "ok   SubscriberDeadLetterQueueUrl: empty",
        "all well",
    ]


def test_every_silent_failure_is_found_with_its_fix(cli: Cli, twilio: TwilioStandIn, account: Account) -> None:
    # GIVEN a stack behind a custom domain (PublicBaseUrl), two accounts, one of whose tokens is wrong, and
    cli.write_outputs(PublicBaseUrl=PUBLIC)
    broken = twilio.add_account(friendly_name="Brand B")
    cli.set_secret({"accounts": {account.sid: {"primary": TEST_AUTH_TOKEN}, broken.sid: {"primary": "stale-token"}}})
    twilio.add_number(account.sid, SUPPORT, sms_url="https://old.example.com/sms")  # another URL
    twilio.add_number(account.sid, SALES, sms_url=HERE, sms_method="GET")  # GET
    member = twilio.add_number(account.sid, "+15005550003", sms_url=HERE)  # its service ignores it
    service = twilio.add_service(
        account.sid, number_sids=[member.sid], inbound_request_url="https://crm.example.com/in"
    )
    twilio.add_number(account.sid, "+15005550004", sms_url=TEST_WEBHOOK_URL)  # the API's URL, not PublicBaseUrl's
    twilio.add_number(account.sid, "+15005550005", sms_url="https://hooks.example.com/sms")  # the prefix is missing
    twilio.add_number(account.sid, "+15005550006", sms_url=HERE)  # fine
    cli.register(SUPPORT, SALES, "+15005550003", "+15005550004", "+15005550005", "+15005550006", "+15005550007")
    # AND a burst of rejected requests 10 minutes ago, and a batch in the fanout dead-letter queue
    cloudwatch = cli.stack.session.client("cloudwatch")
    cloudwatch.put_metric_data(
        Namespace="TwilioInbound",
        MetricData=[
            {
                "MetricName": "RejectedRequests",
                "Dimensions": [{"Name": "service", "Value": "ingest"}],
                "Timestamp": datetime.now(UTC) - timedelta(minutes=10),
                "Value": 12,
                "Unit": "Count",
            }
        ],
    )
    cli.stack.session.client("sqs").send_message(QueueUrl=cli.outputs["FanoutDeadLetterQueueUrl"], MessageBody="{}")
    # WHEN the doctor looks
    result = cli("doctor")
    print(result.out)  # docs/guides/connect-numbers.md quotes this run
    # THEN each problem is one FIX line with the way out, and the exit code says something is wrong
    assert result.code == 1
    lines = result.lines
    assert lines[0] == f'ok   credentials {account.sid}: "Main" active (auth token)'
    assert lines[1].startswith(f"FIX  credentials {broken.sid}: Twilio answered 401")
    expected = [
        f"FIX  {SUPPORT}: sends its messages to https://old.example.com/sms, not here: "
        f"`twilio-inbound connect {SUPPORT} --force`",
        f"FIX  {SALES}: uses GET, the webhook accepts only POST (a GET is refused 405): "
        f"`twilio-inbound connect {SALES}`",
        f"FIX  +15005550003: points here, but its Messaging Service {service.sid} ignores number webhooks and sends "
        f"to https://crm.example.com/in: `twilio-inbound connect {service.sid} --force`, or set the service to "
        "defer to the sender's webhook",
        f"FIX  +15005550004: points at the API Gateway URL {TEST_WEBHOOK_URL}, but the stack verifies signatures "
        f"against PublicBaseUrl ({HERE}): every message is refused (403): `twilio-inbound connect +15005550004 "
        "--force`, or clear PublicBaseUrl",
        f"FIX  +15005550005: points at https://hooks.example.com/sms, not this stack's webhook {HERE}: a PublicBaseUrl "
        "or path that does not match fails every signature (403) or route (404): `twilio-inbound connect "
        "+15005550005 --force`, or set PublicBaseUrl to what Twilio calls",
        "ok   +15005550006: delivers here",
        f"FIX  +15005550007: registered here but not a number of {account.sid} ({broken.sid} could not be read): add "
        "its account to the stack's secret, or `twilio-inbound numbers remove` it",
        "FIX  rejected requests: 12 in the last hour, up to 12 in 5 minutes: a wrong token, URL or PublicBaseUrl "
        'refuses real messages; the "Why was a webhook refused?" query (docs/guides/operate.md) shows which URL was '
        "checked and what would have verified",
        "FIX  FanoutDeadLetterQueueUrl: 1 message(s) waiting: `twilio-inbound replay --from-dlq` republishes them "
        "from the table",
        "ok   MediaDeadLetterQueueUrl: empty",
        "ok   OutboundDeadLetterQueueUrl: empty",
        "ok   ReconcileDeadLetterQueueUrl: empty",
        "ok   SubscriberDeadLetterQueueUrl: empty",
        "9 to fix",
    ]
    assert lines[2:] == expected


def test_unregistered_numbers_delivering_here_are_found_when_unknown_numbers_are_refused(
    cli: Cli, twilio: TwilioStandIn, account: Account
) -> None:
    cli.write_outputs(UnknownNumberPolicy="reject")
    twilio.add_number(account.sid, SUPPORT, sms_url=TEST_WEBHOOK_URL)
    twilio.add_number(account.sid, SALES, sms_url=TEST_WEBHOOK_URL)
    cli.register(SUPPORT)
    result = cli("doctor")
    assert result.code == 1
    assert (
        f"FIX  {SALES}: delivers here but is not registered, and UnknownNumberPolicy=reject refuses its messages "
        f"(404): `twilio-inbound numbers add {SALES}`"
    ) in result.lines


def test_unusable_credentials_still_leave_the_aws_checks(cli: Cli) -> None:
    cli.set_secret('{"primary": ')  # not JSON
    result = cli("doctor")
    assert result.code == 1
    assert result.lines[0] == (
        "FIX  credentials: the stack's Twilio secret is unusable: auth token secret is not valid JSON"
    )
    assert "ok   rejected requests: 0 in the last hour" in result.lines
