"""`twilio-inbound twilio-numbers`: the account's phone numbers and Messaging Services as Twilio has them.

For each: the inbound webhook URL and method, the fallback URL, and whether it points at this stack (HERE),
is in this stack's number registry (REGISTERED) and would deliver its messages here (DELIVERS: the URL Twilio
actually uses, which is the Messaging Service's unless it defers to its numbers, with POST).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from typing import Any

from twilio_inbound_cli.twilio_access import StackTwilio, add_twilio_options, reporting, stack_twilio
from twilio_inbound_cli.twilio_setup import AccountSetup, delivers_to, delivery_of, read_setup, same_url


@dataclass(frozen=True)
class Row:
    kind: str  # "number" or "service"
    address: str  # the phone number, or the service SID
    account: str
    method: str
    url: str
    fallback_url: str
    points_here: bool
    registered: bool
    delivers_here: bool | None  # None: a service that defers to each number's webhook
    note: str = ""


def rows_of(setup: AccountSetup, webhook_url: str, registered: set[str]) -> list[Row]:
    rows = []
    for number in setup.numbers:
        service = setup.service_of(number)
        delivery = delivery_of(number, service)
        note = f"messages go to {delivery.via_service}'s URL" if delivery.via_service else ""
        rows.append(
            Row(
                "number",
                number.phone_number,
                setup.account_sid,
                number.webhook.method,
                number.webhook.url,
                number.webhook.fallback_url,
                same_url(number.webhook.url, webhook_url),
                number.phone_number in registered or (service is not None and service.sid in registered),
                delivers_to(delivery.webhook, webhook_url),
                note,
            )
        )
    for service in setup.services:
        here = same_url(service.webhook.url, webhook_url)
        rows.append(
            Row(
                "service",
                service.sid,
                setup.account_sid,
                service.webhook.method,
                service.webhook.url,
                service.webhook.fallback_url,
                here,
                service.sid in registered,
                None if service.defers_to_numbers else delivers_to(service.webhook, webhook_url),
                "defers to each number's webhook" if service.defers_to_numbers else service.friendly_name,
            )
        )
    return rows


def stack_rows(stack: StackTwilio) -> list[Row]:
    registered = {config.number for config in stack.registry().all()}
    rows: list[Row] = []
    for sid in stack.accounts:
        rows += rows_of(read_setup(stack.client(sid), sid, registered), stack.webhook_url, registered)
    return rows


def _flag(value: bool | None) -> str:
    return "-" if value is None else "yes" if value else "no"


def print_table(rows: list[Row]) -> None:
    header = ("ADDRESS", "METHOD", "WEBHOOK URL", "FALLBACK URL", "HERE", "REGISTERED", "DELIVERS", "NOTE")
    lines = [header] + [
        (
            row.address,
            row.method,
            row.url or "-",
            row.fallback_url or "-",
            _flag(row.points_here),
            _flag(row.registered),
            _flag(row.delivers_here),
            row.note,
        )
        for row in rows
    ]
    widths = [max(len(line[column]) for line in lines) for column in range(len(header) - 1)]
    for line in lines:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False)) + "  " + line[-1])


@reporting
def _run(args: argparse.Namespace) -> int:
    stack = stack_twilio(args)
    rows = stack_rows(stack)
    if args.json:
        for row in rows:
            print(json.dumps(asdict(row)))
    else:
        print(f"this stack's webhook: {stack.webhook_url}")
        print_table(rows)
    return 0


def add_command(commands: Any) -> None:
    parser = commands.add_parser(
        "twilio-numbers",
        help="the account's numbers and Messaging Services: webhook, method, fallback, and whether they deliver here",
        description=__doc__,
    )
    add_twilio_options(parser)
    parser.add_argument("--json", action="store_true", help="one JSON line per number or service")
    parser.set_defaults(run=_run)
