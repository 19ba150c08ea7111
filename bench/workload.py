"""The messages the benchmark feeds the functions, written as JSON lines for the measuring processes, and what
the fake AWS and Twilio answer with (seeded items, the Messages list).

Built here, in the parent, so a measured process imports nothing but its function and reads one event at a
time. Every webhook event (inbound message or status callback) is distinct (its own MessageSid) and signed
exactly as Twilio signs; every stream record carries the item the ingest function stores for such a message;
every send command has its own idempotencyKey.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.fakeaws import SEEDED_ENV
from bench.faketwilio import MEDIA_BYTES_ENV, MESSAGES_ENV
from bench.stackenv import REGION, Deployed
from devtools.apigw import http_api_event
from devtools.lambda_context import ACCOUNT_ID
from devtools.lambda_events import as_event_json, sqs_record, stored_record, stream_record
from devtools.twilio_api.models import Message
from devtools.twilio_api.resources import message_json
from twilio_inbound.clock import utc_now
from twilio_inbound.cloudevent import build_event, encode, message_attributes
from twilio_inbound.dynamo import to_item
from twilio_inbound.message_item import message_item
from twilio_inbound.numbers import NumberConfig
from twilio_inbound.numbers_table import config_item
from twilio_inbound_cli.signing import (
    TEST_ACCOUNT_SID,
    TEST_WEBHOOK_URL,
    encode_form,
    inbound_form,
    signed_headers,
    status_callback_form,
)

BODY = "Hi! Is my order 4521 on its way? 📦"
REPLY = "Your order 4521 left the warehouse this morning; it arrives tomorrow."
STREAM_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/bench-MessagesTable/stream/2026-01-01T00:00:00.000"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:bench-SubscriberQueue"
STATUS_URL = TEST_WEBHOOK_URL.removesuffix("/sms") + "/status"
OUR_NUMBER = "+15005550001"  # registered in the numbers table the sender and reconcile read
STATUS_SERIAL = "02"
RECONCILED_MESSAGES = 200  # a run's window: the messages Twilio lists for the registered number, all stored
MEDIA_BYTES = 256 * 1024  # one MMS picture (Twilio's MMS limit is 5 MB a message; phones send a few hundred KB)


def _message(index: int, serial: str) -> list[tuple[str, str]]:
    return inbound_form(body=BODY, sender=f"+1415{index % 10_000_000:07d}", message_sid=f"SM{serial}{index:030x}")


def webhook_events(count: int, serial: str = "00") -> Iterator[dict[str, Any]]:
    """API Gateway (payload 2.0) events, as Twilio's POST reaches the ingest function."""
    for index in range(count):
        pairs = _message(index, serial)
        yield http_api_event("POST", TEST_WEBHOOK_URL, signed_headers(TEST_WEBHOOK_URL, pairs), encode_form(pairs))


def stream_events(count: int, records_per_event: int, serial: str = "01") -> Iterator[dict[str, Any]]:
    """DynamoDB stream events as the fanout's event source mapping delivers them (BatchSize records each)."""
    received_at = utc_now()
    for event_index in range(count):
        first = event_index * records_per_event
        yield {
            "Records": [
                stream_record(
                    stored_record(_message(index, serial), received_at),
                    event_id=f"{index:032x}",
                    sequence_number=10**20 + index,
                    stream_arn=STREAM_ARN,
                    created_at=received_at,
                )
                for index in range(first, first + records_per_event)
            ]
        }


def queue_events(publish_batches: list[dict[str, Any]], messages: int, per_event: int) -> Iterator[dict[str, Any]]:
    """SQS events for the subscriber (raw delivery, BatchSize per event), made of what the fanout published
    (the parameters of its PublishBatch calls), repeated up to `messages`."""
    entries = [entry for batch in publish_batches for entry in batch["PublishBatchRequestEntries"]]
    records = []
    for index in range(messages):
        entry = entries[index % len(entries)]
        records.append(
            sqs_record(
                message_id=f"{index:08x}-0000-4000-8000-000000000000",
                receipt_handle=f"bench-{index}",
                body=entry["Message"],
                queue_arn=QUEUE_ARN,
                attributes={  # as Lambda hands them over (Powertools' SqsRecordModel requires each)
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1767225600000",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1767225600000",
                },
                message_attributes=entry.get("MessageAttributes", {}),
            )
        )
        if len(records) == per_event:
            yield {"Records": records}
            records = []
    if records:
        yield {"Records": records}


def write_jsonl(path: Path, events: Iterable[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as stream:
        for event in events:
            stream.write(json.dumps(event, ensure_ascii=False) + "\n")
    return path


def write_json(path: Path, content: Any) -> Path:
    path.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    return path


def status_events(count: int, serial: str = STATUS_SERIAL) -> Iterator[dict[str, Any]]:
    """Twilio's status callbacks (delivered) for messages the sender sent, each to the StatusCallback URL it set."""
    for index in range(count):
        url = f"{STATUS_URL}?idempotencyKey={idempotency_key(index)}"
        pairs = status_callback_form(_sent_sid(index, serial), "delivered", sender=OUR_NUMBER, to=_customer(index))
        event = http_api_event("POST", url, signed_headers(url, pairs), encode_form(pairs), route_key="POST /status")
        yield event


def idempotency_key(index: int) -> str:
    return f"bench-{index:08d}"


def _sent_sid(index: int, serial: str = STATUS_SERIAL) -> str:
    return f"SM{serial}{index:030x}"


def sent_intents(count: int) -> list[dict[str, Any]]:
    """The sends table's items of the commands the status events answer: sent, of the events' account (the status
    route accepts a callback naming a command only for the message that command sent)."""
    return [
        to_item(
            {
                "idempotencyKey": idempotency_key(index),
                "state": "sent",
                "fingerprint": "0" * 64,
                "messageSid": _sent_sid(index),
                "accountSid": TEST_ACCOUNT_SID,
                "to": _customer(index),
                "from": OUR_NUMBER,
                "claimedAt": 1_767_225_600,
            }
        )
        for index in range(count)
    ]


def _customer(index: int) -> str:
    return f"+1415{index % 10_000_000:07d}"


def send_events(count: int, per_event: int) -> Iterator[dict[str, Any]]:
    """The outbound queue's events: send commands from the registered number, each with its own key."""
    for first in range(0, count * per_event, per_event):
        records = []
        for index in range(first, first + per_event):
            command = {
                "idempotencyKey": idempotency_key(index),
                "from": OUR_NUMBER,
                "to": _customer(index),
                "body": REPLY,
            }
            records.append(
                sqs_record(
                    message_id=f"{index:08x}-0000-4000-8000-000000000001",
                    receipt_handle=f"bench-send-{index}",
                    body=json.dumps(command),
                    queue_arn=QUEUE_ARN.replace("SubscriberQueue", "OutboundQueue"),
                    attributes={"ApproximateReceiveCount": "1", "SentTimestamp": "1767225600000"},
                    message_attributes={},
                )
            )
        yield {"Records": records}


def media_url(message_sid: str, index: int) -> str:
    media_sid = f"ME{index:032x}"
    return f"https://api.twilio.com/2010-04-01/Accounts/{TEST_ACCOUNT_SID}/Messages/{message_sid}/Media/{media_sid}"


def media_events(count: int, serial: str = "03") -> Iterator[dict[str, Any]]:
    """The media queue's events: a message.received event of an MMS with one picture, as the fanout publishes."""
    received_at = utc_now()
    for index in range(count):
        sid = f"MM{serial}{index:030x}"
        pairs = inbound_form(
            body="photo", sender=_customer(index), message_sid=sid, media=[(media_url(sid, index), "image/jpeg")]
        )
        record = stored_record(pairs, received_at)
        body = encode(build_event(record, False))
        yield {
            "Records": [
                sqs_record(
                    message_id=f"{index:08x}-0000-4000-8000-000000000002",
                    receipt_handle=f"bench-media-{index}",
                    body=body,
                    queue_arn=QUEUE_ARN.replace("SubscriberQueue", "MediaQueue"),
                    attributes={"ApproximateReceiveCount": "1", "SentTimestamp": "1767225600000"},
                    message_attributes=message_attributes(record),
                )
            ]
        }


def schedule_events(count: int) -> Iterator[dict[str, Any]]:
    """EventBridge Scheduler's invocations of reconcile (the function reads nothing of the event by default)."""
    for _ in range(count):
        yield {}


def registered_number() -> NumberConfig:
    return NumberConfig(OUR_NUMBER, name="support-line", route_key="support", tags=("tier1",))


def reconciled_messages(count: int = RECONCILED_MESSAGES) -> list[Message]:
    """Inbound messages Twilio lists for the registered number in a run's window (all stored by the webhook)."""
    sent = utc_now()
    return [
        Message(
            sid=f"SM04{index:030x}",
            account_sid=TEST_ACCOUNT_SID,
            direction="inbound",
            from_=_customer(index),
            to=OUR_NUMBER,
            body=BODY,
            status="received",
            seq=index,
            date_created=sent,
            date_updated=sent,
            date_sent=sent,
        )
        for index in range(count)
    ]


def twilio_answers(listed: list[Message]) -> dict[str, Any]:
    """What bench.faketwilio answers with: a created message's JSON (its fields replaced per request) and the list."""
    created = Message(
        sid="SM" + "0" * 32,
        account_sid=TEST_ACCOUNT_SID,
        direction="outbound-api",
        from_=OUR_NUMBER,
        to="+14155550100",
        body=REPLY,
        status="queued",
        seq=0,
    )
    return {"created": message_json(created, 0), "listed": [message_json(message, 0) for message in listed]}


def seeded_items(
    tables: dict[str, str], listed: list[Message], intents: list[dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """What the fake DynamoDB finds (table name -> items): the registered number, the listed messages as the
    webhook stored them (reconcile compares them), the commands the status callbacks name."""
    stored = [
        message_item(
            stored_record(
                inbound_form(body=message.body, sender=message.from_ or "", to=message.to, message_sid=message.sid),
                message.date_sent or utc_now(),
            )
        )
        for message in listed
    ]
    return {
        tables["numbers"]: [config_item(registered_number())],
        tables["messages"]: [as_event_json(item) for item in stored],
        tables["sends"]: intents,
    }


@dataclass(frozen=True)
class Feed:
    """A subject's events, and what the fakes answer it with (BENCH_* variables of its process)."""

    events: Path
    environment: dict[str, str] = field(default_factory=dict)


def feed(subject: str, count: int, scratch: Path, deployed: Deployed) -> Feed:
    """`count` events for one subject (status, sender, media, reconcile), in `scratch`."""
    environment = deployed.environment
    tables = {
        "messages": environment.get("TABLE_NAME", ""),
        "numbers": environment.get("NUMBERS_TABLE_NAME", ""),
        "sends": environment.get("SENDS_TABLE_NAME", ""),
    }
    listed = reconciled_messages() if subject == "reconcile" else []
    intents = sent_intents(count) if subject == "status" else []
    fakes = {
        SEEDED_ENV: str(write_json(scratch / f"{subject}-items.json", seeded_items(tables, listed, intents))),
        MESSAGES_ENV: str(write_json(scratch / f"{subject}-twilio.json", twilio_answers(listed))),
        MEDIA_BYTES_ENV: str(MEDIA_BYTES),
    }
    events = {
        "status": lambda: status_events(count),
        "sender": lambda: send_events(count, 1),
        "media": lambda: media_events(count),
        "reconcile": lambda: schedule_events(count),
    }[subject]()
    return Feed(write_jsonl(scratch / f"{subject}.jsonl", events), fakes)
