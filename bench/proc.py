"""Starting the measuring processes: each is a fresh interpreter with its function's environment."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from bench.report import RESULTS_DIR
from bench.sandbox import BYTECODE_ENV

# Bytecode lives here, not in the source tree: every measured process sees the same cache, whatever this
# shell's PYTHONDONTWRITEBYTECODE says, and the repo's __pycache__ folders play no part.
PYCACHE = RESULTS_DIR / "pycache"
TIMEOUT_SECONDS = 600


class BenchError(RuntimeError):
    """A measuring process failed, or the function did not take the path the figure is meant to measure."""


def child_env(environment: dict[str, str], runtime_bytecode_only: bool = False) -> dict[str, str]:
    env = {name: value for name, value in environment.items() if name not in ("PYTHONDONTWRITEBYTECODE", BYTECODE_ENV)}
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    if runtime_bytecode_only:
        env[BYTECODE_ENV] = "runtime"
    return env


def python(args: list[str], env: dict[str, str]) -> str:
    """Runs the venv's interpreter; returns its stdout."""
    done = subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, check=False, timeout=TIMEOUT_SECONDS
    )
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise BenchError(f"python {' '.join(args[:3])} ... exited {done.returncode}:\n{tail}")
    return done.stdout


def probe(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Runs `python -m bench.probe ARGS` and returns the JSON it prints."""
    result: dict[str, Any] = json.loads(python(["-m", "bench.probe", *args], env))
    return result
