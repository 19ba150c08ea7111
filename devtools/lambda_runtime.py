"""Runs a template function's handler in this process, as Lambda would: its environment, a context."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devtools.lambda_context import LocalContext
from devtools.template import FunctionSpec

Invoke = Callable[[dict[str, Any]], Any]
# The environment each handler module's wiring read when it was last executed.
_WIRED_WITH: dict[str, dict[str, str]] = {}


def load_function(spec: FunctionSpec, overrides: dict[str, str] | None = None, *, fresh: bool = False) -> Invoke:
    """Imports the handler with the function's environment applied; returns invoke(event) -> result.

    The function's folder must be importable (make and pytest put every CodeUri on the path, as Lambda
    puts the function's folder and the layer on it). A handler already imported with another environment (another
    stack, other parameters) is executed again, as Lambda starts new containers after a deploy; `fresh`: a new
    container even with the same environment.
    """
    environment = {**spec.environment, **(overrides or {})}
    os.environ.update(environment)
    module_name, function_name = spec.handler.rsplit(".", 1)
    imported_before = module_name in sys.modules
    module = importlib.import_module(module_name)
    if imported_before and (fresh or _WIRED_WITH.get(module_name) != environment):
        module = importlib.reload(module)
    _WIRED_WITH[module_name] = environment
    module_file = Path(module.__file__ or "").resolve()
    if not module_file.is_relative_to(spec.code_dir.resolve()):
        raise ImportError(f"{module_name} was imported from {module_file}, not from {spec.code_dir}")
    handler = getattr(module, function_name)

    def invoke(event: dict[str, Any]) -> Any:
        return handler(event, LocalContext(spec.logical_id, timeout_seconds=spec.timeout))

    return invoke
