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
    def __init__(self, process: subprocess.Popen[str], outputs: dict[str, str], log: Path) -> None:
        self.process = process
        self.outputs = outputs
        self.log = log
        self.url = outputs["WebhookUrl"]
        self.session = boto3.session.Session(region_name=outputs["Region"])

    def client(self, service: Any) -> Any:
        return self.session.client(service, endpoint_url=self.outputs["EmulatorEndpoint"])

    def subscribe(self, queue_name: str, filter_policy: dict[str, Any] | None = None) -> str:
        """A test subscriber's own queue on the local topic, as a downstream service would set it up."""
        topic = self.outputs["MessagesTopicArn"]
        return subscribe_queue(self.client("sqs"), self.client("sns"), topic, queue_name, filter_policy)[0]


def start_stack(tmp: Path, port: int, emulator_port: int, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
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
            "--outputs",
            str(tmp / f"outputs-{port}.json"),
        ],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    tmp = tmp_path_factory.mktemp("local-stack")
    port, emulator_port = free_port(), free_port()
    process = start_stack(tmp, port, emulator_port)
    outputs_file = tmp / f"outputs-{port}.json"
    deadline = time.monotonic() + STARTUP_SECONDS
    while not outputs_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("local stack did not start:\n" + (tmp / f"local-{port}.log").read_text())
        time.sleep(0.1)
    stack = LocalStack(process, json.loads(outputs_file.read_text()), tmp / f"local-{port}.log")
    yield stack
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, stack.log.read_text()
    assert not outputs_file.exists(), "a stopped stack removes its outputs file"
