"""The benchmark's deterministic figures as a test: calls counted at the transport and peak memory.

Real measurements in fresh processes: SNS calls per batch of stream records (a client call per message, or
batches that are not full, fail it) and peak RSS after 1,000 messages (state kept per message fails it). Timing
ratios (cold init, warm CPU against the SDK floor) depend on how busy the machine is: `make bench` checks
those, side by side, and exits non-zero when one misses its target.
"""

from __future__ import annotations

import pytest

from bench.report import Row
from bench.suite import DETERMINISTIC, measure

TARGETED = (
    "SNS calls per 100 stream records: fanout",
    "peak RSS after 1,000 messages: ingest",
    "peak RSS after 1,000 messages: fanout",
    "peak RSS after 1,000 messages: consumer",
)


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Row]:
    # GIVEN the functions as the template configures them, AWS answered by canned responses
    measured, _ = measure(DETERMINISTIC, tmp_path_factory.mktemp("bench"))
    return {row.name: row for row in measured}


@pytest.mark.parametrize("name", TARGETED)
def test_figure_is_within_its_target(rows: dict[str, Row], name: str) -> None:
    # WHEN the deterministic part of the benchmark has run THEN each figure was measured and holds its target
    row = rows[name]
    assert row.ok, row.failure()


def test_no_timing_ratio_is_judged_here(rows: dict[str, Row]) -> None:
    timed = {name for name in rows if name.startswith(("cold init", "warm CPU"))}
    assert {name for name, row in rows.items() if row.ok is not None} - timed == set(TARGETED)
