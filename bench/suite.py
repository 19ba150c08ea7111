"""The whole measurement, as `python -m bench` and the perf test run it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench import cold, memory, package, warm, workload
from bench.report import Row
from bench.stackenv import Deployed, deployed_functions
from bench.subjects import CONSUMER, FANOUT, INGEST, MEDIA, RECONCILE, SENDER, STATUS

# Measured warm, and cold unless the settings say no; the consumer is measured for memory only.
TIMED = (INGEST, FANOUT, STATUS, SENDER, MEDIA, RECONCILE)
FED = (STATUS, SENDER, MEDIA, RECONCILE)  # their events and fakes come from workload.feed


@dataclass(frozen=True)
class Settings:
    quick: bool
    cold_runs: int  # fresh processes per series (figure, floor); 0 measures no cold start
    cold_without_bytecode: bool  # also measure the function with its code compiled on import
    pairs: dict[str, int] = field(default_factory=dict)  # per subject: events measured next to their floor
    build: bool = False


FULL = Settings(
    False, 15, True, {"ingest": 3000, "fanout": 150, "status": 2000, "sender": 600, "media": 300, "reconcile": 60}, True
)
QUICK = Settings(
    True, 10, False, {"ingest": 1000, "fanout": 40, "status": 600, "sender": 200, "media": 100, "reconcile": 20}
)
# What `make test` runs: the figures that do not depend on how busy the machine is (SDK calls counted at the
# transport, peak memory). Timing ratios are `make bench`'s: a busy CI machine must not turn them red.
DETERMINISTIC = Settings(
    True, 0, False, {"ingest": 200, "fanout": 12, "status": 20, "sender": 20, "media": 10, "reconcile": 4}
)
FANOUT_EVENTS = 12  # distinct batches of 100 records: 2 to calibrate, 10 for the memory run
SHIPPING_THE_SDK = (SENDER, RECONCILE)  # run again from what sam build packaged: the proof that it holds enough
AS_BUILT_PAIRS = 10


def _fed(functions: dict[str, Deployed], settings: Settings, scratch: Path) -> dict[str, tuple[Deployed, Path]]:
    """Each subject's process settings (with what its fakes answer) and events."""
    ingest_count = max(2 + settings.pairs["ingest"], memory.MESSAGES)
    fed = {
        INGEST.name: (
            functions[INGEST.logical_id],
            workload.write_jsonl(scratch / "ingest.jsonl", workload.webhook_events(ingest_count)),
        ),
        FANOUT.name: (
            functions[FANOUT.logical_id],
            workload.write_jsonl(
                scratch / "fanout.jsonl", workload.stream_events(FANOUT_EVENTS, FANOUT.records_per_event)
            ),
        ),
    }
    for subject in FED:
        deployed = functions[subject.logical_id]
        feed = workload.feed(subject.name, 2 + settings.pairs[subject.name], scratch, deployed)
        fed[subject.name] = (deployed.with_environment(feed.environment), feed.events)
    return fed


def measure(settings: Settings, scratch: Path) -> tuple[list[Row], dict[str, Any]]:
    functions = deployed_functions()
    fed = _fed(functions, settings, scratch)
    rows: list[Row] = []
    details: dict[str, Any] = {}
    for subject in TIMED if settings.cold_runs else ():
        without_bytecode = settings.cold_without_bytecode and subject in (INGEST, FANOUT, *SHIPPING_THE_SDK)
        cold_rows, details[f"cold {subject.name}"] = cold.run(
            subject, fed[subject.name][0], settings.cold_runs, without_bytecode
        )
        rows += cold_rows

    floor_calls: dict[str, Path] = {}
    for subject in TIMED:
        deployed, events = fed[subject.name]
        warm_rows, warm_details = warm.run(subject, deployed, events, settings.pairs[subject.name])
        calls = warm_details.pop("floor_calls")
        floor_calls[subject.name] = workload.write_json(scratch / f"{subject.name}-floor.json", calls)
        rows += warm_rows
        details[f"warm {subject.name}"] = warm_details
        if subject is FANOUT:
            # The subscriber reads what the fanout published. It makes no SDK call: its floor is boto3 imported.
            published = [params for _, _, params in calls]
            queued = workload.queue_events(published, memory.MESSAGES, CONSUMER.records_per_event)
            fed[CONSUMER.name] = (
                functions[CONSUMER.logical_id],
                workload.write_jsonl(scratch / "consumer.jsonl", queued),
            )
            floor_calls[CONSUMER.name] = workload.write_json(scratch / "consumer-floor.json", [])

    for subject in (INGEST, FANOUT, CONSUMER):
        deployed, events = fed[subject.name]
        rows.append(memory.run(subject, deployed, events, floor_calls[subject.name]))
    if settings.build:
        package_rows, details["package"] = package.run()
        rows += package_rows
        for subject in SHIPPING_THE_SDK:
            deployed, events = fed[subject.name]
            built = package.as_built(subject.logical_id, deployed)
            built_rows, _ = warm.run(subject, built, events, min(AS_BUILT_PAIRS, settings.pairs[subject.name]))
            rows += [replace(row, name=f"{row.name}, as built", max_ratio=None) for row in built_rows]
    return rows, details
