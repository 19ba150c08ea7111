"""Every AWS call made in this process, with who made it and what AWS authorizes for it (botocore's event hooks).

`install` hooks every botocore session created from then on (and boto3's default one): each call's parameters
are seen once, before they are serialized, including presigned URLs (whose holder acts with the signer's
authority). The record goes to a callback: the test suite checks it against the roles, the local stack writes it
to a file for the integration tests to check.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import botocore.handlers

from devtools.iam.acting import Attribution
from devtools.iam.requests import Call, Request, UnknownRequest, requests
from devtools.lambda_context import ACCOUNT_ID

# The folder where a local stack writes its roles and every call (set by the integration tests' stacks).
RECORD_FOLDER_VARIABLE = "TWILIO_INBOUND_IAM_RECORD"


@dataclass
class Recorded:
    caller: str  # a function's logical id, "operator:<command>", or "" (the test itself, the local stack)
    call: str  # service.Operation
    requests: list[Request] = field(default_factory=list)
    error: str = ""  # the call could not be mapped to IAM requests (requests.py needs a rule)

    @property
    def function(self) -> str | None:
        return self.caller if self.caller and not self.caller.startswith("operator:") else None

    @staticmethod
    def from_json(line: str) -> Recorded:
        document = json.loads(line)
        requests = [
            Request(action, resource, tuple(map(tuple, context))) for action, resource, context in document["requests"]
        ]
        return Recorded(document["caller"], document["call"], requests, document["error"])


def install(attribution: Attribution, sink: Callable[[Recorded], None]) -> None:
    """Records every call of every botocore session created from now on into `sink`."""

    def record(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        caller = attribution.function()
        if caller is None:
            command = attribution.operator_command()
            caller = f"operator:{command}" if command else ""
        service = model.service_model.service_name
        call = Call(service, model.name, params, context.get("client_region") or "us-east-1", ACCOUNT_ID)
        recorded = Recorded(caller, f"{service}.{model.name}")
        try:
            recorded.requests = requests(call)
        except (UnknownRequest, KeyError, ValueError) as error:
            recorded.error = f"{recorded.call}: {error!r}"
        context["iam_recorded"] = recorded  # for later hooks of the same call (the local stack's denial line)
        sink(recorded)

    botocore.handlers.BUILTIN_HANDLERS.append(("before-parameter-build", record))
    import boto3

    if boto3.DEFAULT_SESSION is not None:  # created before: give it the hook too
        boto3.DEFAULT_SESSION._session.register("before-parameter-build", record)  # type: ignore[arg-type]


class FileSink:
    """One JSON line per call, appended (the local stack's record, read by the integration tests)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()

    def __call__(self, recorded: Recorded) -> None:
        line = json.dumps(asdict(recorded)) + "\n"
        with self._lock, self._path.open("a", encoding="utf-8") as file:
            file.write(line)
