"""`make local` started as a process of its own on free loopback ports, for the load run and the integration
tests: start it, wait for its outputs file, stop it as Ctrl-C would."""

from __future__ import annotations

import json
import os
import signal
import subprocess  # starts this repo's own local stack  # nosec B404
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from devtools.iam.record import RECORD_FOLDER_VARIABLE, Recorded
from devtools.ports import LOOPBACK, free_port
from devtools.template import ROOT

STARTUP_SECONDS = 60
STOP_SECONDS = 30


class StackDidNotStart(RuntimeError):
    """The process exited, or wrote no outputs file in time; the message holds its log."""


class LocalStackProcess:
    """`python -m devtools.local_stack` on loopback, its output in `log_file`, its outputs in `outputs_file`
    (both in `folder`, named after the webhook port). Ports not given are chosen free."""

    def __init__(
        self,
        folder: Path,
        *,
        port: int | None = None,
        emulator_port: int | None = None,
        env: Mapping[str, str] | None = None,
        extra_args: Sequence[str] = (),  # more local_stack options (--parameter Name=Value)
        record_calls: bool = False,  # write every AWS call and the roles, for the test suite to check
        console: bool = False,  # the console in the browser (ConsoleUrl in the outputs), on a free port
        demo_reply: bool = False,  # make local's demo: +15005550001 registered with an auto-reply (else unregistered)
    ) -> None:
        self.port = port or free_port()
        self.emulator_port = emulator_port or free_port()
        self.outputs_file = folder / f"outputs-{self.port}.json"
        self.log_file = folder / f"local-{self.port}.log"
        arguments = ["--host", LOOPBACK, "--port", str(self.port), "--emulator-port", str(self.emulator_port)]
        self.record_folder = folder / f"iam-{self.port}"
        self.record_folder.mkdir(exist_ok=True)
        self.iam_source = self if record_calls else None  # what tests/iam_check.py reads after each test
        self._calls_read = 0
        recording = {RECORD_FOLDER_VARIABLE: str(self.record_folder)} if record_calls else {}
        arguments += ["--console-port", str(free_port() if console else 0)]
        arguments += [] if demo_reply else ["--no-demo-reply"]
        with self.log_file.open("w", encoding="utf-8") as log:  # the child keeps its own handle
            self.process = subprocess.Popen(  # this interpreter, a fixed module, ports we chose  # nosec B603
                [
                    sys.executable,
                    "-m",
                    "devtools.local_stack",
                    *arguments,
                    "--outputs",
                    str(self.outputs_file),
                    *extra_args,
                ],
                cwd=ROOT,
                # Its own Twilio API stand-in: a TWILIO_API_URL a test left in this process's environment (a
                # function loaded with its overrides) would replace it.
                env={**{k: v for k, v in os.environ.items() if k != "TWILIO_API_URL"}, **recording, **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def roles(self) -> tuple[dict[str, Any], dict[str, dict[str, list[int]]], dict[str, str]]:
        """Each function's role as the stack runs it (function -> policy documents, and the template's index of
        each statement), and the stack's physical names."""
        document = json.loads((self.record_folder / "roles.json").read_text(encoding="utf-8"))
        return document["roles"], document["origins"], document["names"]

    def new_calls(self) -> list[Recorded]:
        """The AWS calls the stack made since the last time this was asked."""
        path = self.record_folder / "calls.jsonl"
        if not path.exists():
            return []
        with path.open("rb") as file:
            file.seek(self._calls_read)
            data = file.read()
        complete = data[: data.rfind(b"\n") + 1]  # a line being written is read next time
        self._calls_read += len(complete)
        return [Recorded.from_json(line) for line in complete.decode("utf-8").splitlines()]

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8")

    def wait_for_outputs(self, timeout: float = STARTUP_SECONDS) -> dict[str, str]:
        """The stack's outputs once it has written them (it does so when every part is up)."""
        deadline = time.monotonic() + timeout
        while not self.outputs_file.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                raise StackDidNotStart("the local stack did not start:\n" + self.log())
            time.sleep(0.1)
        outputs: dict[str, str] = json.loads(self.outputs_file.read_text(encoding="utf-8"))
        return outputs

    def stop(self, timeout: float = STOP_SECONDS) -> int:
        """SIGTERM (the stack shuts down and removes its outputs file), killed if it hangs; the exit code."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()
