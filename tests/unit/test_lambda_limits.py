"""The local runtime holds functions to Lambda's limits: the function's Timeout, 6 MB synchronous request and
response, 256 KB asynchronous event; API Gateway answers as it does when an invocation fails."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from devtools.apigw import GatewayServer
from devtools.lambda_runtime import InvocationFailed, Invoke, load_function
from devtools.pollers import within_payload_limit
from devtools.ports import LOOPBACK
from devtools.template import FunctionSpec

PROBE = """
import time

import boto3


def handler(event, context):
    time.sleep(event.get("sleep", 0))
    if "queue" in event:  # an AWS call after the sleep
        boto3.client("sqs", region_name="us-east-1").send_message(QueueUrl=event["queue"], MessageBody="late")
    return {"statusCode": 200, "body": "x" * event.get("answer_bytes", 0)}
"""


@pytest.fixture(scope="module")
def probe_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("probe")
    (folder / "limits_probe.py").write_text(PROBE, encoding="utf-8")
    return folder


@pytest.fixture
def probe(probe_folder: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """A function with a half-second Timeout."""
    monkeypatch.syspath_prepend(str(probe_folder))
    spec = FunctionSpec("ProbeFunction", "limits_probe.handler", probe_folder, {}, timeout=0.5)
    return load_function(spec)


def test_an_invocation_past_its_timeout_fails_as_a_timeout(probe: Invoke) -> None:
    began = time.monotonic()
    with pytest.raises(InvocationFailed, match=r"Task timed out after 0.50 seconds") as failed:
        probe({"sleep": 3})
    assert failed.value.error_type == "Sandbox.Timedout"
    assert time.monotonic() - began < 2


def test_a_timed_out_handler_reaches_aws_no_more(probe: Invoke, aws: boto3.session.Session) -> None:
    sqs = aws.client("sqs")
    queue = sqs.create_queue(QueueName="late")["QueueUrl"]
    with pytest.raises(InvocationFailed):
        probe({"sleep": 1, "queue": queue})
    time.sleep(1.5)  # the handler wakes up and tries its call
    assert sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"] == {
        "ApproximateNumberOfMessages": "0"
    }


@pytest.mark.parametrize(
    ("event", "asynchronous", "error_type"),
    [
        ({"padding": "x" * (6 * 1024 * 1024)}, False, "RequestEntityTooLargeException"),
        ({"padding": "x" * (256 * 1024)}, True, "RequestEntityTooLargeException"),
        ({"answer_bytes": 6 * 1024 * 1024 + 100}, False, "RequestEntityTooLarge"),
    ],
    ids=["request-over-6MB", "async-event-over-256KB", "response-over-6MB"],
)
def test_payloads_over_lambdas_quotas_fail(
    probe: Invoke, event: dict[str, Any], asynchronous: bool, error_type: str
) -> None:
    with pytest.raises(InvocationFailed) as failed:
        probe(event, asynchronous=asynchronous)  # type: ignore[call-arg]
    assert failed.value.error_type == error_type


def test_payloads_within_the_quotas_pass(probe: Invoke) -> None:
    assert probe({"padding": "x" * (200 * 1024)}, asynchronous=True)["statusCode"] == 200  # type: ignore[call-arg]
    assert probe({"padding": "x" * (5 * 1024 * 1024)})["statusCode"] == 200


@pytest.fixture
def gateway(probe: Invoke) -> Iterator[str]:
    server = GatewayServer((LOOPBACK, 0), {"/sms": probe})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://{LOOPBACK}:{server.server_address[1]}/sms"
    server.close(timeout=5)


@pytest.mark.allow_hosts([LOOPBACK])
@pytest.mark.parametrize(
    ("body_bytes", "status"), [(5 * 1024 * 1024, 413), (1024, 200)], ids=["event-over-6MB", "small"]
)
def test_the_gateway_answers_413_to_an_event_lambda_refuses(gateway: str, body_bytes: int, status: int) -> None:
    # A 5 MB form is a 6.7 MB event: HTTP APIs take 10 MB, Lambda 6 MB.
    request = urllib.request.Request(gateway, data=b"a" * body_bytes, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            code = answer.status
    except urllib.error.HTTPError as error:
        code = error.code
    assert code == status


def test_a_stream_batch_is_cut_to_fit_lambdas_6mb() -> None:
    records = [{"dynamodb": {"SequenceNumber": str(n), "NewImage": {"b": {"S": "x" * 1_000_000}}}} for n in range(10)]
    batch = within_payload_limit(records)
    assert len(batch) == 6
    assert within_payload_limit(records[:1]) == records[:1]
