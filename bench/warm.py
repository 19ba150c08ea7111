"""Warm CPU per message: the handler end to end against the bare SDK call(s) it exists to make.

Both run in one process against the same canned HTTP responses, one event and its floor after the other; the
ratio is the median of the pairs' ratios.
"""

from __future__ import annotations

import copy
import gc
import itertools
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import fakeaws, faketwilio, invoke
from bench.proc import BenchError, child_env, probe
from bench.report import Row
from bench.subjects import Subject

if TYPE_CHECKING:  # the measuring process must not import the dev tooling behind it
    from bench.stackenv import Deployed

MAX_SNS_CALLS_PER_100 = 10
Call = tuple[str, str, dict[str, Any]]  # service, Operation, parameters
TWILIO_METHODS = ("create", "stream")  # MessageList's: the floor of the sender and of reconcile


# ---------------------------------------------------------------- inside the measuring process
@contextmanager
def _recording() -> Iterator[list[Call]]:
    """Every SDK call made meanwhile (AWS, and the twilio SDK's Messages.create and .stream), with a copy of its
    parameters. A streamed body (S3) is recorded as its bytes."""
    from botocore.client import BaseClient

    recorded: list[Call] = []
    original = BaseClient._make_api_call  # type: ignore[attr-defined]

    def record(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        recorded.append((self.meta.service_model.service_name, operation_name, _copied(api_params)))
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = record  # type: ignore[attr-defined]
    undo = _recording_twilio(recorded)
    try:
        yield recorded
    finally:
        BaseClient._make_api_call = original  # type: ignore[attr-defined]
        undo()


def _copied(params: dict[str, Any]) -> dict[str, Any]:
    body = params.get("Body")
    if body is None or isinstance(body, bytes | str):
        return copy.deepcopy(params)
    position = body.tell()
    data = body.read()
    body.seek(position)
    return {**copy.deepcopy({name: value for name, value in params.items() if name != "Body"}), "Body": data}


def _recording_twilio(recorded: list[Call]) -> Callable[[], None]:
    """Records MessageList.create and .stream when the function uses the twilio SDK (never imports it otherwise)."""
    import sys

    if "twilio.rest" not in sys.modules:
        return lambda: None
    from twilio.rest.api.v2010.account.message import MessageList

    originals = {name: getattr(MessageList, name) for name in TWILIO_METHODS}

    def recording(name: str) -> Callable[..., Any]:
        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            client = self._version.domain.twilio
            who = {"username": client.username, "password": client.password, "account_sid": client.account_sid}
            recorded.append(("twilio", f"Messages.{name}", {"client": who, "arguments": copy.deepcopy(kwargs)}))
            return originals[name](self, *args, **kwargs)

        return method

    for name in TWILIO_METHODS:
        setattr(MessageList, name, recording(name))

    def undo() -> None:
        for name, method in originals.items():
            setattr(MessageList, name, method)

    return undo


def bind_calls(calls: list[Call]) -> list[tuple[Callable[..., Any], dict[str, Any]]]:
    """The calls as bound methods of fresh, bare clients: the floor. S3's PutObject lets the SDK compute the
    checksum of the bytes, as a bare write with an integrity check does."""
    import boto3
    from botocore import xform_name

    clients: dict[str, Any] = {}
    bound: list[tuple[Callable[..., Any], dict[str, Any]]] = []
    for service, operation, params in calls:
        if service == "twilio":
            bound.append(_bound_twilio(operation, params, clients))
            continue
        if service not in clients:
            clients[service] = boto3.client(service)  # type: ignore[call-overload]
        unchecked = (service, operation) == ("s3", "PutObject")
        arguments = {name: value for name, value in params.items() if not (unchecked and name == "ChecksumSHA256")}
        bound.append((getattr(clients[service], xform_name(operation)), arguments))
    return bound


def _bound_twilio(
    operation: str, params: dict[str, Any], clients: dict[str, Any]
) -> tuple[Callable[..., Any], dict[str, Any]]:
    """The SDK's own Client (its default HTTP client, no retries of ours), as a bare caller creates it."""
    from twilio.rest import Client

    who = params["client"]
    key = f"twilio {who['username']} {who['account_sid']}"
    if key not in clients:
        clients[key] = Client(who["username"], who["password"], who["account_sid"])
    messages = clients[key].messages
    if operation == "Messages.stream":
        return (lambda **arguments: list(messages.stream(**arguments))), params["arguments"]
    return getattr(messages, operation.partition(".")[2]), params["arguments"]


def _check(subject: Subject, result: Any) -> None:
    if not subject.accepted(result):
        raise BenchError(f"{subject.name} did not take the success path the figure measures: {str(result)[:300]}")


def _floor_calls(
    subject: Subject, function: invoke.Handler, context: Any, first_two: list[dict[str, Any]]
) -> tuple[list[Call], list[Call]]:
    """The first invocation takes the cold path (secret, registry, first-use caches); the second shows the
    steady state: the floor's calls it made, and every call it made."""
    _check(subject, function(first_two[0], context))
    with _recording() as recorded:
        _check(subject, function(first_two[1], context))
    floor_calls = [call for call in recorded if f"{call[0]}.{call[1]}" in subject.floor_operations]
    floor_calls = floor_calls[: subject.floor_calls_per_event]
    if not floor_calls:
        raise BenchError(f"{subject.name} made no {subject.floor_operation} call: nothing to compare with")
    return floor_calls, recorded


def _bare(calls: list[tuple[Callable[..., Any], dict[str, Any]]]) -> None:
    """The calls one after the other; an error answer (S3's 404 for an object not there yet) is one the caller
    expects and handles, as the function does."""
    from botocore.exceptions import ClientError

    for method, params in calls:
        with suppress(ClientError):
            method(**params)


def measure(subject: Subject, handler: str, events_path: Path, pairs: int) -> dict[str, Any]:
    events = list(invoke.read_jsonl(events_path))
    gc.collect()
    gc.freeze()  # the harness's events stay out of GC passes; the function's own objects do not
    function = invoke.load_handler(handler)
    context = invoke.lambda_context(subject.logical_id)
    if subject.records_per_event == 1 and len(events) < 2 + pairs:
        raise BenchError(f"{len(events)} events are too few for {pairs} distinct messages")
    floor_calls, every_call = _floor_calls(subject, function, context, events[:2])
    floor = bind_calls(floor_calls)
    # Every SDK call the function made, bare: what is left over is the function's own work.
    every = bind_calls(every_call) if subject.max_every_call_ratio is not None else []
    source = itertools.cycle(events[2:])

    # One event and its floor(s) side by side, in rotating order: all see the same machine state, so a burst of
    # noise moves all; medians over many pairs leave bursts out.
    seconds: dict[str, list[float]] = {"figure": [], "floor": [], "every": []}
    wall: dict[str, list[float]] = {"figure": [], "floor": []}  # reported beside CPU time: waits would show here
    sides = ["figure", "floor", *(["every"] if every else [])]
    figure_calls: dict[str, int] = {}
    failed = 0
    clock, wall_clock = time.process_time, time.perf_counter
    for pair in range(pairs):
        event = next(source)
        shift = pair % len(sides)
        for side in sides[shift:] + sides[:shift]:
            if side == "figure":
                before = {**fakeaws.calls, **faketwilio.calls}
                started, start = wall_clock(), clock()
                result = function(event, context)
                seconds["figure"].append(clock() - start)
                wall["figure"].append(wall_clock() - started)
                # Checked, not kept: answers kept alive would bring GC passes the function does not cause.
                failed += not subject.accepted(result)
                for name, count in {**fakeaws.calls, **faketwilio.calls}.items():
                    figure_calls[name] = figure_calls.get(name, 0) + count - before.get(name, 0)
            else:
                started, start = wall_clock(), clock()
                _bare(floor if side == "floor" else every)
                seconds[side].append(clock() - start)
                if side == "floor":
                    wall["floor"].append(wall_clock() - started)
    if failed:
        raise BenchError(f"{subject.name} failed {failed} of {pairs} events while measured")

    units = subject.records_per_event

    def paired(side: str) -> float:
        return statistics.median(f / b for f, b in zip(seconds["figure"], seconds[side], strict=True))

    figures = {
        "figure_us": statistics.median(seconds["figure"]) / units * 1e6,
        "floor_us": statistics.median(seconds["floor"]) / units * 1e6,
        "paired_ratio": paired("floor"),
        "figure_wall_us": statistics.median(wall["figure"]) / units * 1e6,
        "floor_wall_us": statistics.median(wall["floor"]) / units * 1e6,
        "paired_wall_ratio": statistics.median(f / b for f, b in zip(wall["figure"], wall["floor"], strict=True)),
    }
    if every:
        figures |= {
            "every_call_us": statistics.median(seconds["every"]) / units * 1e6,
            "every_call_ratio": paired("every"),
        }
    return {
        **figures,
        "pairs": pairs,
        "records_per_event": subject.records_per_event,
        "calls_per_event": {name: count / pairs for name, count in sorted(figure_calls.items()) if count},
        "floor_calls": floor_calls,
        "every_call": sorted({f"{service}.{operation}" for service, operation, _ in every_call}),
    }


# ---------------------------------------------------------------- in the parent
def _units(subject: Subject) -> str:
    return subject.per if subject.records_per_event == 1 else f"{subject.records_per_event} {subject.per}s"


def run(subject: Subject, deployed: Deployed, events: Path, pairs: int) -> tuple[list[Row], dict[str, Any]]:
    """The rows, and the details with the floor's calls (`floor_calls`) for the memory run to replay."""
    args = ["warm", "--subject", subject.name, "--handler", deployed.handler, "--events", str(events)]
    result = probe([*args, "--pairs", str(pairs)], child_env(deployed.environment))
    calls = result["calls_per_event"]
    floor_names = sorted({f"{service}.{operation}" for service, operation, _ in result["floor_calls"]})
    floor_per_event = len(result["floor_calls"])
    rows = [
        Row(
            f"warm CPU per {subject.per}: {subject.name}",
            result["figure_us"],
            "µs",
            floor=result["floor_us"],
            max_ratio=subject.max_warm_ratio,
            note=f"floor: {floor_per_event} bare {', '.join(floor_names)} per {_units(subject)}; wall-clock ratio "
            f"{result['paired_wall_ratio']:.2f}",
            paired_ratio=result["paired_ratio"],
        )
    ]
    if "every_call_us" in result:
        rows.append(
            Row(
                f"warm CPU per {subject.per}, every SDK call as floor: {subject.name}",
                result["figure_us"],
                "µs",
                floor=result["every_call_us"],
                max_ratio=subject.max_every_call_ratio,
                note=f"floor: every call it made, bare ({', '.join(result['every_call'])})",
                paired_ratio=result["every_call_ratio"],
            )
        )
    if subject.name == "fanout":
        sns = sum(count for name, count in calls.items() if name.startswith("sns."))
        per_100 = sns * 100 / subject.records_per_event
        rows.append(
            Row(
                "SNS calls per 100 stream records: fanout",
                per_100,
                "calls",
                floor=-(-100 // 10),  # PublishBatch takes 10 entries
                max_figure=MAX_SNS_CALLS_PER_100,
            )
        )
    return rows, {**result, "floor_operations": floor_names}
