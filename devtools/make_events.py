"""Regenerates events/: API Gateway events signed with the documented test token (inbound messages, a status
callback), a stream event for the fanout function, and SQS events for the consumer and the sender.
Deterministic: the same input gives the same files.

    make events        (or: python -m devtools.make_events)
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from devtools.apigw import http_api_event, rest_api_event, rest_api_url
from devtools.lambda_context import ACCOUNT_ID
from devtools.lambda_events import sqs_record, stored_record, stream_record
from devtools.template import ROOT, Stack, refers_to_resource
from twilio_inbound.cloudevent import build_event, encode, message_attributes
from twilio_inbound.message import MessageRecord
from twilio_inbound_cli.signing import (
    TEST_AUTH_TOKEN,
    TEST_WEBHOOK_URL,
    FormPairs,
    encode_form,
    inbound_form,
    signed_headers,
    status_callback_form,
)

EVENTS_DIR = ROOT / "events"
SAM_LOCAL_EMULATOR = "http://127.0.0.1:5000"  # `make local`'s default emulator address
REST_API_URL = rest_api_url(TEST_WEBHOOK_URL)
RECEIVED_AT = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
IDEMPOTENCY_TOKEN = {"I-Twilio-Idempotency-Token": "00000000-0000-4000-8000-000000000000"}


def _sid(prefix: str, name: str) -> str:
    return prefix + hashlib.sha256(name.encode()).hexdigest()[:32]


MESSAGES: dict[str, FormPairs] = {
    "sms": inbound_form(body="Hi! Is my order 4521 on its way? 📦", message_sid=_sid("SM", "sms")),
    "mms": inbound_form(
        body="Photos of the damage",
        message_sid=_sid("MM", "mms"),
        media=[
            (f"https://api.twilio.com/2010-04-01/Accounts/AC{'0' * 32}/Messages/{_sid('MM', 'mms')}/Media/ME{i}", t)
            for i, t in ((1, "image/jpeg"), (2, "image/png"))
        ],
    ),
    "whatsapp": inbound_form(
        body="Hola, ¿a qué hora abren?",
        sender="whatsapp:+14155550199",
        to="whatsapp:+15005550001",
        message_sid=_sid("SM", "whatsapp"),
    ),
    "stop": inbound_form(body="STOP", message_sid=_sid("SM", "stop"), extra=[("OptOutType", "STOP")]),
}


def _write(name: str, document: dict[str, Any]) -> Path:
    path = EVENTS_DIR / name
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _signed(pairs: FormPairs, url: str) -> tuple[dict[str, str], bytes]:
    return {**signed_headers(url, pairs), **IDEMPOTENCY_TOKEN}, encode_form(pairs)


def _stable(event: dict[str, Any]) -> dict[str, Any]:
    """Fixed request ids and times, so regenerating does not churn the files."""
    context = event["requestContext"]
    context["requestId"] = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    if "timeEpoch" in context:
        context["time"], context["timeEpoch"] = "15/Jan/2026:09:30:00 +0000", int(RECEIVED_AT.timestamp() * 1000)
    return event


def api_events() -> list[Path]:
    written = []
    for name, pairs in {**MESSAGES, "repeat": MESSAGES["sms"]}.items():
        headers, body = _signed(pairs, TEST_WEBHOOK_URL)
        written.append(
            _write(f"http-api-{name}.json", _stable(http_api_event("POST", TEST_WEBHOOK_URL, headers, body)))
        )
        headers, body = _signed(pairs, REST_API_URL)
        written.append(_write(f"rest-api-{name}.json", _stable(rest_api_event("POST", REST_API_URL, headers, body))))
    return written


def records() -> list[MessageRecord]:
    return [stored_record(pairs, RECEIVED_AT) for pairs in MESSAGES.values()]


def stream_event() -> Path:
    stream_arn = (
        f"arn:aws:dynamodb:us-east-1:{ACCOUNT_ID}:table/twilio-inbound-MessagesTable/stream/2026-01-15T09:00:00.000"
    )
    entries = [
        stream_record(
            record,
            event_id=f"{index + 1:032x}",
            sequence_number=10**20 + index,
            stream_arn=stream_arn,
            created_at=RECEIVED_AT,
        )
        for index, record in enumerate(records())
    ]
    return _write("dynamodb-stream.json", {"Records": entries})


def sqs_event() -> Path:
    queue_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:twilio-inbound-SubscriberQueue"
    sent_at = str(int(RECEIVED_AT.timestamp() * 1000))
    entries = [
        sqs_record(
            message_id=record["messageSid"].lower()[2:10] + "-0000-4000-8000-000000000000",
            receipt_handle="AQEB-local-" + record["messageSid"],
            body=encode(build_event(record, opted_out=record["optOutType"] == "STOP")),
            queue_arn=queue_arn,
            attributes={
                "ApproximateReceiveCount": "1",
                "SentTimestamp": sent_at,
                "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                "ApproximateFirstReceiveTimestamp": sent_at,
            },
            message_attributes=message_attributes(record),
        )
        for record in records()
    ]
    return _write("sqs-subscriber.json", {"Records": entries})


def status_event() -> Path:
    """A signed status callback for the status function (a reply, delivered)."""
    url = TEST_WEBHOOK_URL.replace("/sms", "/status") + "?idempotencyKey=auto-reply:" + _sid("SM", "sms")
    headers, body = _signed(status_callback_form(_sid("SM", "reply"), "delivered"), url)
    return _write("status-callback.json", _stable(http_api_event("POST", url, headers, body, route_key="ANY /status")))


def send_command_event() -> Path:
    """An SQS event for the sender: the reply the example consumer sends to the sms sample (inReplyTo)."""
    body = json.dumps(
        {
            "inReplyTo": _sid("SM", "sms"),
            "body": "Thanks! It left this morning.",
            "idempotencyKey": "auto-reply:" + _sid("SM", "sms"),
        }
    )
    record = sqs_record(
        message_id="5e4d3c2b-0000-4000-8000-000000000000",
        receipt_handle="AQEB-local-send-command",
        body=body,
        queue_arn=f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:twilio-inbound-OutboundQueue",
        attributes={"ApproximateReceiveCount": "1", "SentTimestamp": str(int(RECEIVED_AT.timestamp() * 1000))},
        message_attributes={},
    )
    return _write("send-command-sqs.json", {"Records": [record]})


def sam_local_env() -> Path:
    """`sam local invoke/start-api --env-vars events/env.json`: the local stack's resources and test token.

    sam local resolves a Ref or GetAtt to a resource as its logical id ("NumbersTable"), so every variable
    that names a resource gets the name `make local` gives it (its default stack name), taken from the same
    template-driven creation the local stack runs (in moto, in this process). 127.0.0.1 works with
    `--docker-network host` (Linux); elsewhere use http://host.docker.internal:5000.
    """
    with mock_aws():
        stack = Stack(boto3.session.Session(region_name="us-east-1"))
        functions = stack.functions()
    global_variables = stack.template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    overrides: dict[str, dict[str, str]] = {}
    for logical_id, spec in functions.items():
        own_variables = stack.resources[logical_id]["Properties"].get("Environment", {}).get("Variables", {})
        declared = {**global_variables, **own_variables}
        overrides[logical_id] = {"AWS_ENDPOINT_URL": SAM_LOCAL_EMULATOR} | {
            name: spec.environment[name]
            for name, value in declared.items()
            if refers_to_resource(value, stack.resources)
        }
    # No secret exists for sam local: every function that reads it gets none, and the ingest function the test
    # token the events are signed with, directly.
    for logical_id, spec in functions.items():
        if "TWILIO_AUTH_TOKEN_SECRET_ARN" in spec.environment:
            overrides[logical_id]["TWILIO_AUTH_TOKEN_SECRET_ARN"] = ""  # empty: not a secret  # nosec B105
    for verifying in ("IngestFunction", "StatusFunction", "SenderFunction"):  # as `make local` gives them
        overrides[verifying]["TWILIO_AUTH_TOKEN"] = TEST_AUTH_TOKEN
    return _write("env.json", overrides)


def main() -> None:
    EVENTS_DIR.mkdir(exist_ok=True)
    for path in [*api_events(), stream_event(), sqs_event(), status_event(), send_command_event(), sam_local_env()]:
        print(path)


if __name__ == "__main__":
    main()
