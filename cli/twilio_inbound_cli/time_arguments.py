"""Command-line times: any ISO 8601 time, or a clear argparse error."""

from __future__ import annotations

import argparse
from datetime import datetime

from twilio_inbound.clock import iso_millis, parse_iso


def moment(value: str) -> datetime:
    try:
        return parse_iso(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from error


def stored_time(value: str) -> str:
    """As the table stores receivedAt (UTC, milliseconds, Z), so it compares with the indexes' sort key."""
    return iso_millis(moment(value))
