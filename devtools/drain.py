"""What `make local` does on Ctrl-C/SIGTERM: the gateway stops taking requests, the pollers deliver what is
already stored (bounded), and if time runs out one line says how much was still in flight. The emulator keeps
its state in memory, so whatever is in flight when the process exits is gone: it must never go silently."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("twilio_inbound.local")

DRAIN_SECONDS = 30.0
# Two empty counts in a row: between reading one queue and the next, a function may move a message from the
# queue not yet read to one already read (the media function publishes to the subscribers' queues).
QUIET_COUNTS = 2


class Pending(Protocol):
    kind: str  # "stream" or "queue"

    def pending(self) -> int: ...


@dataclass(frozen=True)
class InFlight:
    requests: int = 0  # webhook requests still being answered when the gateway closed
    unpublished: int = 0  # table changes on a stream not yet handled (stored, not yet published)
    unconsumed: int = 0  # messages in the polled queues: waiting, being processed or delayed
    unknown: str = ""  # why the count could not be made (the emulator did not answer)

    @property
    def total(self) -> int:
        return self.requests + self.unpublished + self.unconsumed


def count_in_flight(sources: Sequence[Pending], requests: int = 0) -> InFlight:
    try:
        unpublished = sum(source.pending() for source in sources if source.kind == "stream")
        unconsumed = sum(source.pending() for source in sources if source.kind == "queue")
    except Exception as error:  # shutting down must go on; the line says the count is unknown
        log.debug("counting what is in flight failed", exc_info=True)
        return InFlight(requests=requests, unknown=f"{type(error).__name__}: {error}")
    return InFlight(requests=requests, unpublished=unpublished, unconsumed=unconsumed)


def drain(
    sources: Sequence[Pending],
    deadline: float,
    interrupted: threading.Event,
    requests: int = 0,
    interval: float = 0.2,
) -> InFlight:
    """Waits until nothing is in flight QUIET_COUNTS times in a row, the deadline passes or `interrupted` is set
    (a second Ctrl-C); returns what was left."""
    quiet = 0
    while True:
        left = count_in_flight(sources, requests)
        quiet = quiet + 1 if left.total == 0 and not left.unknown else 0
        if quiet >= QUIET_COUNTS or time.monotonic() >= deadline or interrupted.is_set():
            return left
        interrupted.wait(interval)


def summary(left: InFlight, seconds: float) -> str:
    """The last line `make local` prints."""
    if left.unknown:
        return f"stopped after {seconds:.1f} s; what was still in flight is unknown ({left.unknown})"
    if left.total == 0:
        return f"stopped after {seconds:.1f} s: everything stored was delivered"
    parts = [
        f"{left.requests} webhook requests unanswered" if left.requests else "",
        f"{left.unpublished} table changes stored but not published" if left.unpublished else "",
        f"{left.unconsumed} queue messages not consumed" if left.unconsumed else "",
    ]
    return (
        f"stopped after {seconds:.1f} s with {left.total} still in flight ({', '.join(p for p in parts if p)}): "
        "they were in the emulator's memory and are lost"
    )
