"""`twilio-inbound reconcile --since ... [--until ...] [--number ...] [--backfill]`: Twilio's log against the table.

Lists the inbound messages Twilio has for the registered numbers (or --number) in the window, through every
page of the Messages resource, and compares them with the messages table: missing, present, and present but
different (body, from, to, numMedia). With --backfill the missing ones are stored as the webhook would have
stored them, marked `recovered: true`, and the table's stream publishes each once. Running it again stores
nothing: the write is conditional on the MessageSid. Exit code 0 when nothing is missing (or everything
missing was recovered) and nothing differs.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from twilio_inbound.clock import iso_millis, utc_now
from twilio_inbound.message import StorageOptions
from twilio_inbound.messages_table import MessageStore
from twilio_inbound.opt_outs_table import OptOutStore
from twilio_inbound.reconciliation import Reconciler, Report, reconcile_accounts
from twilio_inbound_cli.progress import progress
from twilio_inbound_cli.time_arguments import moment
from twilio_inbound_cli.twilio_access import CommandError, add_twilio_options, reporting, stack_twilio


def summary(report: Report, since: datetime, until: datetime, accounts: list[str]) -> dict[str, Any]:
    return {
        "since": iso_millis(since),
        "until": iso_millis(until),
        "accounts": accounts,
        "numbers": sorted(set(report.numbers)),
        "checked": report.checked,
        "present": len(report.present),
        "missing": report.missing,
        "different": [asdict(difference) for difference in report.different],
        "recovered": report.recovered,
        "failed": report.failed,
        "pastRetention": len(report.past_retention),  # older than RetentionDays: not compared, never stored again
        "complete": report.complete,
    }


@reporting
def _run(args: argparse.Namespace) -> int:
    until = args.until or utc_now()
    if args.since > until:
        raise CommandError("--since is after --until")
    stack = stack_twilio(args)
    target = stack.target
    dynamodb = target.client("dynamodb")
    opt_outs_table = target.output("OptOutsTableName")
    registered = args.number or [config.number for config in stack.registry().all()]
    if not registered:
        raise CommandError("no number is registered: pass --number, or register numbers first")
    clients = {sid: stack.client(sid) for sid in stack.accounts}
    with progress("reconcile", "messages") as bar:
        reconciler = Reconciler(
            MessageStore(dynamodb, target.output("MessagesTableName"), opt_outs_table),
            stack.registry(),
            OptOutStore(dynamodb, opt_outs_table),
            StorageOptions(retention_days=int(target.parameter("RetentionDays") or 0)),
            advance=bar.update,
        )
        report = reconcile_accounts(reconciler, clients, registered, args.since, until, backfill=args.backfill)
    print(json.dumps(summary(report, args.since, until, list(stack.accounts)), indent=2))
    unrecovered = set(report.missing) - set(report.recovered)
    return 1 if unrecovered or report.different or report.failed or not report.complete else 0


def add_command(commands: Any) -> None:
    parser = commands.add_parser(
        "reconcile",
        help="compare Twilio's inbound messages with the table; --backfill stores the missing ones",
        description=__doc__,
    )
    parser.add_argument("--since", type=moment, required=True, help="sent at or after this ISO 8601 time")
    parser.add_argument("--until", type=moment, help="sent at or before this ISO 8601 time (default: now)")
    parser.add_argument(
        "--number", action="append", metavar="NUMBER", help="only messages to this number (repeatable; default: "
        "every registered number, a registered Messaging Service meaning its numbers)"
    )  # fmt: skip
    parser.add_argument("--backfill", action="store_true", help="store the missing messages (marked recovered)")
    add_twilio_options(parser)
    parser.set_defaults(run=_run)
