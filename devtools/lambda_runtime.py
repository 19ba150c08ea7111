"""Runs a template function's handler in this process, as Lambda would: its environment, a context."""

from __future__ import annotations

import importlib
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.template import ACCOUNT_ID, FunctionSpec

Invoke = Callable[[dict[str, Any]], Any]


@dataclass
class LocalContext:
    """The parts of Lambda's context object that handlers and Powertools read."""

    function_name: str
    region: str = "us-east-1"
    memory_limit_in_mb: int = 256
    timeout_seconds: float = 10.0
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.log_group_name = f"/aws/lambda/{self.function_name}"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_function(spec: FunctionSpec, overrides: dict[str, str] | None = None) -> Invoke:
    """Imports the handler with the function's environment applied; returns invoke(event) -> result.

    The function's folder must be importable (make and pytest put every CodeUri on the path, as Lambda
    puts the function's folder and the layer on it).
    """
    os.environ.update(spec.environment)
    os.environ.update(overrides or {})
    module_name, function_name = spec.handler.rsplit(".", 1)
    module = importlib.import_module(module_name)
    module_file = Path(module.__file__ or "").resolve()
    if not module_file.is_relative_to(spec.code_dir.resolve()):
        raise ImportError(f"{module_name} was imported from {module_file}, not from {spec.code_dir}")
    handler = getattr(module, function_name)

    def invoke(event: dict[str, Any]) -> Any:
        return handler(event, LocalContext(spec.logical_id, timeout_seconds=spec.timeout))

    return invoke
