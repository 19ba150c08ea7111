"""Cold init: a fresh interpreter importing the function module (which creates its clients), against a fresh
interpreter importing boto3 and creating the same clients (and, for the functions that call Twilio through its
SDK, importing the SDK's client). Runs alternate between the two; the ratio is the median of the ratios of runs
made side by side.

The clock is the process's CPU time around the import: Lambda's init is CPU-bound work on local files, and
CPU time is what another process on this noisy machine disturbs least. The cyclic garbage collector is
paused for the timed import in both processes: a full collection (25-35 ms once boto3 is loaded) runs
wherever the allocation counters cross a threshold, which depends on what ran before (on Lambda, the
runtime's own bootstrap). Counted, it lands in one process and not the other, a cliff that says nothing
about the import's work; paused in both, the ratio compares the work.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass

from bench.proc import child_env, python
from bench.report import Row
from bench.stackenv import Deployed
from bench.subjects import Subject

MAX_RATIO = 1.25
_TIMED = """\
import bench.sandbox
bench.sandbox.enter()
import gc
import time
gc.disable()
start = time.process_time()
{body}
print(time.process_time() - start)
"""
# Which clients the function creates while it is imported, so that the floor creates exactly those.
_CLIENTS = """\
import bench.sandbox
bench.sandbox.enter()
import json
import botocore.session
created = []
create_client = botocore.session.Session.create_client
def recording(self, service_name, *args, **kwargs):
    created.append(service_name)
    return create_client(self, service_name, *args, **kwargs)
botocore.session.Session.create_client = recording
import {module}
print(json.dumps(created))
"""


@dataclass(frozen=True)
class _Series:
    label: str
    body: str
    env: dict[str, str]


def clients_created(deployed: Deployed) -> list[str]:
    """Also fills the bytecode cache for every module the function imports."""
    created: list[str] = json.loads(
        python(["-c", _CLIENTS.format(module=deployed.module)], child_env(deployed.environment))
    )
    return created


def _seconds(series: _Series) -> float:
    return float(python(["-c", _TIMED.format(body=series.body)], series.env))


def run(subject: Subject, deployed: Deployed, runs: int, without_bytecode: bool) -> tuple[list[Row], dict[str, object]]:
    """Rows for the function with bytecode (as after its first import, or as shipped precompiled) and,
    when asked, with the function's and layer's code compiled on import (no .pyc in the package)."""
    clients = clients_created(deployed)
    sdk = [f"import {module}" for module in subject.sdk_imports]
    floor_body = "\n".join(["import boto3", *(f"boto3.client({service!r})" for service in clients), *sdk])
    env = child_env(deployed.environment)
    series = [
        _Series("figure", f"import {deployed.module}", env),
        _Series("floor", floor_body, env),
    ]
    if without_bytecode:
        series.append(_Series("figure, no .pyc", f"import {deployed.module}", child_env(deployed.environment, True)))
    _seconds(series[1])  # the floor's modules into the bytecode cache too
    samples: dict[str, list[float]] = {item.label: [] for item in series}
    for run_index in range(runs):
        shift = run_index % len(series)  # rotate the order: no series always runs first or last
        for item in series[shift:] + series[:shift]:
            samples[item.label].append(_seconds(item) * 1000)
    median = {label: statistics.median(values) for label, values in samples.items()}

    def paired(label: str) -> float:
        return statistics.median(f / b for f, b in zip(samples[label], samples["floor"], strict=True))

    floor_note = "floor: import boto3" + "".join(f" + client({service})" for service in clients)
    floor_note += "".join(f" + import {module}" for module in subject.sdk_imports)
    rows = [
        Row(
            f"cold init: {subject.name}",
            median["figure"],
            "ms CPU",
            median["floor"],
            MAX_RATIO,
            note=floor_note,
            paired_ratio=paired("figure"),
        ),
    ]
    if without_bytecode:
        rows.append(
            Row(
                f"cold init, no .pyc in package or layer: {subject.name}",
                median["figure, no .pyc"],
                "ms CPU",
                median["floor"],
                note="function and layer modules compiled on every cold start, as without .pyc files",
                paired_ratio=paired("figure, no .pyc"),
            )
        )
    return rows, {"runs": runs, "clients": clients, "samples_ms": samples}
