"""Unit fixtures: the template's resources in moto's in-process mock, and the functions loaded against them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import pytest_socket
from moto import mock_aws

from devtools.apigw import http_api_event, rest_api_event
from devtools.lambda_runtime import Invoke, load_function
from devtools.moto_atomic import serialize_dynamodb_writes
from devtools.template import ROOT, Stack
from twilio_inbound_cli.signing import TEST_AUTH_TOKEN, FormPairs, encode_form, signature

EVENTS = ROOT / "events"
WEBHOOK_URL = "https://abc123defg.execute-api.us-east-1.amazonaws.com/sms"
FORM_TYPE = "application/x-www-form-urlencoded; charset=UTF-8"
# Offline: the token from the environment, and no registry cache so each test sees its own registrations.
OFFLINE_ENV = {"TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN, "TWILIO_AUTH_TOKEN_SECRET_ARN": "", "REGISTRY_CACHE_SECONDS": "0"}


# Writes from several threads (the stand-in's callbacks through the /status route, the test's own) are atomic,
# as in DynamoDB.
serialize_dynamodb_writes()


def pytest_runtest_setup(item: pytest.Item) -> None:
    # Unit tests never touch the network: moto runs in-process. Tests marked allow_hosts(["127.0.0.1"]) (the
    # Twilio API stand-in in this process) reach only loopback: pytest-socket applies the marker itself.
    if item.get_closest_marker("allow_hosts") is None:
        pytest_socket.disable_socket(allow_unix_socket=True)


def pytest_runtest_teardown() -> None:
    pytest_socket.enable_socket()


@pytest.fixture
def aws() -> Iterator[boto3.session.Session]:
    with mock_aws():
        yield boto3.session.Session(region_name="us-east-1")


@pytest.fixture
def stack(aws: boto3.session.Session) -> Stack:
    """template.yaml's tables, topic, queues and subscription, created in moto."""
    return Stack(aws, stack_name="twilio-inbound-test").provision()


@pytest.fixture
def ingest(stack: Stack) -> Invoke:
    return load_function(stack.functions()["IngestFunction"], OFFLINE_ENV)


@pytest.fixture
def fanout(stack: Stack) -> Invoke:
    return load_function(stack.functions()["FanoutFunction"])


@pytest.fixture
def consumer(stack: Stack) -> Invoke:
    return load_function(stack.functions()["ConsumerFunction"])


def load_event(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return document


def signed_event(
    pairs: FormPairs,
    *,
    url: str = WEBHOOK_URL,
    token: str = TEST_AUTH_TOKEN,
    signed_url: str | None = None,
    version: str = "2.0",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway event for a form signed over `signed_url` (default: the URL called)."""
    all_headers = {
        "Content-Type": FORM_TYPE,
        "X-Twilio-Signature": signature(signed_url or url, pairs, token),
        **(headers or {}),
    }
    build = http_api_event if version == "2.0" else rest_api_event
    return build("POST", url, all_headers, encode_form(pairs))


@pytest.fixture
def table_items(stack: Stack) -> Callable[[], list[dict[str, Any]]]:
    from twilio_inbound.dynamo import from_item

    client = stack.session.client("dynamodb")
    table = stack.physical["MessagesTable"]["Ref"]

    def scan() -> list[dict[str, Any]]:
        return [from_item(item) for item in client.scan(TableName=table)["Items"]]

    return scan


def event_files(prefix: str) -> list[Path]:
    return sorted(EVENTS.glob(f"{prefix}*.json"))


@pytest.fixture
def ingest_logs(ingest: Invoke) -> Iterator[io.StringIO]:
    """What the ingest function logs (Powertools' JSON lines), from here on."""
    from ingest import handler as ingest_handler

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(ingest_handler.logger.registered_formatter)
    ingest_handler.logger.addHandler(handler)
    yield stream
    logging.getLogger(ingest_handler.logger.name).removeHandler(handler)
