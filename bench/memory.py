"""Peak memory: a fresh process runs 1,000 messages through the function; its floor, a fresh process making
the same bare SDK calls for 1,000 messages. Lambda's MemorySize must hold the peak with headroom."""

from __future__ import annotations

import itertools
import json
import resource
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import invoke
from bench.proc import BenchError, child_env, probe
from bench.report import Row
from bench.subjects import Subject

if TYPE_CHECKING:  # the measuring process must not import the dev tooling behind it
    from bench.stackenv import Deployed

MESSAGES = 1000
MAX_PEAK_MB = 100
FLOOR_NOTE = "floor: import boto3, the same clients, the same bare calls"


def peak_rss_mb() -> float:
    """This process's peak resident set, in MiB (Lambda's MB).

    Linux's VmHWM, not getrusage's ru_maxrss: the latter keeps the parent's peak across fork and exec, so a
    small child of a large parent would report the parent's size.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except FileNotFoundError:  # not Linux: ru_maxrss is bytes on macOS
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


# ---------------------------------------------------------------- inside the measuring process
def peak(subject: Subject, handler: str, events_path: Path, count: int) -> dict[str, Any]:
    function = invoke.load_handler(handler)
    context = invoke.lambda_context(subject.logical_id)
    ran = 0
    for event in itertools.islice(invoke.read_jsonl(events_path), count):  # one event in memory at a time
        result = function(event, context)
        if not subject.accepted(result):
            raise BenchError(f"{subject.name} failed a message: {str(result)[:300]}")
        ran += 1
    return {"peak_rss_mb": peak_rss_mb(), "events": ran}


def floor_peak(calls_path: Path, count: int) -> dict[str, Any]:
    from bench.warm import bind_calls

    recorded = json.loads(calls_path.read_text(encoding="utf-8"), object_hook=invoke.bytes_from_json)
    floor = bind_calls([(service, operation, params) for service, operation, params in recorded])
    for _ in range(count):
        for method, params in floor:
            method(**params)
    return {"peak_rss_mb": peak_rss_mb(), "events": count}


# ---------------------------------------------------------------- in the parent
def run(subject: Subject, deployed: Deployed, events: Path, floor_calls: Path) -> Row:
    env = child_env(deployed.environment)
    count = -(-MESSAGES // subject.records_per_event)
    base = ["--subject", subject.name, "--handler", deployed.handler, "--count", str(count)]
    figure = probe(["memory", *base, "--events", str(events)], env)
    floor = probe(["memory-floor", "--calls", str(floor_calls), "--count", str(count)], env)
    if figure["events"] * subject.records_per_event < MESSAGES:
        raise BenchError(f"only {figure['events']} events were available for the memory run of {subject.name}")
    return Row(
        f"peak RSS after {MESSAGES:,} messages: {subject.name}",
        figure["peak_rss_mb"],
        "MB",
        floor=floor["peak_rss_mb"],
        max_figure=MAX_PEAK_MB,
        note="floor: import boto3, the same clients, the same bare calls"
        if subject.floor_operation
        else "floor: import boto3",
    )
