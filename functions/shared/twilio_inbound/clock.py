"""The one timestamp format we store and publish: UTC, milliseconds, "Z" (sorts as text, as the indexes need)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def iso_millis(moment: datetime) -> str:
    """2026-11-24T00:47:59.123Z; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_now() -> datetime:
    return datetime.now(UTC)


def parse_iso(value: str) -> datetime:
    """An ISO 8601 time as typed by an operator ("Z" or an offset; none means UTC). ValueError otherwise."""
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def just_after(value: str) -> str:
    """The next millisecond after a stored timestamp: what follows it in an index ordered by time."""
    return iso_millis(datetime.fromisoformat(value) + timedelta(milliseconds=1))
