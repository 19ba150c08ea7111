"""Running a handler as Lambda does, inside a measuring process. Stdlib only (devtools.lambda_context is too): a
measuring process imports its function and little else."""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from devtools.lambda_context import LocalContext

Handler = Callable[[dict[str, Any], Any], Any]
LAMBDA_MAX_TIMEOUT_SECONDS = 900
# Recorded SDK parameters hold binary (the messages table's document, an S3 body) and times (a Messages list's
# window): JSON carries them as {"$bytes": base64} and {"$datetime": ISO 8601}.
_BYTES = "$bytes"
_DATETIME = "$datetime"


def bytes_as_json(value: Any) -> Any:
    """json.dumps's `default`: bytes and datetimes as tagged objects."""
    if isinstance(value, bytes):
        import base64

        return {_BYTES: base64.b64encode(value).decode()}
    if isinstance(value, datetime):
        return {_DATETIME: value.isoformat()}
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def bytes_from_json(value: dict[str, Any]) -> Any:
    """json.loads's `object_hook`, the inverse of bytes_as_json."""
    if len(value) == 1 and _BYTES in value:
        import base64

        return base64.b64decode(value[_BYTES])
    if len(value) == 1 and _DATETIME in value:
        return datetime.fromisoformat(value[_DATETIME])
    return value


def lambda_context(function_name: str) -> LocalContext:
    """One context for all of a measuring process's invocations: its deadline must lie beyond the run."""
    return LocalContext(function_name, timeout_seconds=LAMBDA_MAX_TIMEOUT_SECONDS, log_stream_name="bench")


def quiet_stdout() -> TextIO:
    """Sends what the function prints (logs, metrics) to /dev/null, as cheap as Lambda's pipe; returns the
    real stdout for the result."""
    real = sys.stdout
    sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (lives as long as the process)
    return real


def load_handler(handler: str) -> Handler:
    module_name, _, function_name = handler.rpartition(".")
    function: Handler = getattr(importlib.import_module(module_name), function_name)
    return function


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as stream:
        for line in stream:
            event: dict[str, Any] = json.loads(line)
            yield event
