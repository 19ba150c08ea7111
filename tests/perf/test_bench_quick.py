"""The quick benchmark as a test: every figure within its target (bench/, docs/PERFORMANCE.md).

Real measurements in fresh processes (~30 s on 2 cores): cold init and warm CPU against the bare SDK floor
measured side by side, SNS calls per batch, peak memory. A slower import, a client created per message or
work repeated per message makes a ratio pass its target and this test fail.
"""

from __future__ import annotations

import pytest

from bench.report import Row
from bench.suite import QUICK, measure

TARGETED = (
    "cold init: ingest",
    "cold init: fanout",
    "warm CPU per message: ingest",
    "warm CPU per record: fanout",
    "SNS calls per 100 stream records: fanout",
    "peak RSS after 1,000 messages: ingest",
    "peak RSS after 1,000 messages: fanout",
    "peak RSS after 1,000 messages: consumer",
)


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Row]:
    # GIVEN the functions as the template configures them, AWS answered by canned responses
    measured, _ = measure(QUICK, tmp_path_factory.mktemp("bench"))
    return {row.name: row for row in measured}


@pytest.mark.parametrize("name", TARGETED)
def test_figure_is_within_its_target(rows: dict[str, Row], name: str) -> None:
    # WHEN the quick benchmark has run THEN each figure was measured and holds its target
    row = rows[name]
    assert row.ok, row.failure()


def test_every_measured_target_is_checked(rows: dict[str, Row]) -> None:
    assert {name for name, row in rows.items() if row.ok is not None} == set(TARGETED)
