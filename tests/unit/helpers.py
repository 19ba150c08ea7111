"""What the unit tests share: shipped and signed events, the event's schema, a subscriber's queue, the stream
published as the fanout's event source would, an intake wired to moto."""

from __future__ import annotations

import base64
import io
import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl

import jsonschema
from aws_lambda_powertools import Logger
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.exceptions import ReadTimeoutError

from devtools.apigw import GatewayServer, http_api_event, rest_api_event
from devtools.lambda_runtime import Invoke, load_function
from devtools.pollers import StreamPoller
from devtools.subscriber import subscribe_queue as subscribe_queue_to
from devtools.template import ROOT, Stack
from fanout.outbox import fan_out
from ingest.intake import Intake
from ingest.settings import IngestSettings
from twilio_inbound.clock import iso_millis, utc_now
from twilio_inbound.dynamo import to_item
from twilio_inbound.messages_table import MessageStore
from twilio_inbound.numbers_table import NumberRegistry
from twilio_inbound.opt_outs_table import OptOutStore
from twilio_inbound.publishing import TopicPublisher
from twilio_inbound.reply_correlation import LastSent
from twilio_inbound.secret_source import SecretSource
from twilio_inbound.secrets import WebhookSecrets
from twilio_inbound.signature import SignatureVerifier
from twilio_inbound.status_event import STATUS_EVENT_TYPE
from twilio_inbound_cli.replay import Replayer
from twilio_inbound_cli.signing import (
    TEST_ACCOUNT_SID,
    TEST_AUTH_TOKEN,
    TEST_WEBHOOK_URL,
    FormPairs,
    encode_form,
    new_message_sid,
    signed_headers,
)

EVENTS = ROOT / "events"
# Offline: the token from the environment, and no registry cache so each test sees its own registrations.
OFFLINE_ENV = {"TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN, "TWILIO_AUTH_TOKEN_SECRET_ARN": "", "REGISTRY_CACHE_SECONDS": "0"}
SCHEMA = json.loads((ROOT / "schemas" / "message-received.v1.json").read_text())  # the published event's
STATUS_SCHEMA = json.loads((ROOT / "schemas" / "message-status.v1.json").read_text())
# What an error answer must never contain: the token, a stack trace, resource names, AWS error names.
INTERNALS = (
    TEST_AUTH_TOKEN,
    "Traceback",
    'File "',
    "arn:",
    "Exception",
    "botocore",
    "boto3",
    "ResourceNotFound",
    "ValidationException",
    "ConditionalCheckFailed",
    "ProvisionedThroughput",
    "AccessDenied",
)


# ---------------------------------------------------------------- events
def load_event(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return document


def event_files(prefix: str) -> list[Path]:
    return sorted(EVENTS.glob(f"{prefix}*.json"))


def signed_event(
    pairs: FormPairs,
    *,
    url: str = TEST_WEBHOOK_URL,
    token: str = TEST_AUTH_TOKEN,
    signed_url: str | None = None,
    version: str = "2.0",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway event for a form signed over `signed_url` (default: the URL called)."""
    all_headers = {**signed_headers(signed_url or url, pairs, token), **(headers or {})}
    build = http_api_event if version == "2.0" else rest_api_event
    return build("POST", url, all_headers, encode_form(pairs))


def form_of(body: bytes) -> FormPairs | None:
    """The form's parameters; None when the body or a percent-escape in it is not UTF-8."""
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        return None


def put_twilio_secret(stack: Stack, document: dict[str, Any] | str) -> str:
    """Changes the stack's Twilio secret (the one every function's role names); returns its ARN."""
    arn = stack.parameters["TwilioAuthTokenSecretArn"]
    text = document if isinstance(document, str) else json.dumps(document)
    stack.session.client("secretsmanager").put_secret_value(SecretId=arn, SecretString=text)
    return arn


# ---------------------------------------------------------------- subscribers
def subscribe_queue(stack: Stack, name: str = "test-subscriber", filter_policy: dict[str, Any] | None = None) -> str:
    """A downstream team's queue, subscribed the way docs/guides/subscribe.md tells them to."""
    sqs, sns = stack.session.client("sqs"), stack.session.client("sns")
    return subscribe_queue_to(sqs, sns, stack.physical["MessagesTopic"]["Ref"], name, filter_policy)[0]


def drain(stack: Stack, url: str) -> list[dict[str, Any]]:
    """Every message waiting in the queue (deleted as read): its event and its message attributes."""
    sqs = stack.session.client("sqs")
    received: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
            "Messages", []
        )
        if not messages:
            return received
        for message in messages:
            received.append({"event": json.loads(message["Body"]), "attributes": message.get("MessageAttributes", {})})
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


# ---------------------------------------------------------------- the ingest use case, wired by hand
def publish_stream(stack: Stack, optouts: OptOutStore) -> None:
    """Runs the fanout over everything in the table's stream so far, as the event source mapping would."""
    (source,) = stack.functions()["FanoutFunction"].events
    topic = TopicPublisher(stack.session.client("sns"), stack.physical["MessagesTopic"]["Ref"])

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        retry = fan_out(event["Records"], topic, optouts).retry
        return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in retry]}

    poller = StreamPoller(stack.session, source.arn, invoke, source.properties, function="FanoutFunction")
    while poller.poll_once():
        pass


def ingest_settings(stack: Stack, **changes: Any) -> IngestSettings:
    values: dict[str, Any] = {
        "table_name": stack.physical["MessagesTable"]["Ref"],
        "numbers_table_name": stack.physical["NumbersTable"]["Ref"],
        "opt_outs_table_name": stack.physical["OptOutsTable"]["Ref"],
        "secrets": SecretSource(local_tokens=(TEST_AUTH_TOKEN,)),
    }
    return IngestSettings(**{**values, **changes})


def make_intake(stack: Stack, settings: IngestSettings, load_secrets: Callable[[], WebhookSecrets]) -> Intake:
    client = stack.session.client("dynamodb")
    return Intake(
        settings=settings,
        verifier=SignatureVerifier(load_secrets, settings.signing_mode),
        store=MessageStore(client, settings.table_name, settings.opt_outs_table_name),
        registry=NumberRegistry(client, settings.numbers_table_name),
        optouts=OptOutStore(client, settings.opt_outs_table_name),
        now=utc_now,
    )


# ---------------------------------------------------------------- faults injected at the SDK level
def error_response(status: int, code: str) -> tuple[AWSResponse, dict[str, Any]]:
    """What botocore hands back for an AWS error answer (after its own retries, at the before-call level)."""
    http = AWSResponse("https://injected", status, HTTPHeaders(), None)
    return http, {"Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": status}}


class Injector:
    """Makes an operation fail while `failing`, counting the attempts.

    `before-call` answers the call with an AWS error; `before-send` raises a read timeout on every attempt
    (moto's own handler is then never reached, and the SDK's retries are visible).
    """

    def __init__(self, client: Any, event: str, error: tuple[int, str] | None = None) -> None:
        self.client, self.event, self.error = client, event, error
        self.failing = True
        self.attempts = 0
        client.meta.events.register_first(event, self)

    def __call__(self, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if not self.failing:
            return None
        self.attempts += 1
        if self.error is None:
            raise ReadTimeoutError(endpoint_url="https://injected")
        return error_response(*self.error)

    def __enter__(self) -> Injector:
        return self

    def __exit__(self, *_: object) -> None:
        self.client.meta.events.unregister(self.event, self)


def status_subscriber(
    stack: Stack, fanout: Callable[..., Any], name: str = "status-subscriber"
) -> Callable[[], list[Any]]:
    """A subscriber of status events: each call publishes what the table's stream holds (the fanout, as Lambda's
    event source would) and returns the status events received since, each checked against the schema."""
    queue = subscribe_queue(stack, name, {"eventType": [STATUS_EVENT_TYPE]})
    (source,) = stack.functions()["FanoutFunction"].events
    stream = StreamPoller(stack.session, source.arn, fanout, source.properties, function="FanoutFunction")

    def received() -> list[dict[str, Any]]:
        while stream.poll_once():
            pass
        events = [item["event"] for item in drain(stack, queue)]
        for event in events:
            jsonschema.validate(event, STATUS_SCHEMA)
        return events

    return received


def sent_message(
    stack: Stack,
    key: str = "",
    sid: str = "",
    account: str = TEST_ACCOUNT_SID,
    sender: str = "+15005550001",
    **fields: Any,
) -> str:
    """An outbound message as the sender stores it (with `key`, the command that sent it): what a callback names."""
    sid = sid or new_message_sid()
    client = stack.session.client("dynamodb")
    message = {
        "messageSid": sid,
        "direction": "outbound",
        "accountSid": account,
        "messagingServiceSid": "",
        "from": sender,
        "to": "+15005550006",
        "body": "Your order shipped.",
        "media": [],
        "numMedia": 0,
        "numSegments": 1,
        "channel": "sms",
        "conversation": f"{sender}|+15005550006",
        "receivedAt": iso_millis(utc_now()),
        "idempotencyKey": key,
        "inReplyTo": "",
        "lastChange": "message",
        **fields,
    }
    client.put_item(TableName=stack.physical["MessagesTable"]["Ref"], Item=to_item(message))
    if key:
        command = {
            "idempotencyKey": key,
            "state": "sent",
            "messageSid": sid,
            "accountSid": account,
            "to": "+15005550006",
        }
        client.put_item(TableName=stack.physical["SendsTable"]["Ref"], Item=to_item(command))
    return sid


def sent_for(stack: Stack, callback_event: dict[str, Any]) -> str:
    """The message and the command a signed status callback event names, stored as the sender stores them."""
    form = dict(parse_qsl(base64.b64decode(callback_event["body"]).decode()))
    key = parse_qs(callback_event["rawQueryString"])["idempotencyKey"][0]
    return sent_message(stack, key=key, sid=form["MessageSid"])


def replayer(stack: Stack, reply_window_minutes: int = 1440) -> Replayer:
    """As `twilio-inbound replay` wires it, with the template's default ReplyWindowMinutes."""
    client = stack.session.client("dynamodb")
    messages = MessageStore(client, stack.physical["MessagesTable"]["Ref"], stack.physical["OptOutsTable"]["Ref"])
    return Replayer(
        messages,
        TopicPublisher(stack.session.client("sns"), stack.physical["MessagesTopic"]["Ref"]),
        OptOutStore(client, stack.physical["OptOutsTable"]["Ref"]),
        LastSent(messages, reply_window_minutes),
    )


@contextmanager
def captured_logs(logger: Logger) -> Iterator[io.StringIO]:
    """What a function's Powertools logger writes (its JSON lines) while the block runs."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    try:
        yield stream
    finally:
        logging.getLogger(logger.name).removeHandler(handler)


@contextmanager
def function_with(stack: Stack, logical_id: str, overrides: dict[str, str]) -> Iterator[Invoke]:
    """The function in a new container with these settings; afterwards a new container with the tests' usual ones,
    so that no later test (of any module) gets this one's: handlers read their settings once, when imported."""
    spec = stack.functions()[logical_id]
    try:
        yield load_function(spec, overrides, fresh=True)
    finally:
        load_function(spec, OFFLINE_ENV, fresh=True)


@contextmanager
def serving(routes: dict[str, Invoke]) -> Iterator[str]:
    """Routes (path -> function) on loopback, served as API Gateway serves them; yields the base URL."""
    server = GatewayServer(("127.0.0.1", 0), routes)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
