"""`python -m bench.growth`: how the requests grow with an account's size, counted, not estimated.

Against the Twilio API stand-in (real HTTP on loopback, the official SDK as client) and moto's DynamoDB (tables as
template.yaml declares them):

- the reads of the Twilio-side commands on accounts of growing size: `connect NUMBER` (AccountLookup: the number,
  the services page, a membership read per service that sends its numbers' messages elsewhere), `connect MG…`
  (the service), and the whole-account read of `twilio-numbers` and `doctor` (read_setup);
- one reconcile run over growing numbers and messages: Twilio requests and DynamoDB calls and read units.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.cost import KB, item_size

ACCOUNT_TOKEN = "growth-token-not-a-secret"  # noqa: S105  # nosec B105
OVERRIDING_SERVICES = 2  # services whose own URL receives their numbers' messages; the rest defer or have none
SETUP_SIZES = ((1, 1), (61, 52), (1200, 300))  # (numbers, Messaging Services)
RECONCILE_SIZES = ((1, 0), (1, 250), (1, 2500), (10, 0), (10, 100), (61, 0))  # (numbers, messages to each)


@dataclass(frozen=True)
class SetupGrowth:
    numbers: int
    services: int
    connect_number: int
    connect_service: int
    whole_account: int


@dataclass(frozen=True)
class ReconcileGrowth:
    numbers: int
    messages: int
    twilio_requests: int
    dynamodb_calls: dict[str, int]
    read_units: float


@contextmanager
def _standin() -> Iterator[Any]:
    from devtools.twilio_api import TwilioStandIn

    with TwilioStandIn.start() as twilio:
        yield twilio


def _api_requests(twilio: Any, action: Callable[[], object]) -> int:
    twilio.clear_logs()
    action()
    return len(twilio.requests("api"))


def setup_growth(numbers: int, services: int) -> SetupGrowth:
    from twilio_inbound_cli.twilio_setup import AccountLookup, read_setup

    with _standin() as twilio:
        account = twilio.add_account(auth_token=ACCOUNT_TOKEN)
        added = [twilio.add_number(account.sid, f"+1500{index:07d}") for index in range(numbers)]
        held = []
        for index in range(services):
            members = [added[index].sid] if index < numbers else []
            settings: dict[str, Any] = {"use_inbound_webhook_on_number": index % 2 == 0}
            if index < OVERRIDING_SERVICES:
                settings = {"inbound_request_url": "https://crm.example.com/in", "use_inbound_webhook_on_number": False}
            held.append(twilio.add_service(account.sid, number_sids=members, **settings))
        client = twilio.client(account)
        here = "https://abc123defg.execute-api.us-east-1.amazonaws.com/sms"
        target = added[-1].phone_number  # held by no overriding service: every one of them is asked

        def connect_number() -> None:
            lookup = AccountLookup(client, account.sid)
            number = lookup.number(target)
            if number is None:
                raise LookupError(f"{target} is not a number of the stand-in's account")
            lookup.service_sending_elsewhere(number, here)

        return SetupGrowth(
            numbers,
            services,
            _api_requests(twilio, connect_number),
            _api_requests(twilio, lambda: AccountLookup(client, account.sid).service(held[-1].sid)),
            _api_requests(twilio, lambda: read_setup(client, account.sid, [target])),
        )


def reconcile_growth(numbers: int, messages: int) -> ReconcileGrowth:
    """One reconcile run (no backfill) over `numbers` registered numbers with `messages` stored inbound ones each."""
    import boto3
    from moto import mock_aws

    from devtools.lambda_events import stored_record
    from devtools.template import Stack
    from twilio_inbound.messages_table import MessageStore
    from twilio_inbound.numbers import NumberConfig
    from twilio_inbound.numbers_table import NumberRegistry
    from twilio_inbound.opt_outs_table import OptOutStore
    from twilio_inbound.reconciliation import Reconciler, reconcile_accounts
    from twilio_inbound_cli.signing import inbound_form

    now = datetime.now(UTC).replace(microsecond=0)
    with _standin() as twilio, mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        stack = Stack(session, stack_name="growth")
        tables = {name: stack.create(name)["Ref"] for name in ("MessagesTable", "NumbersTable", "OptOutsTable")}
        dynamodb = session.client("dynamodb")
        store = MessageStore(dynamodb, tables["MessagesTable"], tables["OptOutsTable"])
        registry = NumberRegistry(dynamodb, tables["NumbersTable"], ttl=0)
        account = twilio.add_account(auth_token=ACCOUNT_TOKEN)
        for index in range(numbers):
            number = f"+1500{index:07d}"
            twilio.add_number(account.sid, number)
            registry.put(NumberConfig(number, name=f"line-{index}"))
            for serial in range(messages):
                sent = now - timedelta(minutes=5, seconds=serial % 600)
                message = twilio.add_inbound_message(
                    account.sid, sender=f"+1415{serial:07d}", to=number, body="hi", date_sent=sent
                )
                store.put_new(
                    stored_record(
                        inbound_form(body="hi", sender=message.from_, to=number, message_sid=message.sid), sent
                    )
                )
        # As the scheduled function runs it: its window ends minutes ago, its reads are eventually consistent.
        reconciler = Reconciler(store, registry, OptOutStore(dynamodb, tables["OptOutsTable"]), consistent_reads=False)
        calls: Counter[str] = Counter()
        units: list[float] = []

        def count(model: Any, **_: Any) -> None:
            calls[model.name] += 1

        def read_units(parsed: dict[str, Any], model: Any, **_: Any) -> None:
            """By DynamoDB's rules (moto does not model them): a unit per started 4 KB of each item a BatchGetItem
            returns, of all a Scan read; half for an eventually consistent read."""
            if model.name == "BatchGetItem":
                items = [item for found in parsed.get("Responses", {}).values() for item in found]
                units.extend(math.ceil(item_size(item) / (4 * KB)) / 2 for item in items)
            elif model.name == "Scan":
                units.append(math.ceil(sum(map(item_size, parsed.get("Items", []))) / (4 * KB)) / 2)

        dynamodb.meta.events.register("provide-client-params.dynamodb.*", count)
        dynamodb.meta.events.register("after-call.dynamodb.*", read_units)
        twilio.clear_logs()
        registered = [config.number for config in registry.all()]
        clients = {account.sid: twilio.client(account)}
        reconcile_accounts(reconciler, clients, registered, now - timedelta(hours=1), now, backfill=False)
        return ReconcileGrowth(numbers, messages, len(twilio.requests("api")), dict(calls), sum(units))


def table(setups: list[SetupGrowth], runs: list[ReconcileGrowth]) -> str:
    lines = [
        "Twilio requests of the Twilio-side commands, by account size "
        f"({OVERRIDING_SERVICES} services send their numbers' messages to their own URL)",
        "",
        "| numbers | Messaging Services | connect NUMBER | connect MG… | twilio-numbers, doctor (whole account) |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {row.numbers:,} | {row.services:,} | {row.connect_number} | {row.connect_service} | {row.whole_account} |"
        for row in setups
    ]
    lines += [
        "",
        "One scheduled reconcile run, by registered numbers and inbound messages to each in the window (all stored)",
        "",
        "| numbers | messages each | Twilio requests | DynamoDB calls | read units |",
        "|---|---|---|---|---|",
    ]
    for run in runs:
        dynamodb = ", ".join(f"{name} {count}" for name, count in sorted(run.dynamodb_calls.items()))
        lines.append(f"| {run.numbers} | {run.messages:,} | {run.twilio_requests} | {dynamodb} | {run.read_units:g} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="python -m bench.growth", description=__doc__).parse_args(argv)
    setups = [setup_growth(numbers, services) for numbers, services in SETUP_SIZES]
    runs = [reconcile_growth(numbers, messages) for numbers, messages in RECONCILE_SIZES]
    print(table(setups, runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
