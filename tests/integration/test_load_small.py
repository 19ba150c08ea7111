"""A small run of devtools/load.py through the local stack: no loss, no duplicate, figures reported."""

from __future__ import annotations

import pytest

from devtools.load import LoadConfig, Target, run
from tests.integration.helpers import LocalStack

pytestmark = pytest.mark.integration


def test_a_small_load_is_stored_once_and_delivered_once(local_stack: LocalStack) -> None:
    # GIVEN the local stack, and 300 signed messages to send 16 at a time within 60 s
    config = LoadConfig(messages=300, concurrency=16, time_limit=60)
    # WHEN the load runs
    report = run(Target.from_outputs(local_stack.outputs), config)
    print("\n".join(report.lines()))
    # THEN every message was answered 200, stored once and delivered once, with nothing lost or repeated
    assert report.failed_answers == {}
    assert not report.timed_out
    assert (report.sent, report.answered_200, report.stored, report.delivered) == (300, 300, 300, 300)
    assert report.duplicates == 0
    assert report.undelivered == 0
    assert report.ok
    # AND the figures are measured, not assumed
    assert report.webhook_ms["p50"] <= report.webhook_ms["p99"] <= report.webhook_ms["max"]
    assert report.end_to_end_ms["p50"] > 0
    assert report.throughput_per_second > 0
