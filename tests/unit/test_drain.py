"""Stopping `make local`: the gateway stops taking requests but answers the ones it has, and the drain waits for
the pollers to deliver what is stored, or says how much was still in flight when it gives up."""

from __future__ import annotations

import http.client
import threading
import time
from typing import Any

import pytest

from devtools.apigw import GatewayServer
from devtools.drain import InFlight, drain, summary


class Source:
    """A poller's view of what it still has: counts handed out in turn, the last one repeated."""

    def __init__(self, kind: str, counts: list[int]) -> None:
        self.kind = kind
        self._counts = counts

    def pending(self) -> int:
        return self._counts.pop(0) if len(self._counts) > 1 else self._counts[0]


class Unreachable:
    kind = "queue"

    def pending(self) -> int:
        raise ConnectionError("emulator gone")


def test_drain_waits_until_the_stream_and_queues_are_empty_twice_in_a_row() -> None:
    # GIVEN a stream with records to publish and a queue that is empty once, then refilled by the fan-out
    stream, queue = Source("stream", [3, 1, 0]), Source("queue", [0, 2, 1, 0])
    # WHEN the stack drains with time to spare
    left = drain([stream, queue], time.monotonic() + 30, threading.Event(), interval=0)
    # THEN it stopped only when both were empty, and says so
    assert left == InFlight()
    assert summary(left, 1.25) == "stopped after 1.2 s: everything stored was delivered"


def test_drain_gives_up_at_the_deadline_and_says_how_many_were_in_flight() -> None:
    left = drain([Source("stream", [4]), Source("queue", [7])], time.monotonic(), threading.Event(), requests=1)
    assert left == InFlight(requests=1, unpublished=4, unconsumed=7)
    assert summary(left, 30.0) == (
        "stopped after 30.0 s with 12 still in flight (1 webhook requests unanswered, 4 table changes stored but "
        "not published, 7 queue messages not consumed): they were in the emulator's memory and are lost"
    )


def test_a_second_ctrl_c_stops_the_drain_at_once() -> None:
    interrupted = threading.Event()
    interrupted.set()
    assert drain([Source("queue", [5])], time.monotonic() + 30, interrupted).unconsumed == 5


def test_a_count_that_fails_is_never_reported_as_delivered() -> None:
    left = drain([Unreachable()], time.monotonic(), threading.Event())
    assert left.unknown == "ConnectionError: emulator gone"
    assert "unknown" in summary(left, 0.5)
    assert "everything stored was delivered" not in summary(left, 0.5)


@pytest.fixture
def slow_gateway() -> Any:
    """A gateway whose function takes a while, so a request is being answered when it closes."""
    started = threading.Event()

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        started.set()
        time.sleep(0.5)
        return {"statusCode": 200, "body": "stored"}

    server = GatewayServer(("127.0.0.1", 0), {"/sms": invoke})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, started


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_closing_the_gateway_answers_the_request_it_has_and_refuses_new_ones(slow_gateway: Any) -> None:
    server, started = slow_gateway
    host, port = server.server_address[:2]
    kept_alive = http.client.HTTPConnection(host, port, timeout=10)
    kept_alive.request("POST", "/sms", body=b"first")
    assert kept_alive.getresponse().read() == b"stored"
    started.clear()
    answer: dict[str, Any] = {}
    in_flight = http.client.HTTPConnection(host, port, timeout=10)
    in_flight.request("POST", "/sms", body=b"second")
    reader = threading.Thread(target=lambda: answer.update(response=in_flight.getresponse()))
    reader.start()
    assert started.wait(5)
    # WHEN the gateway closes while the second request is being answered
    assert server.close(timeout=5) == 0
    # THEN that request got its answer, a kept-alive connection gets 503, and a new connection is refused
    reader.join(5)
    assert answer["response"].status == 200
    kept_alive.request("POST", "/sms", body=b"third")
    assert kept_alive.getresponse().status == 503
    with pytest.raises(ConnectionRefusedError):
        http.client.HTTPConnection(host, port, timeout=5).request("POST", "/sms", body=b"fourth")
