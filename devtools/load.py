"""Bounded load against the local stack: N signed messages at concurrency C, every one checked.

    python -m devtools.load                                   # the running `make local`, else a stack of its own
    python -m devtools.load --messages 5000 --concurrency 32 --json bench/results/load.json
    python -m devtools.load --start --rate 30                 # a stack of its own; at most 30 new messages a second

Each message is POSTed once (a connection error is retried, as Twilio would), signed as Twilio signs it, over
kept-alive connections. A queue of the load's own, subscribed to the topic with raw delivery, receives the
events. At the end every MessageSid must be stored (BatchGetItem) and delivered exactly once. Prints
throughput, the p50/p99 of the webhook's answer and of end-to-end delivery (POST start to receipt from the
queue), and "sent = stored = delivered"; exits 1 on any failed answer, duplicate or undelivered message, or
when the time limit cut the run short. Only loopback targets are accepted: this loads nothing shared.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from devtools.local_process import LocalStackProcess, StackDidNotStart
from devtools.local_stack import DEFAULT_OUTPUTS
from devtools.subscriber import subscribe_queue
from devtools.template import ROOT
from twilio_inbound.dynamo import batch_get, to_item
from twilio_inbound_cli.signing import (
    TEST_AUTH_TOKEN,
    encode_form,
    inbound_form,
    new_message_sid,
    signed_headers,
    signing_token,
)
from twilio_inbound_cli.target import Target as StackTarget
from twilio_inbound_cli.target import local_target

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
RECEIVERS = 1  # one reader: the emulator's ReceiveMessage is not atomic, two could both get one message
QUIET_SECONDS = 2.0  # after the last expected delivery, how long to keep listening for duplicates
STACK_LOG = ROOT / ".local" / "load-stack.log"  # --start: the stack's own output, kept for the last run


@dataclass(frozen=True)
class Target:
    """A running local stack, from its outputs file."""

    webhook_url: str
    endpoint: str
    table: str
    topic_arn: str
    stack: StackTarget = field(repr=False)

    @classmethod
    def from_outputs(cls, outputs: dict[str, str]) -> Target:
        target = cls(
            webhook_url=outputs["WebhookUrl"],
            endpoint=outputs["EmulatorEndpoint"],
            table=outputs["MessagesTableName"],
            topic_arn=outputs["MessagesTopicArn"],
            stack=local_target(outputs),
        )
        for url in (target.webhook_url, target.endpoint):
            if urlsplit(url).hostname not in LOOPBACK_HOSTS:
                raise SystemExit(f"refusing to load {url}: only the local stack on loopback may be loaded")
        return target

    def client(self, service: Any) -> Any:
        return self.stack.client(service)


@dataclass(frozen=True)
class LoadConfig:
    messages: int = 5_000
    concurrency: int = 32
    time_limit: float = 300.0  # seconds for the whole run, sending and draining
    token: str = TEST_AUTH_TOKEN
    rate: float = 0.0  # messages per second to start at most (open loop); 0: as fast as the concurrency allows


@dataclass
class Report:
    messages: int
    concurrency: int
    rate: float = 0.0
    sent: int = 0  # messages POSTed
    answered_200: int = 0
    retried: int = 0  # messages that needed more than one attempt (connection errors)
    failed_answers: dict[str, int] = field(default_factory=dict)  # status (or error) -> count
    stored: int = 0
    delivered: int = 0  # distinct MessageSids received
    duplicates: int = 0  # messages published more than once (distinct SQS messages for one MessageSid)
    astray: list[str] = field(default_factory=list)  # a few MessageSids duplicated, redelivered or undelivered
    redelivered: int = 0  # the same SQS message received again (the queue's at-least-once)
    undelivered: int = 0  # answered 200, yet not both stored and delivered by the end (lost, or the time limit hit)
    strays: int = 0  # deliveries of MessageSids this run did not send
    send_seconds: float = 0.0
    total_seconds: float = 0.0
    throughput_per_second: float = 0.0  # 200 answers per second of sending
    delivered_per_second: float = 0.0  # deliveries per second, first POST to last delivery
    webhook_ms: dict[str, float] = field(default_factory=dict)  # p50, p99, max
    end_to_end_ms: dict[str, float] = field(default_factory=dict)
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        complete = self.sent == self.answered_200 == self.stored == self.delivered == self.messages
        failures = self.duplicates or self.redelivered or self.undelivered or self.failed_answers or self.timed_out
        return complete and not failures

    def reconciliation(self) -> str:
        return f"sent = stored = delivered: {self.sent} = {self.stored} = {self.delivered}"

    def lines(self) -> list[str]:
        web, e2e = self.webhook_ms, self.end_to_end_ms
        return [
            f"messages     {self.messages} at concurrency {self.concurrency}"
            + (f", paced at {self.rate:g}/s" if self.rate else ""),
            f"webhook      {self.throughput_per_second:.0f} msg/s over {self.send_seconds:.1f} s; "
            f"answer p50 {web.get('p50', 0):.1f} ms, p99 {web.get('p99', 0):.1f} ms, max {web.get('max', 0):.1f} ms",
            f"end to end   {self.delivered_per_second:.0f} msg/s; "
            f"delivery p50 {e2e.get('p50', 0):.0f} ms, p99 {e2e.get('p99', 0):.0f} ms, max {e2e.get('max', 0):.0f} ms",
            f"answers      {self.answered_200} x 200, {self.retried} after a connection retry"
            + (f", failed {self.failed_answers}" if self.failed_answers else ""),
            f"reconciled   {self.reconciliation()}; duplicates {self.duplicates}, redelivered {self.redelivered}, "
            f"undelivered {self.undelivered}, strays {self.strays}" + ("; TIME LIMIT HIT" if self.timed_out else ""),
            *([f"astray       {', '.join(self.astray)}"] if self.astray else []),
            "result       " + ("OK" if self.ok else "FAILED"),
        ]


def percentiles(values: list[float]) -> dict[str, float]:
    """Nearest-rank p50 and p99, and the maximum."""
    if not values:
        return {}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    return {"p50": rank(50), "p99": rank(99), "max": ordered[-1]}


# ---------------------------------------------------------------- the load's own subscriber
class Subscriber:
    """A queue subscribed to the topic (raw delivery), drained as it fills; records when each message arrived."""

    def __init__(self, target: Target) -> None:
        self._sqs = target.client("sqs")
        self._sns = target.client("sns")
        self.queue_url, self._subscription = subscribe_queue(
            self._sqs, self._sns, target.topic_arn, f"load-{uuid.uuid4().hex[:12]}"
        )
        self.arrivals: dict[str, list[float]] = {}  # MessageSid -> perf_counter() of each delivery
        self.message_ids: dict[str, set[str]] = {}  # MessageSid -> the SQS messages that carried it
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._drain, daemon=True) for _ in range(RECEIVERS)]
        for thread in self._threads:
            thread.start()

    def _drain(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self._sqs.receive_message(
                    QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
                ).get("Messages", [])
            except (BotoCoreError, ClientError):  # an emulator busy past the timeout: try again
                continue
            now = time.perf_counter()
            if not messages:
                continue
            with self._lock:
                for message in messages:
                    sid = str(json.loads(message["Body"]).get("id", ""))
                    self.arrivals.setdefault(sid, []).append(now)
                    self.message_ids.setdefault(sid, set()).add(message["MessageId"])
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
            try:
                self._sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except (BotoCoreError, ClientError):  # they come back after the visibility timeout: "redelivered"
                continue

    def delivered(self, sids: set[str]) -> int:
        with self._lock:
            return sum(1 for sid in sids if sid in self.arrivals)

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._sns.unsubscribe(SubscriptionArn=self._subscription)
        self._sqs.delete_queue(QueueUrl=self.queue_url)


# ---------------------------------------------------------------- sending
@dataclass
class Sent:
    sid: str
    started: float  # perf_counter() when the first attempt began
    seconds: float  # the answered attempt's time
    status: str  # "200", another status, or the last error's name
    attempts: int


class Sender:
    """C threads, each with one kept-alive connection, POSTing signed messages until none are left.

    A connection error is retried with the same message on a new connection (at most ATTEMPTS times), as
    Twilio retries a webhook it got no answer from: safe, since a MessageSid is stored once.
    """

    ATTEMPTS = 3

    def __init__(self, target: Target, config: LoadConfig, deadline: float) -> None:
        self._url = target.webhook_url
        parts = urlsplit(self._url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._path = parts.path + (f"?{parts.query}" if parts.query else "")
        self._config = config
        self._deadline = deadline
        self._next = iter(range(config.messages))
        self._began = time.monotonic()
        self._lock = threading.Lock()
        self.results: list[Sent] = []

    def _take(self) -> int | None:
        with self._lock:
            index = next(self._next, None)
        if index is not None and self._config.rate > 0:
            # message i starts no earlier than i / rate seconds in: a steady arrival rate, like real traffic
            time.sleep(max(0.0, self._began + index / self._config.rate - time.monotonic()))
        return None if time.monotonic() > self._deadline else index

    def _request(self, index: int) -> tuple[str, bytes, dict[str, str]]:
        sid = new_message_sid()
        pairs = inbound_form(body=f"load message {index}", sender=f"+1415555{index % 10_000:04d}", message_sid=sid)
        return sid, encode_form(pairs), signed_headers(self._url, pairs, self._config.token)

    def _connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self._host, self._port, timeout=30)

    def _post(self, connection: http.client.HTTPConnection, body: bytes, headers: dict[str, str]) -> str:
        connection.request("POST", self._path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return str(response.status)

    def _work(self, connection: http.client.HTTPConnection) -> None:
        results: list[Sent] = []
        while (index := self._take()) is not None:
            sid, body, headers = self._request(index)
            started = time.perf_counter()
            attempts = 0
            while True:
                attempts += 1
                began = time.perf_counter()
                try:
                    status = self._post(connection, body, headers)
                    break
                except (OSError, http.client.HTTPException) as error:
                    status = type(error).__name__
                    connection.close()
                    connection = self._connection()
                    if attempts == self.ATTEMPTS:
                        break
            results.append(Sent(sid, started, time.perf_counter() - began, status, attempts))
        connection.close()
        with self._lock:
            self.results += results

    def run(self) -> None:
        # Connections are opened one by one before the first request: the load is the requests, not a burst of
        # simultaneous connects (the local gateway's accept queue is short).
        connections = [self._connection() for _ in range(self._config.concurrency)]
        for connection in connections:
            connection.connect()
        self._began = time.monotonic()
        threads = [threading.Thread(target=self._work, args=(connection,), daemon=True) for connection in connections]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


# ---------------------------------------------------------------- checking
def stored_sids(target: Target, sids: list[str]) -> set[str]:
    """Which of the MessageSids the table holds (consistent reads; raises if DynamoDB keeps leaving keys out)."""
    keys = [to_item({"messageSid": sid}) for sid in sids]
    options = {"ProjectionExpression": "messageSid", "ConsistentRead": True}
    return {str(item["messageSid"]["S"]) for item in batch_get(target.client("dynamodb"), target.table, keys, options)}


def run(target: Target, config: LoadConfig) -> Report:
    """Sends, waits for deliveries within the time limit, reconciles. Never raises for a failed message."""
    began = time.monotonic()
    deadline = began + config.time_limit
    subscriber = Subscriber(target)
    report = Report(messages=config.messages, concurrency=config.concurrency, rate=config.rate)
    try:
        sender = Sender(target, config, deadline)
        send_began = time.perf_counter()
        sender.run()
        report.send_seconds = time.perf_counter() - send_began
        results = sender.results
        accepted = {sent.sid for sent in results if sent.status == "200"}
        report.sent = len(results)
        report.answered_200 = len(accepted)
        report.failed_answers = dict(Counter(sent.status for sent in results if sent.status != "200"))
        report.retried = sum(1 for sent in results if sent.attempts > 1)
        report.timed_out = report.sent < config.messages

        # Wait for every accepted message, then a little longer for anything delivered twice.
        while subscriber.delivered(accepted) < len(accepted) and time.monotonic() < deadline:
            time.sleep(0.1)
        report.timed_out = report.timed_out or subscriber.delivered(accepted) < len(accepted)
        time.sleep(min(QUIET_SECONDS, max(0.0, deadline - time.monotonic())))
    finally:
        subscriber.close()
    report.total_seconds = time.monotonic() - began

    sent_sids = {sent.sid for sent in results}
    arrivals = subscriber.arrivals
    stored = stored_sids(target, sorted(sent_sids))
    report.stored = len(stored)
    report.delivered = sum(1 for sid in sent_sids if sid in arrivals)
    carried_by = subscriber.message_ids
    report.duplicates = sum(len(carried_by[sid]) - 1 for sid in arrivals if sid in sent_sids)
    report.redelivered = sum(len(arrivals[sid]) - len(carried_by[sid]) for sid in arrivals if sid in sent_sids)
    report.strays = sum(len(times) for sid, times in arrivals.items() if sid not in sent_sids)
    report.undelivered = len(accepted - (stored & set(arrivals)))
    report.astray = sorted(
        {sid for sid in sent_sids if len(arrivals.get(sid, ())) != 1 or len(carried_by.get(sid, ())) > 1}
    )[:10]
    report.throughput_per_second = report.answered_200 / report.send_seconds if report.send_seconds else 0.0
    report.webhook_ms = percentiles([sent.seconds * 1000 for sent in results if sent.status == "200"])
    e2e = [(arrivals[sent.sid][0] - sent.started) * 1000 for sent in results if sent.sid in arrivals]
    report.end_to_end_ms = percentiles(e2e)
    if e2e:
        first_post = min(sent.started for sent in results)
        last_delivery = max(arrivals[sid][0] for sid in sent_sids if sid in arrivals)
        report.delivered_per_second = report.delivered / (last_delivery - first_post)
    return report


# ---------------------------------------------------------------- a stack of its own
@contextmanager
def own_stack(token: str) -> Iterator[dict[str, str]]:
    """`make local` on free loopback ports, in a subprocess, for the duration of the run."""
    with tempfile.TemporaryDirectory(prefix="local-load-") as scratch:
        stack = LocalStackProcess(Path(scratch), env={"TWILIO_AUTH_TOKEN": token})
        try:
            try:
                outputs = stack.wait_for_outputs()
            except StackDidNotStart as error:
                raise SystemExit(str(error)) from None
            yield outputs
        finally:
            stack.stop()
            # Kept after the run: what the stack logged when a message went astray.
            STACK_LOG.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(stack.log_file, STACK_LOG)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.load", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=5_000, help="messages to send (default 5000)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight (default 32)")
    parser.add_argument(
        "--time-limit", type=float, default=300.0, help="seconds for the whole run, sending and delivery (default 300)"
    )
    parser.add_argument("--outputs", type=Path, default=DEFAULT_OUTPUTS, help="a running local stack's outputs file")
    parser.add_argument(
        "--start",
        action="store_true",
        help="start a local stack of its own on free ports (its output is kept in .local/load-stack.log)",
    )
    parser.add_argument(
        "--rate", type=float, default=0.0, help="start at most this many messages per second (default: no pacing)"
    )
    parser.add_argument("--token", help="auth token the stack verifies with (default: the documented test token)")
    parser.add_argument("--json", type=Path, help="also write the report here as JSON")
    args = parser.parse_args(argv)
    if not 1 <= args.messages <= 100_000 or not 1 <= args.concurrency <= 256 or not 0 < args.time_limit <= 3_600:
        parser.error("bounded runs only: 1-100000 messages, concurrency 1-256, a time limit up to 3600 s")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    token = signing_token(args.token)
    config = LoadConfig(args.messages, args.concurrency, args.time_limit, token, max(0.0, args.rate))
    if args.start or not args.outputs.exists():
        with own_stack(token) as outputs:
            print(f"started a local stack at {outputs['WebhookUrl']}", flush=True)
            report = run(Target.from_outputs(outputs), config)
    else:
        target = Target.from_outputs(json.loads(args.outputs.read_text(encoding="utf-8")))
        print(f"loading the running local stack at {target.webhook_url}", flush=True)
        try:
            report = run(target, config)
        except EndpointConnectionError:
            print(f"error: no local stack answers at {target.endpoint} ({args.outputs} is stale); try --start")
            return 2
    print("\n".join(report.lines()))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({**asdict(report), "ok": report.ok}, indent=2) + "\n", encoding="utf-8")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
