"""What one message sent costs, every feature on: the command, the intent, the outbound item, each status callback
(API request, invocation, write, stream, publish) and the status events, per million messages sent, by the number
of status callbacks; and the levers, each measured against the same model.

    python -m bench.sending_cost --results bench/results/bench-full-....json   # from a `make bench` run
    make bench                                                             # prints it after the inbound table

The items are the real ones: the sender's and the status route's own stores (SendIntentStore, OutboundStore)
write them into moto's DynamoDB, tables as template.yaml declares them, and each is sized by DynamoDB's rules
(bench/cost.py): a PutItem costs a unit per started KB of the item and of each index entry; an UpdateItem per
started KB of the larger of the item before and after (an update that leaves the index keys alone writes no
index entry); a conditional write that fails costs as if it had written. Request counts and CPU come from the
benchmark's warm runs (calls counted at the transport), prices from bench/cost.py.

"Every feature on": a reply from a registered number (its entry point on the item), a retention (TTL on both
items), status callbacks to this stack. Twilio sends no callback for a message's initial status (queued, or
accepted through a Messaging Service), which the create call's answer gives and the sender records; then one per
change: the usual three of an SMS are sending (queued through a Messaging Service), sent and delivered; WhatsApp
adds read (Twilio's guide "Outbound Message Status in Status Callbacks"). A callback repeated by Twilio's retries
costs its conditional write and no more (the "repeat" row).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench.cost import (
    CPU_STRETCH,
    MEMORY_GB,
    PRICE,
    ROUND_TRIP_S,
    SNS_CHUNK,
    SQS_BATCH,
    STREAM_BATCH,
    index_entry,
    item_size,
    template_layout,
    write_units,
)
from bench.report import Row

# Twilio's answer to Messages.create, which the sender waits for and Lambda bills (assumed: read the sender's
# REPORT lines for the real one).
TWILIO_ROUND_TRIP_S = 0.2
COMMANDS_PER_INVOCATION = 1  # a quiet queue delivers one command at a time (BatchSize 10 when busy: a lever)
CALLBACKS: dict[int, tuple[str, ...]] = {
    0: (),
    1: ("delivered",),
    2: ("sent", "delivered"),
    3: ("sending", "sent", "delivered"),  # the usual three (SMS)
    4: ("sending", "sent", "delivered", "read"),  # WhatsApp
}
USUAL_CALLBACKS = 3
INTERMEDIATE = ("sending", "sent")  # statuses before the outcome (delivered, undelivered, failed, read)
TARGET = 6.00  # $ per million messages sent up to the topic, HTTP API, the usual three callbacks
OUTBOUND_ITEM = "outbound item, with its first status (the create call's answer)"
READ_UNITS_CONSISTENT = 1.0  # a consistent read of an item up to 4 KB (or of none)


# ---------------------------------------------------------------- the items, written by the real stores
@dataclass(frozen=True)
class Write:
    what: str
    units: int
    item_bytes: int
    stream_record: bool  # the messages table's stream carries it to the fanout
    publishes: bool = False  # the fanout publishes a status event for it


@dataclass(frozen=True)
class SentItems:
    """The writes of one message sent, in order: the sender's, then one per callback status (K = 4 at most)."""

    sender: list[Write]
    callbacks: dict[str, Write]
    command_bytes: int
    event_bytes: int  # one message.status event as published


def sent_items() -> SentItems:
    """Sends one reply through the sender's stores and records each callback's status, in moto."""
    import boto3
    from moto import mock_aws

    from devtools.template import Stack

    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        stack = Stack(session, stack_name="cost", parameters={"RetentionDays": "365"})
        return _written(session, stack)


def _written(session: Any, stack: Any) -> SentItems:
    from twilio_inbound.delivery_status import StatusReport
    from twilio_inbound.dynamo import from_item, to_item
    from twilio_inbound.numbers import EntryPoint
    from twilio_inbound.outbound import Created, Route, SendCommand, outbound_draft, outbound_record
    from twilio_inbound.outbound_table import OutboundStore
    from twilio_inbound.sends_table import SendIntent, SendIntentStore
    from twilio_inbound.status_event import status_data_from_item, status_outgoing

    messages_table, sends_table = (stack.create(name)["Ref"] for name in ("MessagesTable", "SendsTable"))
    client = session.client("dynamodb")
    key, indexes = template_layout()
    command = SendCommand(
        idempotency_key="order-4521-shipped-reply",
        body="Your order 4521 left the warehouse this morning; it arrives tomorrow before noon.",
        in_reply_to="SM" + "1" * 32,
    )
    ours, theirs, account = "+14155550100", "+14155550123", "AC" + "5f1c2a9e0b7d4c3a8e6f1b2d9c0a7e4f"
    entry_point: EntryPoint = {
        "number": ours,
        "name": "support-line",
        "routeKey": "support",
        "tags": ["tier1"],
        "language": "",
    }
    route = Route(account, ours, "", theirs, f"{ours}|{theirs}", entry_point)
    sid, at = "SM" + "2" * 32, "2026-11-24T09:30:00.123Z"

    def item_of(table: str, item_key: dict[str, Any]) -> dict[str, Any]:
        return dict(client.get_item(TableName=table, Key=to_item(item_key), ConsistentRead=True).get("Item", {}))

    def write(what: str, table: str, item_key: dict[str, Any], change: Callable[[], object], **flags: bool) -> Write:
        before = item_size(item_of(table, item_key))
        change()
        after_item = item_of(table, item_key)
        units = write_units(max(before, item_size(after_item)))
        if not before:  # a new item enters each index whose keys it has
            entries = (
                [index_entry(after_item, key, spec) for spec in indexes.values()] if table == messages_table else []
            )
            units += sum(write_units(item_size(entry)) for entry in entries if entry is not None)
        return Write(what, units, item_size(after_item), table == messages_table, **flags)

    intents = SendIntentStore(client, sends_table)
    outbound = OutboundStore(client, messages_table, retention_days=365)
    draft = outbound_draft(command, route)
    intent = SendIntent(
        command.idempotency_key, "sending", command.fingerprint(), claimed_at=1795491000, to=theirs, sender=ours,
        account_sid=account, in_reply_to=command.in_reply_to, draft=draft,
    )  # fmt: skip
    created = Created(sid, "queued", ours, 1, at)
    record = outbound_record(draft, created)
    intent_key, message_key = {"idempotencyKey": command.idempotency_key}, {"messageSid": sid}

    def status(name: str) -> Callable[[], object]:
        report = StatusReport(sid, name, at, None, account, ours, theirs, "", command.idempotency_key)
        return lambda: outbound.record_status(report)

    first = StatusReport(sid, "queued", at, None, account, ours, theirs, "", command.idempotency_key)
    sender = [
        write("intent claimed", sends_table, intent_key, lambda: intents.claim(intent)),
        write("intent sent", sends_table, intent_key, lambda: intents.sent(command.idempotency_key, created)),
        write(OUTBOUND_ITEM, messages_table, message_key, lambda: outbound.put_sent(record, first), publishes=True),
    ]
    callbacks = {
        name: write(f"callback {name}", messages_table, message_key, status(name), publishes=True)
        for name in CALLBACKS[max(CALLBACKS)]
    }
    # A callback Twilio repeats: its conditional write fails (and is billed as a write), nothing is streamed.
    repeat = write("callback repeated (a retry)", messages_table, message_key, status("delivered"))
    callbacks["repeat"] = replace(repeat, stream_record=False)
    image = from_item(item_of(messages_table, message_key))
    event = status_outgoing(0, status_data_from_item(image))
    sent_command = {"idempotencyKey": command.idempotency_key, "inReplyTo": command.in_reply_to, "body": command.body}
    return SentItems(sender, callbacks, len(json.dumps(sent_command).encode()), event.size)


# ---------------------------------------------------------------- what the functions do per message
@dataclass(frozen=True)
class SendingWork:
    """Per message sent and per callback: requests counted at the transport, CPU from the warm runs."""

    sender_cpu_us: float
    sender_calls: dict[str, float]  # service.Operation -> requests per message
    status_cpu_us: float
    status_calls: dict[str, float]  # per callback
    fanout_cpu_us: float  # per stream record
    source: str

    @property
    def sender_aws_calls(self) -> float:
        return sum(count for name, count in self.sender_calls.items() if not name.startswith("twilio."))

    @property
    def sender_reads(self) -> float:
        return _reads(self.sender_calls)

    @property
    def status_reads(self) -> float:
        return _reads(self.status_calls)


def _reads(calls: dict[str, float]) -> float:
    """Items read a message (or a callback): each GetItem one; each BatchGetItem one per key it asks for (the
    sender's opt-out state: the number's and, with a Messaging Service, the service's: counted as one here)."""
    return sum(count for name, count in calls.items() if name in ("dynamodb.GetItem", "dynamodb.BatchGetItem"))


def work_from(details: dict[str, Any], source: str) -> SendingWork:
    sender, status, fanout = details["warm sender"], details["warm status"], details["warm fanout"]
    return SendingWork(
        sender_cpu_us=sender["figure_us"],
        sender_calls=sender["calls_per_event"],
        status_cpu_us=status["figure_us"],
        status_calls=status["calls_per_event"],
        fanout_cpu_us=fanout["figure_us"],
        source=source,
    )


# ---------------------------------------------------------------- dollars
def _lambda_seconds(cpu_us: float, waits_s: float) -> float:
    """Billed duration (whole ms) at 128 MB: CPU stretched by Lambda's share, plus the waits."""
    return math.ceil((cpu_us * 1e-6 * CPU_STRETCH + waits_s) * 1000) / 1000


@dataclass(frozen=True)
class Options:
    """The levers: each changes one thing in the model."""

    http_api: bool = True  # /status behind the HTTP API (False: its function URL)
    commands_per_invocation: int = COMMANDS_PER_INVOCATION
    intermediate_callbacks: bool = True  # sending/sent written and published (False: answered, not recorded)
    outbound_in_by_number: bool = True  # the outbound item's entry under the recipient's number (ByNumber)


def message_dollars(
    items: SentItems, work: SendingWork, callbacks: int, options: Options = Options()
) -> dict[str, float]:
    """$ per million messages sent, up to the topic (subscribers apart), by part."""
    lambda_s = MEMORY_GB * PRICE["lambda_gb_s"] * 1e6
    command_chunks = math.ceil(items.command_bytes / SNS_CHUNK)
    sender_s = _lambda_seconds(work.sender_cpu_us, work.sender_aws_calls * ROUND_TRIP_S + TWILIO_ROUND_TRIP_S)
    status_s = _lambda_seconds(work.status_cpu_us, sum(work.status_calls.values()) * ROUND_TRIP_S)
    fanout_per_record = (
        PRICE["lambda_request"] / STREAM_BATCH
        + _lambda_seconds(work.fanout_cpu_us * STREAM_BATCH, ROUND_TRIP_S * (STREAM_BATCH / 10))
        / STREAM_BATCH
        * lambda_s
    )
    event_request = math.ceil(10 * items.event_bytes / SNS_CHUNK) / 10 * PRICE["sns_request"]  # 10 a PublishBatch

    called = [items.callbacks[name] for name in CALLBACKS[callbacks]]
    recorded = [
        write for write in called if options.intermediate_callbacks or write.what.split()[-1] not in INTERMEDIATE
    ]
    sender = list(items.sender)
    if not options.outbound_in_by_number:
        sender = [replace(write, units=write.units - 1) if write.what == OUTBOUND_ITEM else write for write in sender]
    writes = [*sender, *recorded]
    records = sum(write.stream_record for write in writes)
    events = sum(write.publishes for write in writes)
    return {
        "command (SQS send, receive, delete)": (command_chunks + 2 / SQS_BATCH) * PRICE["sqs_request"],
        "sender Lambda": PRICE["lambda_request"] / options.commands_per_invocation + sender_s * lambda_s,
        "sender reads": work.sender_reads * READ_UNITS_CONSISTENT * PRICE["read_unit"],
        "sender writes": sum(write.units for write in sender) * PRICE["write_unit"],
        "callbacks: API requests": len(called) * PRICE["http_api_request"] * options.http_api,
        "callbacks: status Lambda": len(called) * (PRICE["lambda_request"] + status_s * lambda_s),
        "callbacks: reads (the command each names)": len(called)
        * work.status_reads
        * READ_UNITS_CONSISTENT
        * PRICE["read_unit"],
        "callbacks: writes": sum(write.units for write in recorded) * PRICE["write_unit"],
        "stream: fanout Lambda": records * fanout_per_record,
        "status events (SNS)": events * event_request,
    }


@dataclass(frozen=True)
class Lever:
    name: str
    change: str  # what it changes for users, "" for none
    dollars: float
    saved: float


def levers(items: SentItems, work: SendingWork) -> tuple[float, list[Lever]]:
    """The usual three callbacks over the HTTP API, and each lever alone against it."""
    base = sum(message_dollars(items, work, USUAL_CALLBACKS).values())
    no_replies = "`messages number` no longer lists replies"
    no_early_events = "no message.status event before the outcome"
    choices = [
        ("/status on its function URL (WebhookEndpoint=FunctionUrl)", "", Options(http_api=False)),
        ("commands batched 10 an invocation (a busy queue)", "", Options(commands_per_invocation=10)),
        ("outbound items kept out of ByNumber", no_replies, Options(outbound_in_by_number=False)),
        ("sending/sent answered, not recorded or published", no_early_events, Options(intermediate_callbacks=False)),
        ("all but the function URL", "as above", Options(True, 10, False, False)),
        ("all", "as above", Options(False, 10, False, False)),
    ]
    found = []
    for name, change, options in choices:
        dollars = sum(message_dollars(items, work, USUAL_CALLBACKS, options).values())
        found.append(Lever(name, change, dollars, base - dollars))
    return base, found


def table(items: SentItems, work: SendingWork) -> str:
    lines = [f"Cost per million messages sent, us-east-1 (requests and CPU: {work.source}; subscribers apart)", ""]
    lines += ["| write | write units | item bytes | stream | status event |", "|---|---|---|---|---|"]
    for write in [*items.sender, *items.callbacks.values()]:
        lines.append(
            f"| {write.what} | {write.units} | {write.item_bytes:,} | {'yes' if write.stream_record else 'no'} "
            f"| {'yes' if write.publishes else 'no'} |"
        )
    parts = {count: message_dollars(items, work, count) for count in CALLBACKS}
    lines += ["", "| part | " + " | ".join(f"{count} callbacks" for count in CALLBACKS) + " |"]
    lines.append("|---|" + "---|" * len(CALLBACKS))
    for part in parts[USUAL_CALLBACKS]:
        lines.append(f"| {part} | " + " | ".join(f"{parts[count][part]:.3f}" for count in CALLBACKS) + " |")
    lines.append("| **total, HTTP API** | " + " | ".join(f"**{sum(p.values()):.2f}**" for p in parts.values()) + " |")
    urls = [sum(message_dollars(items, work, count, Options(http_api=False)).values()) for count in CALLBACKS]
    lines.append("| total, function URL | " + " | ".join(f"{dollars:.2f}" for dollars in urls) + " |")
    base, found = levers(items, work)
    lines += ["", f"Levers, each alone, against {base:.2f} (the usual three callbacks, HTTP API):", ""]
    lines += ["| lever | what users see change | $ per million sent | saved |", "|---|---|---|---|"]
    lines += [f"| {lever.name} | {lever.change or '-'} | {lever.dollars:.2f} | {lever.saved:.2f} |" for lever in found]
    sender_s = _lambda_seconds(work.sender_cpu_us, work.sender_aws_calls * ROUND_TRIP_S + TWILIO_ROUND_TRIP_S)
    lines += [
        "",
        f"Lambda billed at 128 MB: sender {sender_s * 1000:.0f} ms a message ({work.sender_cpu_us:.0f} µs CPU × "
        f"{CPU_STRETCH:.1f} + {work.sender_aws_calls:g} AWS calls × {ROUND_TRIP_S * 1000:.0f} ms + Twilio's answer "
        f"{TWILIO_ROUND_TRIP_S * 1000:.0f} ms), status {work.status_cpu_us:.0f} µs CPU a callback; target: the usual "
        f"three callbacks, HTTP API ≤ {TARGET:.2f}.",
    ]
    return "\n".join(lines)


def target_rows(items: SentItems, work: SendingWork) -> list[Row]:
    dollars = sum(message_dollars(items, work, USUAL_CALLBACKS).values())
    return [Row("$ per million messages sent, 3 callbacks, HTTP API", dollars, "$", max_figure=TARGET)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sending_cost", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--results", type=Path, required=True, help="a `make bench` JSON to take requests and CPU from")
    args = parser.parse_args(argv)
    work = work_from(json.loads(args.results.read_text())["details"], str(args.results))
    items = sent_items()
    print(table(items, work))
    missed = [row for row in target_rows(items, work) if row.ok is False]
    for row in missed:
        print(f"MISSED: {row.failure()}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
