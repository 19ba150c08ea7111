"""Runs a template function's handler in this process, as Lambda would: its environment, a context, its role
(every AWS call it makes is its own: devtools/iam/acting.py), and Lambda's limits.

Limits enforced: the function's Timeout (the invocation fails as "Task timed out", and from its deadline on the
handler's AWS calls fail, as a stopped sandbox's would), and the payload quotas: 6 MB request and response for
synchronous invocations (the HTTP API, the queue and stream event sources), 256 KB for an asynchronous event.
"""

from __future__ import annotations

import contextvars
import importlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import botocore.handlers
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

from devtools.iam.acting import acting_as
from devtools.lambda_context import LocalContext
from devtools.template import FunctionSpec

Invoke = Callable[[dict[str, Any]], Any]
# The environment each handler module's wiring read when it was last executed.
_WIRED_WITH: dict[str, dict[str, str]] = {}

# Lambda's quotas (bytes): a synchronous invocation's request and response, an asynchronous invocation's event.
SYNC_REQUEST_BYTES = 6 * 1024 * 1024
SYNC_RESPONSE_BYTES = 6 * 1024 * 1024 + 100
ASYNC_EVENT_BYTES = 256 * 1024


class InvocationFailed(RuntimeError):
    """What Lambda reports instead of a result: `error_type` as Lambda names it."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type


_deadline: contextvars.ContextVar[float] = contextvars.ContextVar("invocation_deadline", default=float("inf"))


def _stopped_sandbox(**_: Any) -> None:
    """A timed-out invocation's handler keeps running here (a thread cannot be killed); its AWS calls fail."""
    if time.monotonic() > _deadline.get():
        raise InvocationFailed("Sandbox.Timedout", "the invocation timed out; this call never reached AWS")


botocore.handlers.BUILTIN_HANDLERS.append(("before-call", _stopped_sandbox))


def _cold_start_metric_unless_disabled() -> None:
    """Powertools (3.37) prints the ColdStart metric through `single_metric`, which ignores
    POWERTOOLS_METRICS_DISABLED while every other metric honours it: the local stack, which disables metrics unless
    --verbose, would print one EMF line per function's first call. Reported upstream (docs/PERFORMANCE.md)."""
    original = AmazonCloudWatchEMFProvider.add_cold_start_metric

    def add_cold_start_metric(self: AmazonCloudWatchEMFProvider, context: Any) -> None:
        if not is_metrics_disabled():
            original(self, context)

    AmazonCloudWatchEMFProvider.add_cold_start_metric = add_cold_start_metric  # type: ignore[method-assign]


_cold_start_metric_unless_disabled()


def load_function(spec: FunctionSpec, overrides: dict[str, str] | None = None, *, fresh: bool = False) -> Invoke:
    """Imports the handler with the function's environment applied; returns invoke(event) -> result
    (a synchronous invocation; `invoke(event, asynchronous=True)` for an event Lambda queues).

    The function's folder must be importable (make and pytest put every CodeUri on the path, as Lambda
    puts the function's folder and the layer on it). A handler already imported with another environment (another
    stack, other parameters) is executed again, as Lambda starts new containers after a deploy; `fresh`: a new
    container even with the same environment.
    """
    environment = {**spec.environment, **(overrides or {})}
    os.environ.update(environment)
    module_name, function_name = spec.handler.rsplit(".", 1)
    imported_before = module_name in sys.modules
    with acting_as(spec.logical_id):  # the container's init phase runs with the role too
        module = importlib.import_module(module_name)
        if imported_before and (fresh or _WIRED_WITH.get(module_name) != environment):
            module = importlib.reload(module)
    _WIRED_WITH[module_name] = environment
    module_file = Path(module.__file__ or "").resolve()
    if not module_file.is_relative_to(spec.code_dir.resolve()):
        raise ImportError(f"{module_name} was imported from {module_file}, not from {spec.code_dir}")
    handler = getattr(module, function_name)

    def invoke(event: dict[str, Any], *, asynchronous: bool = False) -> Any:
        _within(event, ASYNC_EVENT_BYTES if asynchronous else SYNC_REQUEST_BYTES, "RequestEntityTooLargeException")
        context = LocalContext(spec.logical_id, timeout_seconds=spec.timeout)
        outcome: dict[str, Any] = {}

        def run() -> None:
            _deadline.set(time.monotonic() + spec.timeout)
            with acting_as(spec.logical_id):
                try:
                    outcome["result"] = handler(event, context)
                except BaseException as error:  # the invocation's error, re-raised to its caller below
                    outcome["error"] = error

        thread = threading.Thread(target=run, name=f"{spec.logical_id}-invocation", daemon=True)
        thread.start()
        thread.join(spec.timeout)
        if thread.is_alive():
            raise InvocationFailed("Sandbox.Timedout", f"Task timed out after {spec.timeout:.2f} seconds")
        if "error" in outcome:
            raise outcome["error"]
        _within(outcome.get("result"), SYNC_RESPONSE_BYTES, "RequestEntityTooLarge")
        return outcome.get("result")

    return invoke


def _within(payload: Any, limit: int, error_type: str) -> None:
    size = len(json.dumps(payload, separators=(",", ":"), default=str).encode())
    if size > limit:
        raise InvocationFailed(error_type, f"payload of {size} bytes exceeds Lambda's {limit} bytes")
