"""Which function an AWS call is made for, as Lambda knows it by the credentials it gives each function.

In order: the function the local runtime is invoking, or whose event source is polling for it (both say so
with `acting_as`); else the function whose code is on the call stack (a test that drives a function's use case
directly, a thread the function started); else nobody: a person (the operator CLI) or the test itself.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from types import FrameType
from typing import Any

from devtools.template import ROOT

_acting: ContextVar[str | None] = ContextVar("acting_function", default=None)
_CLI = str(ROOT / "cli" / "twilio_inbound_cli") + "/"


@contextmanager
def acting_as(function: str) -> Iterator[None]:
    """Calls made inside are `function`'s (its invocation, or its event source mapping's polling)."""
    token = _acting.set(function)
    try:
        yield
    finally:
        _acting.reset(token)


class Attribution:
    """Names the caller of an AWS call, given each function's code folder (the template's CodeUri)."""

    def __init__(self, folders: Mapping[Path, str]) -> None:
        self._folders = tuple((str(folder.resolve()) + "/", function) for folder, function in folders.items())
        self._owners: dict[str, str | None] = {}  # source file -> its function (a cache: every call looks)

    def function(self) -> str | None:
        acting = _acting.get()
        if acting is not None:
            return acting
        for frame in _frames():
            filename = frame.f_code.co_filename
            owner = self._owners.get(filename, "?")
            if owner == "?":
                owner = self._owners[filename] = next(
                    (function for folder, function in self._folders if filename.startswith(folder)), None
                )
            if owner is not None:
                return owner
        return None

    @staticmethod
    def operator_command() -> str | None:
        """The `twilio-inbound` command making the call (its module, cli/twilio_inbound_cli/<name>_command.py)."""
        for frame in _frames():
            filename = frame.f_code.co_filename
            if filename.startswith(_CLI) and filename.endswith("_command.py"):
                return Path(filename).name.removesuffix("_command.py").replace("_", "-")
        return None


def _frames() -> Iterator[FrameType]:
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        yield frame
        frame = frame.f_back


def function_folders(template: Mapping[str, Any]) -> dict[Path, str]:
    """Each function's code folder (its CodeUri) -> its logical id."""
    return {
        ROOT / resource["Properties"]["CodeUri"]: logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
