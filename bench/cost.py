"""What one message costs, per kind of message: bytes by DynamoDB's own size rules, requests counted at the
transport, Lambda durations from the benchmark's CPU figures.

    python -m bench.cost                       # measures the request counts and CPU itself (~20 s)
    python -m bench.cost --results bench/results/bench-full-....json   # from a `make bench` run
    make bench                                 # prints this table after the benchmark's own

Sizes follow "DynamoDB item sizes and formats" (developerguide/CapacityUnitCalculations.html): a string is its
name's UTF-8 bytes + its UTF-8 bytes; a number its name + 1 byte per two significant digits + 1; binary its name
+ raw bytes; null and boolean its name + 1; a list or map its name + 3 + its elements, each element +1 byte (a
map element's name counts as a name). A write costs 1 unit per started KB (1,024 bytes) for the item and, for
each index it enters, 1 per started KB of the index entry: the table's key + the index's keys + the projected
attributes (developerguide/GSI.html, "Write capacity units"; the 100 bytes per entry count for storage only).

The corpus is Twilio's inbound webhook parameters as sent for SMS, MMS and WhatsApp (real SID and media URL
shapes), every feature on: a Messaging Service, a registered number (entry point), a retention (TTL).
"Before" is the item as stored until 2026-11-24 (every field its own attribute, parameters included) in two
ALL-projection indexes; "after" is message_item.py's item in the template's indexes.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report import Row

KB = 1024
SNS_CHUNK = 64 * KB
# us-east-1, USD (docs/PERFORMANCE.md: the pricing pages, check before relying).
PRICE = {
    "http_api_request": 1.00,  # per million HTTP API requests (first 300 M a month)
    "lambda_request": 0.20,  # per million invocations (function URLs: no charge of their own)
    "lambda_gb_s": 0.0000133334,  # arm64
    "write_unit": 0.625,  # per million write request units, on-demand
    "read_unit": 0.125,  # per million read request units
    "sns_request": 0.50,  # per million requests, each 64 KB of a publish a request
    "sqs_request": 0.40,  # per million requests, each 64 KB a request
}
# PublishTo with EventBridge, us-east-1, USD (aws.amazon.com/eventbridge/pricing, check before relying): custom
# events put on the bus, each 64 KB of an entry one event; every event archived, per GB; and, not per message, the
# archive's storage ($0.023 per GB-month) and replays (the events replayed, as custom events).
EVENTBRIDGE_PRICE = {"put_event": 1.00, "archive_gb": 0.10}
MEMORY_GB = 128 / 1024  # every function but media: MemorySize 128
# Lambda gives a function CPU in proportion to memory, one vCPU at 1,769 MB: at 128 MB, CPU time stretches so.
CPU_STRETCH = 1769 / 128
# In-region DynamoDB and SNS answers, per call the function waits for (assumed; REPORT lines give the real ones).
ROUND_TRIP_S = 0.006
# The subscriber's consumer function per batch of 10 SQS records (it makes no SDK call; not measured warm).
CONSUMER_S_PER_10 = 0.03
SQS_BATCH = 10
# A conservative stream batch: full batches of 100 when traffic is steady (ReadBatchWindow lets them fill).
STREAM_BATCH = 100
OPTOUT_KEYS_PER_MESSAGE = 1  # one (number, sender) pair per message, read eventually consistent: 0.5 unit
# Reply correlation (ReplyWindowMinutes > 0, the default), per inbound message: a Query of ByConversation (0.5 unit:
# its few keys are far under 4 KB) and a read of the items it looks at until one of ours (0.5 unit each, eventually
# consistent). One item when the customer answers a message of ours; more when they write several in a row.
CORRELATION_ITEMS_PER_MESSAGE = 1

TARGETS = {"http_api": 3.30, "function_url": 2.30}  # $ per million 160-character SMS, subscribers apart
TARGET_KIND = "SMS 160 chars"

# The indexes as they were until 2026-11-24: both ALL, so each entry was a copy of the item.
BEFORE_INDEXES = {
    "ByNumber": {"keys": ("to", "receivedAt"), "projection": "ALL"},
    "ByConversation": {"keys": ("conversation", "receivedAt"), "projection": "ALL"},
}


# ---------------------------------------------------------------- DynamoDB's size rules
def _number_size(text: str) -> int:
    mantissa = text.lstrip("+-").lower().split("e")[0]
    digits = mantissa.replace(".", "").lstrip("0")
    if "." in mantissa:
        digits = digits.rstrip("0")
    return math.ceil(len(digits or "0") / 2) + 1


_SCALARS: dict[str, Callable[[Any], int]] = {
    "S": lambda value: len(value.encode()),
    "N": _number_size,
    "B": len,  # raw bytes (the wire's base64 does not count)
    "BOOL": lambda _: 1,
    "NULL": lambda _: 1,
}
_SETS = {"SS": "S", "NS": "N", "BS": "B"}  # a set is the sum of its members


def value_size(typed: dict[str, Any]) -> int:
    """The size of one typed attribute value (without its name)."""
    ((tag, value),) = typed.items()
    if tag in _SCALARS:
        return _SCALARS[tag](value)
    if tag in _SETS:
        return sum(_SCALARS[_SETS[tag]](member) for member in value)
    if tag == "L":
        return 3 + sum(1 + value_size(element) for element in value)
    if tag == "M":
        return 3 + sum(1 + len(name.encode()) + value_size(element) for name, element in value.items())
    raise ValueError(f"unknown DynamoDB type {tag}")


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / KB))


def index_entry(item: dict[str, Any], table_key: str, spec: dict[str, Any]) -> dict[str, Any] | None:
    """What an index holds for the item (None: the item lacks an index key, so it is not in the index)."""
    keys: tuple[str, ...] = spec["keys"]
    if any(name not in item for name in keys):
        return None
    if spec["projection"] == "ALL":
        return item
    names = {table_key, *keys, *spec.get("include", ())}
    return {name: value for name, value in item.items() if name in names}


def template_layout() -> tuple[str, dict[str, dict[str, Any]]]:
    """The messages table's key and indexes as template.yaml declares them."""
    from devtools.template import load_template

    table = load_template()["Resources"]["MessagesTable"]["Properties"]
    (key,) = [element["AttributeName"] for element in table["KeySchema"]]
    indexes = {
        index["IndexName"]: {
            "keys": tuple(element["AttributeName"] for element in index["KeySchema"]),
            "projection": index["Projection"]["ProjectionType"],
            "include": tuple(index["Projection"].get("NonKeyAttributes", ())),
        }
        for index in table["GlobalSecondaryIndexes"]
    }
    return key, indexes


@dataclass(frozen=True)
class Stored:
    item_bytes: int
    index_bytes: dict[str, int]
    write_units: int  # item + every index entry


def stored(item: dict[str, Any], key: str, indexes: dict[str, dict[str, Any]]) -> Stored:
    entries = {name: index_entry(item, key, spec) for name, spec in indexes.items()}
    sizes = {name: item_size(entry) for name, entry in entries.items() if entry is not None}
    size = item_size(item)
    return Stored(size, sizes, write_units(size) + sum(write_units(entry) for entry in sizes.values()))


# ---------------------------------------------------------------- the corpus
_rng = random.Random()  # seeded per message: reproducible SIDs for sizing, nothing secret  # nosec B311

ACCOUNT = "AC5f1c2a9e0b7d4c3a8e6f1b2d9c0a7e4f"
SERVICE = "MG0e9b7a3c5d1f4e2a9b8c6d0f3a1e5b7c"
NUMBER = "+14155550100"
SENDER = "+14155550123"
# One tenant's long message, written out (not repeated), so compression sees real text at every length.
TEXT = (
    "Hi, this is Dana from apartment 4B. The kitchen faucet is leaking again and water is pooling under the "
    "sink. Could someone come by tomorrow morning before 10? I will leave the door code with the front desk. "
    "Also, the hallway light on the third floor has been flickering for a week, and last night it went out "
    "completely, so the stairs were dark when my neighbor came home with her groceries. She nearly tripped. "
    "While I am writing: the parcel room was left unlocked on Saturday and Sunday, and two packages from our "
    "floor went missing. Mine was a replacement part for the dishwasher that I ordered three weeks ago after "
    "your technician said the pump had failed. Is there any camera footage you could check? The delivery "
    "company says it was left at 2:14 pm on Saturday. I have the tracking number if you need it: it starts "
    "with 1Z and ends with 4471. One more thing, the recycling bins behind building C overflow every weekend; "
    "maybe the pickup could move from Monday to Friday, or we could get a third bin? Several residents have "
    "mentioned raccoons getting into the bags, which leaves trash all over the path to the parking garage. "
    "My lease renewal is due on the 30th. I would like to renew for twelve months, but I wanted to ask first "
    "whether the parking spot next to the elevator might become available, since my father is staying with "
    "me for the winter and uses a cane. If it is easier to talk by phone, I am free after 6 pm on weekdays, "
    "or any time Saturday. Sorry for the long message, and thank you for all the work you do keeping the "
    "place running. The new gym equipment is great, by the way, and the kids love the repainted playground. "
    "Best regards, Dana Whitfield, 4B (and Biscuit, the dog, who says hello)."
)


def _sid(prefix: str) -> str:
    return prefix + "".join(_rng.choice("0123456789abcdef") for _ in range(32))


def body(length: int) -> str:
    if length > len(TEXT):
        raise ValueError(f"the corpus text has {len(TEXT)} characters")
    return TEXT[:length]


def sms(length: int, sid_prefix: str = "SM") -> list[tuple[str, str]]:
    sid = _sid(sid_prefix)
    segments = 1 if length <= 160 else math.ceil(length / 153)
    return [
        ("ToCountry", "US"),
        ("ToState", "CA"),
        ("SmsMessageSid", sid),
        ("NumMedia", "0"),
        ("ToCity", "SAN FRANCISCO"),
        ("FromZip", "94105"),
        ("SmsSid", sid),
        ("FromState", "CA"),
        ("SmsStatus", "received"),
        ("FromCity", "SAN FRANCISCO"),
        ("Body", body(length)),
        ("FromCountry", "US"),
        ("To", NUMBER),
        ("MessagingServiceSid", SERVICE),
        ("ToZip", "94105"),
        ("NumSegments", str(segments)),
        ("MessageSid", sid),
        ("AccountSid", ACCOUNT),
        ("From", SENDER),
        ("ApiVersion", "2010-04-01"),
    ]


def mms(media: int, length: int = 35) -> list[tuple[str, str]]:
    pairs = [(name, str(media) if name == "NumMedia" else value) for name, value in sms(length, "MM")]
    sid = dict(pairs)["MessageSid"]
    for index in range(media):
        url = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}/Media/{_sid('ME')}"
        pairs += [(f"MediaContentType{index}", "image/jpeg"), (f"MediaUrl{index}", url)]
    return pairs


def whatsapp(length: int) -> list[tuple[str, str]]:
    sid = _sid("SM")
    return [
        ("SmsMessageSid", sid),
        ("NumMedia", "0"),
        ("ProfileName", "Dana Whitfield"),
        ("MessageType", "text"),
        ("SmsSid", sid),
        ("WaId", SENDER.removeprefix("+")),
        ("SmsStatus", "received"),
        ("Body", body(length)),
        ("To", f"whatsapp:{NUMBER}"),
        ("MessagingServiceSid", SERVICE),
        ("NumSegments", "1"),
        ("ReferralNumMedia", "0"),
        ("MessageSid", sid),
        ("AccountSid", ACCOUNT),
        ("From", f"whatsapp:{SENDER}"),
        ("ApiVersion", "2010-04-01"),
    ]


CORPUS: dict[str, Callable[[], list[tuple[str, str]]]] = {
    "SMS 35 chars": lambda: sms(35),
    "SMS 160 chars": lambda: sms(160),
    "SMS 1600 chars": lambda: sms(1600),
    "MMS 1 media": lambda: mms(1),
    "MMS 10 media": lambda: mms(10),
    "WhatsApp 160 chars": lambda: whatsapp(160),
}
RECEIVED_AT = datetime(2026, 11, 24, 9, 30, 0, 123_000, tzinfo=UTC)
RETENTION_DAYS = 365


def corpus_record(label: str) -> Any:
    """The record the ingest function builds for one corpus message (same SIDs on every run, so sizes compare)."""
    from twilio_inbound.message import StorageOptions, build_record, check_parameters, group_pairs
    from twilio_inbound.numbers import NumberConfig

    _rng.seed(label)
    form = check_parameters(group_pairs(CORPUS[label]()))
    number = NumberConfig(number=form.first("To"), name="support-line", route_key="support", tags=("tier1",))
    return build_record(form, RECEIVED_AT, StorageOptions(RETENTION_DAYS), number)


def event_bytes(record: Any) -> int:
    """The SNS message and its attributes, as the fanout publishes the record."""
    from twilio_inbound.cloudevent import build_event, encode, message_attributes
    from twilio_inbound.publishing import Outgoing

    return Outgoing(0, record["messageSid"], encode(build_event(record, False)), message_attributes(record)).size


# ---------------------------------------------------------------- what the functions do per message
@dataclass(frozen=True)
class Workload:
    """Per message: SDK requests counted at the transport, and CPU from the benchmark's warm runs."""

    ingest_calls: float  # AWS requests per message (PutItem)
    ingest_cpu_us: float
    fanout_calls: float  # AWS requests per stream record (PublishBatch, BatchGetItem), reply correlation's apart
    fanout_sns_calls: float  # of which SNS PublishBatch
    fanout_cpu_us: float  # per stream record
    source: str
    fanout_correlation_calls: float = 0.0  # the Query per record of reply correlation (its cost: its own column)

    @property
    def ingest_seconds(self) -> float:
        """Billed duration (whole ms) of one ingest invocation at 128 MB."""
        return math.ceil((self.ingest_cpu_us * 1e-6 * CPU_STRETCH + self.ingest_calls * ROUND_TRIP_S) * 1000) / 1000

    @property
    def fanout_seconds_per_record(self) -> float:
        batch = (self.fanout_cpu_us * 1e-6 * CPU_STRETCH + self.fanout_calls * ROUND_TRIP_S) * STREAM_BATCH
        return math.ceil(batch * 1000) / 1000 / STREAM_BATCH


def workload_from(details: dict[str, Any], source: str) -> Workload:
    """From the benchmark's warm details (`make bench`, bench/results/*.json)."""
    ingest, fanout = details["warm ingest"], details["warm fanout"]
    per_record = fanout["records_per_event"]
    fanout_calls = {name: count / per_record for name, count in fanout["calls_per_event"].items()}
    correlation = fanout_calls.pop("dynamodb.Query", 0.0)
    return Workload(
        ingest_calls=sum(ingest["calls_per_event"].values()),
        ingest_cpu_us=ingest["figure_us"],
        fanout_calls=sum(fanout_calls.values()),
        fanout_sns_calls=sum(count for name, count in fanout_calls.items() if name.startswith("sns.")),
        fanout_cpu_us=fanout["figure_us"],
        source=source,
        fanout_correlation_calls=correlation,
    )


def measure_workload() -> Workload:
    """The warm runs of the ingest and fanout functions, small (the timing ratios are `make bench`'s)."""
    from bench import warm, workload
    from bench.stackenv import deployed_functions
    from bench.subjects import FANOUT, INGEST

    functions = deployed_functions()
    details: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-cost-") as scratch:
        events = {
            INGEST: workload.write_jsonl(Path(scratch) / "ingest.jsonl", workload.webhook_events(202)),
            FANOUT: workload.write_jsonl(
                Path(scratch) / "fanout.jsonl", workload.stream_events(4, FANOUT.records_per_event)
            ),
        }
        for subject, pairs in ((INGEST, 200), (FANOUT, 12)):
            _, details[f"warm {subject.name}"] = warm.run(
                subject, functions[subject.logical_id], events[subject], pairs
            )
    return workload_from(details, "measured now (python -m bench.cost)")


# ---------------------------------------------------------------- dollars
def pipeline_dollars(units: int, event_size: int, work: Workload, http_api: bool) -> dict[str, float]:
    """$ per million messages from the webhook to the topic (subscribers apart)."""
    lambda_s_price = MEMORY_GB * PRICE["lambda_gb_s"] * 1e6
    publish_chunks = math.ceil(10 * event_size / SNS_CHUNK)  # a PublishBatch of 10, billed per 64 KB
    return {
        "http_api": PRICE["http_api_request"] if http_api else 0.0,
        "ingest_lambda": PRICE["lambda_request"] + work.ingest_seconds * lambda_s_price,
        "dynamodb_writes": units * PRICE["write_unit"],
        "fanout_lambda": PRICE["lambda_request"] / STREAM_BATCH + work.fanout_seconds_per_record * lambda_s_price,
        "optout_reads": OPTOUT_KEYS_PER_MESSAGE * 0.5 * PRICE["read_unit"],
        "sns": work.fanout_sns_calls * publish_chunks * PRICE["sns_request"],
    }


def subscriber_dollars(event_size: int) -> dict[str, float]:
    """$ per million messages for one SQS subscriber with a consumer function (each subscriber its own)."""
    chunks = math.ceil(event_size / SNS_CHUNK)
    lambda_s_price = MEMORY_GB * PRICE["lambda_gb_s"] * 1e6
    return {
        # SNS's delivery (a send, per 64 KB), then ReceiveMessage and DeleteMessageBatch by 10 (Lambda's poller)
        "sqs": (chunks + 2 / SQS_BATCH) * PRICE["sqs_request"],
        "consumer_lambda": PRICE["lambda_request"] / SQS_BATCH + CONSUMER_S_PER_10 / SQS_BATCH * lambda_s_price,
    }


def eventbridge_dollars(event_size: int, work: Workload) -> dict[str, float]:
    """$ per million messages the bus adds (PublishTo=SnsAndEventBridge): PutEvents, the archive's processing, and
    the fanout's wait for its PutEvents calls (as many as its PublishBatch calls). PublishTo=EventBridge saves the
    SNS line of the pipeline instead."""
    lambda_s_price = MEMORY_GB * PRICE["lambda_gb_s"] * 1e6
    return {
        "put_events": math.ceil(event_size / SNS_CHUNK) * EVENTBRIDGE_PRICE["put_event"],
        "archive": event_size * 1e6 / KB**3 * EVENTBRIDGE_PRICE["archive_gb"],
        "fanout_lambda": work.fanout_sns_calls * ROUND_TRIP_S * lambda_s_price,
    }


def correlation_dollars() -> dict[str, float]:
    """$ per million inbound messages reply correlation adds in the fanout (ReplyWindowMinutes > 0): the Query and
    the item reads (bench's fake AWS finds no thread, so the reads are counted here, not measured), and the
    fanout's wait for those calls (its CPU for them is in the measured fanout figure)."""
    lambda_s_price = MEMORY_GB * PRICE["lambda_gb_s"] * 1e6
    calls = 1 + math.ceil(CORRELATION_ITEMS_PER_MESSAGE / 100)  # the Query; one BatchGetItem per 100 items
    return {
        "reads": (0.5 + 0.5 * CORRELATION_ITEMS_PER_MESSAGE) * PRICE["read_unit"],
        "fanout_lambda": calls * ROUND_TRIP_S * lambda_s_price,
    }


@dataclass(frozen=True)
class KindCost:
    kind: str
    body_chars: int
    before: Stored
    after: Stored
    event_bytes: int
    before_http_api: float
    after_http_api: float
    after_function_url: float
    subscriber: float
    parts_after_http_api: dict[str, float]
    eventbridge: float = 0.0  # + the bus and its archive (PublishTo=SnsAndEventBridge)
    correlation: float = 0.0  # + reply correlation (ReplyWindowMinutes > 0, the default)


def measure(work: Workload) -> list[KindCost]:
    from twilio_inbound.dynamo import to_item
    from twilio_inbound.message_item import message_item

    key, indexes = template_layout()
    rows = []
    for kind in CORPUS:
        record = corpus_record(kind)
        before = stored(to_item(record), key, BEFORE_INDEXES)
        after = stored(message_item(record), key, indexes)
        size = event_bytes(record)
        after_api = pipeline_dollars(after.write_units, size, work, http_api=True)
        rows.append(
            KindCost(
                kind=kind,
                body_chars=len(record["body"]),
                before=before,
                after=after,
                event_bytes=size,
                before_http_api=sum(pipeline_dollars(before.write_units, size, work, http_api=True).values()),
                after_http_api=sum(after_api.values()),
                after_function_url=sum(pipeline_dollars(after.write_units, size, work, http_api=False).values()),
                subscriber=sum(subscriber_dollars(size).values()),
                parts_after_http_api=after_api,
                eventbridge=sum(eventbridge_dollars(size, work).values()),
                correlation=sum(correlation_dollars().values()),
            )
        )
    return rows


def target_rows(costs: list[KindCost]) -> list[Row]:
    (sms,) = [cost for cost in costs if cost.kind == TARGET_KIND]
    return [
        Row(f"$ per million {TARGET_KIND}, HTTP API", sms.after_http_api, "$", max_figure=TARGETS["http_api"]),
        Row(
            f"$ per million {TARGET_KIND}, function URL",
            sms.after_function_url,
            "$",
            max_figure=TARGETS["function_url"],
        ),
    ]


@dataclass(frozen=True)
class Column:
    """One column of the table: a header and the cell of each kind of message (a delivery option is one more
    Column here and its dollars beside pipeline_dollars, as the EventBridge bus's)."""

    header: str
    cell: Callable[[KindCost], str]


def _entries(cost: KindCost) -> str:
    return ", ".join(f"{size:,}" for size in cost.after.index_bytes.values())


COLUMNS = [
    Column("message", lambda cost: cost.kind),
    Column("before: item B, WRU", lambda cost: f"{cost.before.item_bytes:,}, {cost.before.write_units}"),
    Column(
        "after: item B / index entries B, WRU",
        lambda cost: f"{cost.after.item_bytes:,} / {_entries(cost)}, {cost.after.write_units}",
    ),
    Column("HTTP API $ before → after", lambda cost: f"{cost.before_http_api:.2f} → **{cost.after_http_api:.2f}**"),
    Column("function URL $ after", lambda cost: f"**{cost.after_function_url:.2f}**"),
    Column("+ each SQS subscriber $", lambda cost: f"{cost.subscriber:.2f}"),
    Column("+ EventBridge bus and archive $", lambda cost: f"{cost.eventbridge:.2f}"),
    Column("+ reply correlation $", lambda cost: f"{cost.correlation:.2f}"),
]


def table(costs: list[KindCost], work: Workload) -> str:
    lines = [
        f"Cost per million messages, us-east-1 (requests and CPU: {work.source}; subscribers apart)",
        "",
        "| " + " | ".join(column.header for column in COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(column.cell(cost) for column in COLUMNS) + " |" for cost in costs]
    (sms,) = [cost for cost in costs if cost.kind == TARGET_KIND]
    parts = ", ".join(f"{name} {value:.3f}" for name, value in sms.parts_after_http_api.items())
    lines += [
        "",
        f"{TARGET_KIND}, HTTP API, after: {parts}.",
        f"Lambda billed at 128 MB: ingest {work.ingest_seconds * 1000:.0f} ms per message "
        f"({work.ingest_cpu_us:.0f} µs CPU × {CPU_STRETCH:.1f} + {work.ingest_calls:g} call × "
        f"{ROUND_TRIP_S * 1000:.0f} ms), fanout {work.fanout_seconds_per_record * STREAM_BATCH * 1000:.0f} ms per "
        f"{STREAM_BATCH} records ({work.fanout_calls * STREAM_BATCH:g} calls); targets: HTTP API ≤ "
        f"{TARGETS['http_api']:.2f}, function URL ≤ {TARGETS['function_url']:.2f} ({TARGET_KIND}).",
        f"Reply correlation (ReplyWindowMinutes, on by default; 0 turns it off) per inbound message: a Query "
        f"({work.fanout_correlation_calls:g} measured per record) and {CORRELATION_ITEMS_PER_MESSAGE} item read "
        "(0.5 unit each), off the webhook's path: not in the targets' pipeline figure, in its own column.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cost", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--results", type=Path, help="a `make bench` JSON to take requests and CPU from")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    if args.results:
        work = workload_from(json.loads(args.results.read_text())["details"], str(args.results))
    else:
        work = measure_workload()
    costs = measure(work)
    print(table(costs, work))
    if args.json:
        args.json.write_text(json.dumps([asdict(cost) for cost in costs], indent=2) + "\n")
    missed = [row for row in target_rows(costs) if row.ok is False]
    for row in missed:
        print(f"MISSED: {row.failure()}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
