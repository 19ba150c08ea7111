"""`python -m bench [--quick] [--build | --no-build] [--json PATH]`: measure, print the table, write JSON.

Exits 1 when a figure misses its target.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import asdict, replace
from pathlib import Path

from bench import cost, sending_cost
from bench.report import document, table, write_json
from bench.suite import FULL, QUICK, measure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer iterations, no sam build (CI)")
    parser.add_argument("--build", action=argparse.BooleanOptionalAction, default=None, help="run sam build (~20 s)")
    parser.add_argument("--json", type=Path, help="where to write the results (default: bench/results/)")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    if args.build is not None:
        settings = replace(settings, build=args.build)

    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        rows, details = measure(settings, Path(scratch))
    # What a message received and a message sent cost, with the request counts and CPU just measured.
    work = cost.workload_from(details, "this run")
    costs = cost.measure(work)
    rows += cost.target_rows(costs)
    details["cost"] = [asdict(kind) for kind in costs]
    sending, sent = sending_cost.work_from(details, "this run"), sending_cost.sent_items()
    rows += sending_cost.target_rows(sent, sending)
    details["sending cost"] = {"items": asdict(sent), "work": asdict(sending)}
    print(table(rows))
    print("\n" + cost.table(costs, work))
    print("\n" + sending_cost.table(sent, sending))
    path = write_json(document(rows, asdict(settings), details), args.json)
    print(f"\nwritten to {path}")
    failures = [row for row in rows if row.ok is False]
    for row in failures:
        print(f"MISSED: {row.failure()}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
