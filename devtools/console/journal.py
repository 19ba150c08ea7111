"""What the console has seen happen in the local stack, one flow per message, and who is waiting to hear of it.

A flow is keyed by MessageSid, or by a send command's idempotencyKey until (unless) Twilio created a message for
it. Every change bumps a version and names its topics ("messages", "flow:<key>", "phone", "registry",
"dead-letters"), so a page waiting on the journal refreshes only what changed.
"""

from __future__ import annotations

import bisect
import copy
import itertools
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

MAX_FLOWS = 500  # the oldest are forgotten: a console, not an archive
MAX_CHANGES = 2000  # a page further behind than this refreshes everything
EVERYTHING = "*"


def now() -> datetime:
    return datetime.now(UTC)


_step_numbers = itertools.count(1)


@dataclass(frozen=True)
class Step:
    """One thing that happened to a message: what a person reads, and the JSON behind it."""

    kind: str  # webhook, stored, published, received, send, status
    summary: str
    detail: Any = None
    problem: bool = False  # a refusal or a failure
    at: datetime = field(default_factory=now)  # when it happened (a flow lists its steps in this order)
    number: int = field(default_factory=lambda: next(_step_numbers))  # its id on the page


@dataclass
class Flow:
    key: str
    direction: str = ""  # inbound, outbound, or "" while only a refused request is known
    sender: str = ""
    to: str = ""
    body: str = ""
    channel: str = ""
    state: str = ""  # the latest headline: "answered 200", "delivered", "refused 403"
    problem: bool = False
    record: dict[str, Any] | None = None  # the stored item, decoded (its latest image)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)  # published CloudEvents by id
    received: dict[str, list[str]] = field(default_factory=dict)  # event id -> "queue → function: outcome"
    media: list[dict[str, Any]] = field(default_factory=list)  # media.archived's items
    in_reply_to: str = ""
    replies: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    first_seen: datetime = field(default_factory=now)

    @property
    def answer(self) -> dict[str, Any] | None:
        """The webhook's last answer about this message: {"status": 200, "body": "<?xml ...>"}."""
        for step in reversed(self.steps):
            if step.kind == "webhook":
                answer: dict[str, Any] = step.detail["answer"]
                return answer
        return None


class Journal:
    def __init__(self, limit: int = MAX_FLOWS) -> None:
        self._changed = threading.Condition()
        self._flows: OrderedDict[str, Flow] = OrderedDict()
        self._limit = limit
        self._version = 0
        self._changes: deque[tuple[int, str]] = deque(maxlen=MAX_CHANGES)
        self._renamed: dict[str, str] = {}  # a send command's key -> its message's SID (rekey)

    @property
    def version(self) -> int:
        with self._changed:
            return self._version

    def record(self, key: str, step: Step | None = None, **fields: Any) -> None:
        """Adds a step to the flow `key` (created if new) and sets its fields (those given and not empty)."""
        with self._changed:
            key = self._renamed.get(key, key)
            flow = self._flows.get(key)
            if flow is None:
                flow = self._flows[key] = Flow(key)
                while len(self._flows) > self._limit:
                    self._flows.popitem(last=False)
            for name, value in fields.items():
                if value not in (None, ""):
                    setattr(flow, name, value)
            if step is not None:
                bisect.insort(flow.steps, step, key=lambda known: known.at)
                if step.problem:
                    flow.problem = True
            self._bump("messages", f"flow:{key}")

    def update(self, key: str, change: Any) -> None:
        """Applies change(flow) to an existing or new flow, under the journal's lock."""
        with self._changed:
            key = self._renamed.get(key, key)
            if key not in self._flows:
                self.record(key)
            change(self._flows[key])
            self._bump("messages", f"flow:{key}")

    def link(self, reply: str, original: str) -> None:
        """`reply` answers `original` (an outbound message or send command, and the inbound message)."""
        with self._changed:
            reply = self._renamed.get(reply, reply)
            self.record(reply, in_reply_to=original)
            self.update(original, lambda flow: flow.replies.append(reply) if reply not in flow.replies else None)

    def rekey(self, old: str, new: str) -> None:
        """A send command's flow becomes its message's, once Twilio gave the message a SID."""
        with self._changed:
            if old == new:
                return
            self._renamed[old] = new  # what is noted later under the command's key goes to the message
            while len(self._renamed) > self._limit:
                del self._renamed[next(iter(self._renamed))]
            earlier = self._flows.pop(old, None)
            if earlier is None:
                return
            later = self._flows.get(new)
            if later is not None:  # the message's own steps came first: keep both, in time order
                earlier.steps = sorted([*earlier.steps, *later.steps], key=lambda step: step.at)
                earlier.events.update(later.events)
                earlier.record = later.record or earlier.record
                earlier.state = later.state or earlier.state
            earlier.key = new
            self._flows[new] = earlier
            for flow in self._flows.values():
                flow.replies = [new if key == old else key for key in flow.replies]
            self._bump("messages", f"flow:{old}", f"flow:{new}")

    def touch(self, *topics: str) -> None:
        with self._changed:
            self._bump(*topics)

    def _bump(self, *topics: str) -> None:
        self._version += 1
        self._changes.extend((self._version, topic) for topic in topics)
        self._changed.notify_all()

    def flows(self) -> list[Flow]:
        """Every flow's headline, newest first (copies without the steps, record and events: a list shows none)."""
        with self._changed:
            return [
                replace(flow, steps=[], record=None, events={}, received={}, media=[], replies=list(flow.replies))
                for flow in reversed(self._flows.values())
            ]

    def flow(self, key: str) -> Flow | None:
        with self._changed:
            flow = self._flows.get(self._renamed.get(key, key))
            return copy.deepcopy(flow) if flow is not None else None

    def wait(self, after: int, timeout: float) -> tuple[int, set[str]]:
        """The version and the topics changed since version `after`, once there are any (or the timeout passed:
        then no topics)."""
        with self._changed:
            self._changed.wait_for(lambda: self._version > after, timeout)
            if self._version <= after:
                return self._version, set()
            oldest = self._changes[0][0] if self._changes else self._version
            if after < oldest - 1:
                return self._version, {EVERYTHING}
            return self._version, {topic for version, topic in self._changes if version > after}
