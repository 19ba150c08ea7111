"""Integration fixtures: `make local`'s stack started on free ports, talked to over real HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest

from devtools.subscriber import subscribe_queue
from devtools.template import ROOT

STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalStack:
    def __init__(self, process: subprocess.Popen[str], outputs_file: Path, log: Path) -> None:
        outputs: dict[str, str] = json.loads(outputs_file.read_text())
        self.process = process
        self.outputs_file = outputs_file  # what the CLI reads (TWILIO_INBOUND_OUTPUTS)
        self.outputs = outputs
        self.log = log
        self.url = outputs["WebhookUrl"]
        self.session = boto3.session.Session(region_name=outputs["Region"])

    def client(self, service: Any) -> Any:
        return self.session.client(service, endpoint_url=self.outputs["EmulatorEndpoint"])

    def subscribe(self, queue_name: str) -> str:
        """A test subscriber's own queue on the local topic, as a downstream service would set it up."""
        topic = self.outputs["MessagesTopicArn"]
        return subscribe_queue(self.client("sqs"), self.client("sns"), topic, queue_name)[0]


def start_stack(
    tmp: Path, port: int, emulator_port: int, env: dict[str, str] | None = None, extra_args: tuple[str, ...] = ()
) -> subprocess.Popen[str]:
    log = (tmp / f"local-{port}.log").open("w")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devtools.local_stack",
            "--port",
            str(port),
            "--emulator-port",
            str(emulator_port),
            "--twilio-port",
            str(free_port()),
            "--outputs",
            str(tmp / f"outputs-{port}.json"),
            *extra_args,
        ],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )


@contextmanager
def running_stack(tmp: Path, extra_args: tuple[str, ...] = ()) -> Iterator[LocalStack]:
    """`make local` on free ports until the block ends; then it must stop cleanly."""
    port, emulator_port = free_port(), free_port()
    process = start_stack(tmp, port, emulator_port, extra_args=extra_args)
    outputs_file = tmp / f"outputs-{port}.json"
    deadline = time.monotonic() + STARTUP_SECONDS
    while not outputs_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("local stack did not start:\n" + (tmp / f"local-{port}.log").read_text())
        time.sleep(0.1)
    stack = LocalStack(process, outputs_file, tmp / f"local-{port}.log")
    yield stack
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, stack.log.read_text()
    assert not outputs_file.exists(), "a stopped stack removes its outputs file"


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with running_stack(tmp_path_factory.mktemp("local-stack")) as stack:
        yield stack
