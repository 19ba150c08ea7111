"""The whole measurement, as `python -m bench` and the perf test run it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import cold, memory, package, warm, workload
from bench.report import Row
from bench.stackenv import deployed_functions
from bench.subjects import CONSUMER, FANOUT, INGEST


@dataclass(frozen=True)
class Settings:
    quick: bool
    cold_runs: int  # fresh processes per series (figure, floor); 0 measures no cold start
    cold_without_bytecode: bool  # also measure the function with its code compiled on import
    ingest_pairs: int  # messages, each measured next to its floor
    fanout_pairs: int  # invocations of 100 records, each measured next to its floor
    build: bool


FULL = Settings(False, 15, True, 3000, 150, True)
QUICK = Settings(True, 10, False, 1000, 40, False)
# What `make test` runs: the figures that do not depend on how busy the machine is (SDK calls counted at the
# transport, peak memory). Timing ratios are `make bench`'s: a busy CI machine must not turn them red.
DETERMINISTIC = Settings(True, 0, False, 200, 12, False)
FANOUT_EVENTS = 12  # distinct batches of 100 records: 2 to calibrate, 10 for the memory run


def measure(settings: Settings, scratch: Path) -> tuple[list[Row], dict[str, Any]]:
    functions = deployed_functions()
    ingest_count = max(2 + settings.ingest_pairs, memory.MESSAGES)
    events = {
        INGEST.name: workload.write_jsonl(scratch / "ingest.jsonl", workload.webhook_events(ingest_count)),
        FANOUT.name: workload.write_jsonl(
            scratch / "fanout.jsonl", workload.stream_events(FANOUT_EVENTS, FANOUT.records_per_event)
        ),
    }
    rows: list[Row] = []
    details: dict[str, Any] = {}
    for subject in (INGEST, FANOUT) if settings.cold_runs else ():
        deployed = functions[subject.logical_id]
        cold_rows, details[f"cold {subject.name}"] = cold.run(
            subject, deployed, settings.cold_runs, settings.cold_without_bytecode
        )
        rows += cold_rows

    floor_calls: dict[str, Path] = {}
    for subject, pairs in ((INGEST, settings.ingest_pairs), (FANOUT, settings.fanout_pairs)):
        warm_rows, warm_details = warm.run(subject, functions[subject.logical_id], events[subject.name], pairs)
        calls = warm_details.pop("floor_calls")
        floor_calls[subject.name] = workload.write_json(scratch / f"{subject.name}-floor.json", calls)
        rows += warm_rows
        details[f"warm {subject.name}"] = warm_details
        if subject is FANOUT:
            # The subscriber reads what the fanout published. It makes no SDK call: its floor is boto3 imported.
            published = [params for _, _, params in calls]
            queued = workload.queue_events(published, memory.MESSAGES, CONSUMER.records_per_event)
            events[CONSUMER.name] = workload.write_jsonl(scratch / "consumer.jsonl", queued)
            floor_calls[CONSUMER.name] = workload.write_json(scratch / "consumer-floor.json", [])

    for subject in (INGEST, FANOUT, CONSUMER):
        deployed = functions[subject.logical_id]
        rows.append(memory.run(subject, deployed, events[subject.name], floor_calls[subject.name]))
    if settings.build:
        package_rows, details["package"] = package.run()
        rows += package_rows
    return rows, details
