"""`twilio-inbound verify`: do the stack's stored Twilio credentials work, for each account the stack knows?

Prints each account's name and status; exits 1 with the reason when any account's credentials fail or the
account is not active.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from twilio_inbound.twilio_rest import TWILIO_FAILURES, describe_failure, twilio_failure
from twilio_inbound_cli.twilio_access import StackTwilio, add_twilio_options, reporting, stack_twilio

AUTHENTICATE = 20003


@dataclass(frozen=True)
class AccountCheck:
    account_sid: str
    ok: bool
    detail: str  # the account's name and status, or why its credentials do not work


def _credential(stack: StackTwilio, account_sid: str) -> str:
    key = stack.accounts[account_sid].api_key_sid
    return f"API key {key}" if key else "auth token"


def check_account(stack: StackTwilio, account_sid: str) -> AccountCheck:
    credential = _credential(stack, account_sid)
    client = stack.client(account_sid)
    try:
        account = client.api.v2010.accounts(account_sid).fetch()
    except TWILIO_FAILURES as error:
        failure = twilio_failure(error)
        if failure is not None and failure.code == AUTHENTICATE and stack.accounts[account_sid].api_key_sid:
            return _probe(client, account_sid, credential)
        return AccountCheck(account_sid, False, describe_failure(error))
    summary = f'"{account.friendly_name}" {account.status} ({credential})'
    if account.status != "active":
        return AccountCheck(account_sid, False, f"{summary}: the account is {account.status}, so it neither sends "
                            "nor calls webhooks: reactivate it in Twilio")  # fmt: skip
    return AccountCheck(account_sid, True, summary)


def _probe(client: Any, account_sid: str, credential: str) -> AccountCheck:
    """A standard API key may not read the Accounts resource: prove it works on the account's numbers instead."""
    try:
        client.incoming_phone_numbers.list(limit=1)
    except TWILIO_FAILURES as error:
        return AccountCheck(account_sid, False, describe_failure(error))
    return AccountCheck(account_sid, True, f"credentials work ({credential}; a standard key cannot read the "
                        "account's name and status)")  # fmt: skip


def check_line(check: AccountCheck) -> str:
    return f"ok   {check.account_sid} {check.detail}" if check.ok else f"FIX  {check.account_sid}: {check.detail}"


@reporting
def _run(args: argparse.Namespace) -> int:
    stack = stack_twilio(args)
    checks = [check_account(stack, sid) for sid in stack.accounts]
    for check in checks:
        print(check_line(check))
    return 0 if all(check.ok for check in checks) else 1


def add_command(commands: Any) -> None:
    verify = commands.add_parser(
        "verify", help="check the stack's Twilio credentials: each account, its status and name", description=__doc__
    )
    add_twilio_options(verify)
    verify.set_defaults(run=_run)
