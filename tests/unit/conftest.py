"""Unit fixtures: the template's resources in moto's in-process mock, and the functions loaded against them."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
import pytest_socket
from moto import mock_aws

from devtools.lambda_runtime import Invoke, load_function
from devtools.moto_atomic import serialize_dynamodb_writes
from devtools.moto_eventbridge import deliver_to_sqs_as_eventbridge
from devtools.template import Stack
from tests.unit.helpers import OFFLINE_ENV, captured_logs, serving
from twilio_inbound_cli.signing import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN

# Writes from several threads (the stand-in's callbacks through the /status route, the test's own) are atomic,
# as in DynamoDB.
serialize_dynamodb_writes()
deliver_to_sqs_as_eventbridge()  # SQS targets get what EventBridge sends them (InputPath, the whole event)


def pytest_runtest_setup(item: pytest.Item) -> None:
    # Unit tests never touch the network: moto runs in-process. Tests marked allow_hosts (the Twilio API
    # stand-in on 127.0.0.1) are left to pytest-socket, which lets them reach those hosts only.
    if item.get_closest_marker("allow_hosts") is None:
        pytest_socket.disable_socket(allow_unix_socket=True)


def pytest_runtest_teardown() -> None:
    pytest_socket.enable_socket()


# One loader for every test's session: it caches the service models, which each new session would read again.
SERVICE_MODELS = botocore.loaders.create_loader()


@pytest.fixture
def aws() -> Iterator[boto3.session.Session]:
    with mock_aws():
        core = botocore.session.Session()
        core.register_component("data_loader", SERVICE_MODELS)
        yield boto3.session.Session(botocore_session=core, region_name="us-east-1")


@pytest.fixture
def stack(aws: boto3.session.Session) -> Stack:
    """template.yaml's resources, created in moto, with the Twilio secret a deployment names (one account, the
    documented test token; tests change it with put_twilio_secret): each function's role names that secret."""
    secret = json.dumps({"primary": TEST_AUTH_TOKEN, "accountSid": TEST_ACCOUNT_SID})
    arn = aws.client("secretsmanager").create_secret(Name="twilio-inbound-test/twilio", SecretString=secret)["ARN"]
    return Stack(aws, stack_name="twilio-inbound-test", parameters={"TwilioAuthTokenSecretArn": arn}).provision()


@pytest.fixture
def ingest(stack: Stack) -> Invoke:
    return load_function(stack.functions()["IngestFunction"], OFFLINE_ENV)


@pytest.fixture
def fanout(stack: Stack) -> Invoke:
    return load_function(stack.functions()["FanoutFunction"])


@pytest.fixture
def consumer(stack: Stack) -> Invoke:
    return load_function(stack.functions()["ConsumerFunction"])


@pytest.fixture
def reconcile(stack: Stack) -> Invoke:
    """The reconcile function in a new container, the stack's Twilio secret (one account) in moto. It calls
    Twilio only for registered numbers."""
    return load_function(stack.functions()["ReconcileFunction"], fresh=True)


@pytest.fixture
def gateway(stack: Stack) -> Iterator[str]:
    """The HTTP API's /status route on loopback, serving the status function as API Gateway does."""
    with serving({"/status": load_function(stack.functions()["StatusFunction"], OFFLINE_ENV)}) as url:
        yield url


@pytest.fixture
def table_items(stack: Stack) -> Callable[[], list[dict[str, Any]]]:
    from twilio_inbound.message_item import item_values

    client = stack.session.client("dynamodb")
    table = stack.physical["MessagesTable"]["Ref"]

    def scan() -> list[dict[str, Any]]:
        return [item_values(item) for item in client.scan(TableName=table)["Items"]]

    return scan


@pytest.fixture
def ingest_logs(ingest: Invoke) -> Iterator[io.StringIO]:
    """What the ingest function logs (Powertools' JSON lines), from here on."""
    from ingest import handler as ingest_handler

    with captured_logs(ingest_handler.logger) as stream:
        yield stream
