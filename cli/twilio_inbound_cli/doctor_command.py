"""`twilio-inbound doctor`: everything that makes inbound messages fail silently, one line each, with its fix.

Checks: the stored Twilio credentials of every account; each registered number (or Messaging Service) delivers
here with POST (not another URL, not GET, not overridden by a Messaging Service that ignores number webhooks,
not a URL that PublicBaseUrl makes fail every signature); numbers delivering here unregistered when
UnknownNumberPolicy=reject; a burst of rejected requests in the last hour (CloudWatch); messages waiting in
any dead-letter queue of the stack. Exit code 0 when all is well, 1 when something needs fixing.
"""

from __future__ import annotations

import argparse
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from twilio_inbound.clock import utc_now
from twilio_inbound.twilio_rest import TWILIO_FAILURES, describe_failure
from twilio_inbound_cli.doctor_checks import (
    Check,
    StackUrls,
    dead_letter_checks,
    registered_checks,
    registry_addresses,
    rejected_requests_check,
    unregistered_checks,
)
from twilio_inbound_cli.target import Target, resolve
from twilio_inbound_cli.twilio_access import CommandError, StackTwilio, add_twilio_options, reporting, stack_twilio
from twilio_inbound_cli.twilio_setup import AccountSetup, read_setup
from twilio_inbound_cli.verify_command import check_account


def twilio_checks(stack: StackTwilio) -> list[Check]:
    checks: list[Check] = []
    setups: list[AccountSetup] = []
    unreadable: list[str] = []
    registered = registry_addresses(stack.registry())
    for sid in stack.accounts:
        account = check_account(stack, sid)
        checks.append(Check(account.ok, f"credentials {sid}", account.detail))
        if not account.ok:
            unreadable.append(sid)
            continue
        try:
            setups.append(read_setup(stack.client(sid), sid, registered))
        except TWILIO_FAILURES as error:
            checks.append(Check(False, f"numbers of {sid}", describe_failure(error)))
            unreadable.append(sid)
    target = stack.target
    urls = StackUrls(
        webhook_url=stack.webhook_url,
        api_webhook_url=stack.api_webhook_url,
        public_base_url=target.parameter("PublicBaseUrl"),
        reject_unknown=target.parameter("UnknownNumberPolicy") == "reject",
    )
    if not registered:
        fix = "no number is registered: `twilio-inbound numbers add NUMBER --connect`"
        checks.append(Check(False, "registry", fix))
    checks += registered_checks(setups, unreadable, registered, urls)
    checks += unregistered_checks(setups, set(registered), urls)
    return checks


def aws_checks(target: Target) -> list[Check]:
    checks: list[Check] = []
    try:
        checks.append(rejected_requests_check(target.client("cloudwatch"), utc_now()))
    except (BotoCoreError, ClientError) as error:
        checks.append(Check(False, "rejected requests", f"cannot read the RejectedRequests metric: {error}"))
    try:
        checks += dead_letter_checks(target.client("sqs"), target.outputs)
    except (BotoCoreError, ClientError) as error:
        checks.append(Check(False, "dead-letter queues", f"cannot read them: {error}"))
    return checks


@reporting
def _run(args: argparse.Namespace) -> int:
    target = resolve(args.stack_name)
    try:
        checks = twilio_checks(stack_twilio(args, target))
    except CommandError as error:
        checks = [Check(False, "credentials", str(error))]
    checks += aws_checks(target)
    for check in checks:
        print(check.line())
    problems = sum(1 for check in checks if not check.ok)
    print("all well" if not problems else f"{problems} to fix")
    return 1 if problems else 0


def add_command(commands: Any) -> None:
    parser = commands.add_parser(
        "doctor", help="find what makes inbound messages fail silently, each with its fix", description=__doc__
    )
    add_twilio_options(parser)
    parser.set_defaults(run=_run)
