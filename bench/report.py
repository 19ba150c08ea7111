"""The results: one row per figure with its floor, the ratio, the target and whether it holds."""

from __future__ import annotations

import json
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Row:
    name: str
    figure: float
    unit: str
    floor: float | None = None  # the same work done by the bare SDK, measured next to the figure
    max_ratio: float | None = None  # target on figure / floor
    max_figure: float | None = None  # target on the figure itself
    note: str = ""
    # The median of figure/floor over runs made side by side, when measured so: the machine drifts between
    # fast and slow phases, which two runs next to each other share and the medians of two series may not.
    paired_ratio: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.paired_ratio is not None:
            return self.paired_ratio
        return self.figure / self.floor if self.floor else None

    @property
    def ok(self) -> bool | None:
        """None when the row is reported without a target."""
        if self.max_ratio is not None:
            ratio = self.ratio
            return ratio is not None and ratio <= self.max_ratio
        if self.max_figure is not None:
            return self.figure <= self.max_figure
        return None

    @property
    def target(self) -> str:
        if self.max_ratio is not None:
            return f"ratio <= {self.max_ratio:g}"
        if self.max_figure is not None:
            return f"<= {self.max_figure:g} {self.unit}"
        return ""

    def failure(self) -> str:
        measured = f"{self.figure:,.1f} {self.unit}"
        if self.max_ratio is not None and self.ratio is not None:
            measured = f"ratio {self.ratio:.2f} ({measured} against a floor of {self.floor:,.1f} {self.unit})"
        return f"{self.name}: {measured}, target {self.target}" + (f"; {self.note}" if self.note else "")


def _number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}" if abs(value) < 1000 else f"{value:,.0f}"


def table(rows: list[Row]) -> str:
    header = ("measurement", "figure", "floor", "ratio", "unit", "target", "ok")
    lines = [
        (
            row.name,
            _number(row.figure),
            _number(row.floor),
            _number(row.ratio, 2),
            row.unit,
            row.target,
            {True: "yes", False: "NO", None: ""}[row.ok],
        )
        for row in rows
    ]
    widths = [max(len(str(line[column])) for line in [header, *lines]) for column in range(len(header))]
    rendered = [
        " | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in [header, *lines]
    ]
    rendered.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in rendered)


def document(rows: list[Row], settings: dict[str, Any], details: dict[str, Any]) -> dict[str, Any]:
    from twilio_inbound.clock import iso_millis, utc_now  # in the parent only: measuring processes import this module

    return {
        "time": iso_millis(utc_now()),
        "python": sys.version.split()[0],
        "machine": f"{platform.system()} {platform.machine()}",
        "settings": settings,
        "rows": [{**asdict(row), "ratio": row.ratio, "target": row.target, "ok": row.ok} for row in rows],
        "details": details,
    }


def write_json(content: dict[str, Any], path: Path | None = None) -> Path:
    if path is None:
        kind = "quick" if content["settings"].get("quick") else "full"
        path = RESULTS_DIR / f"bench-{kind}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
