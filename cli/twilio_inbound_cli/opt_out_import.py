"""Opt-out lists in and out: rows read from CSV or JSON lines, each checked, then written under the import rule.

A row: `scope` (our number or channel address, or a Messaging Service SID; `number` is taken for it too),
`sender` (the customer's address), `optedOut` (true unless it says false), `at` (when the previous system recorded
it, ISO 8601; `updatedAt` is taken for it too, so an export imports as it is) and an optional `source`. A row is
refused, with the reason, when it is malformed, names a number that is not registered, mixes channels (a WhatsApp
address under an SMS number), would clear an opt-out (an import never does: `opt-outs remove --reason`), or is
older than the opt-in it would replace (whatever set it: a customer's START by text, an operator, an earlier
import). A state already as the row says is left as it is, with whoever set it (a customer's STOP stays theirs):
the same file imported again changes nothing, an import is idempotent.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from twilio_inbound.clock import iso_millis, parse_iso
from twilio_inbound.numbers import NUMBER_PATTERN
from twilio_inbound.opt_outs_table import SERVICE_PREFIX, OperatorChange, OptOutEntry
from twilio_inbound.outbound import ADDRESS_PATTERN

Format = Literal["csv", "jsonl"]
Verdict = Literal["applied", "unchanged", "refused"]
MAX_SOURCE_CHARS = 256
FUTURE_SLACK = timedelta(minutes=5)  # a clock a little ahead is not a row from the future
EXPORT_FIELDS = ("scope", "sender", "optedOut", "updatedAt", "origin", "messageSid", "actor", "requestedBy", "reason",
                 "source")  # fmt: skip
_TRUE, _FALSE = {"true", "1", "yes", "y"}, {"false", "0", "no", "n"}


class RowRefused(ValueError):
    """The row cannot be imported; the text says why."""


@dataclass(frozen=True)
class Row:
    line: int  # where it was in the file (1: the first data row)
    scope: str
    sender: str
    opted_out: bool
    at: str  # stored timestamp format


@dataclass
class Report:
    """What an import did (or, with --dry-run, would do), row by row."""

    dry_run: bool
    counts: dict[Verdict, int] = field(default_factory=lambda: {"applied": 0, "unchanged": 0, "refused": 0})
    refusals: list[tuple[int, str, str]] = field(default_factory=list)  # line, "scope sender", reason

    def note(self, verdict: Verdict, line: int = 0, what: str = "", reason: str = "") -> None:
        self.counts[verdict] += 1
        if verdict == "refused":
            self.refusals.append((line, what, reason))

    def lines(self) -> list[str]:
        applied = "would be applied" if self.dry_run else "applied"
        summary = (
            f"{'dry run: ' if self.dry_run else ''}{self.counts['applied']} {applied}, "
            f"{self.counts['unchanged']} unchanged, {self.counts['refused']} refused"
        )
        return [*(f"line {line}: {what}: refused: {reason}" for line, what, reason in self.refusals), summary]


def read_rows(text: str, fmt: Format) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each data row as (line number, fields); a line that is not a JSON object comes as {} (refused later)."""
    if fmt == "csv":
        for line, values in enumerate(csv.DictReader(io.StringIO(text)), start=1):
            yield line, {name.strip(): value for name, value in values.items() if name}
        return
    for line, raw in enumerate((raw for raw in text.splitlines() if raw.strip()), start=1):
        try:
            document = json.loads(raw)
        except ValueError:
            document = None
        yield line, document if isinstance(document, dict) else {}


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text == "":
        return True  # a list of opt-outs: a row that does not say is one
    if text in _FALSE:
        return False
    raise RowRefused(f"optedOut must be true or false, not {value!r}")


def _text(fields: dict[str, Any], *names: str) -> str:
    for name in names:
        value = fields.get(name)
        if value not in (None, ""):
            return str(value).strip()
    return ""


def _time(fields: dict[str, Any], now: datetime) -> str:
    raw = _text(fields, "at", "updatedAt")
    if not raw:
        raise RowRefused("at is required: when the previous system recorded it (ISO 8601)")
    try:
        moment = parse_iso(raw)
    except ValueError as error:
        raise RowRefused(f"at is not an ISO 8601 time: {raw!r}") from error
    if moment > now + FUTURE_SLACK:
        raise RowRefused(f"at is in the future: {raw}")
    return iso_millis(moment)


def channel(address: str) -> str:
    scheme, colon, _ = address.partition(":")
    return scheme if colon else "sms"


def check_pair(scope: str, sender: str) -> None:
    """A scope and a sender that can go together (RowRefused otherwise): the opt-out rule keeps a WhatsApp
    sender's opt-outs under the WhatsApp address of our number, an SMS sender's under the number."""
    if not NUMBER_PATTERN.fullmatch(scope):
        raise RowRefused(f"scope {scope!r} is not a number, a channel address or a Messaging Service SID")
    if not ADDRESS_PATTERN.fullmatch(sender):
        raise RowRefused(f"sender {sender!r} is not E.164 or a channel address")
    if not scope.startswith(SERVICE_PREFIX) and channel(scope) != channel(sender):
        raise RowRefused(f"a {channel(sender)} sender under a {channel(scope)} scope: opt-outs never apply so")


def parse_row(line: int, fields: dict[str, Any], now: datetime) -> Row:
    scope, sender = _text(fields, "scope", "number"), _text(fields, "sender")
    if not scope or not sender:
        raise RowRefused("scope and sender are required")
    check_pair(scope, sender)
    if len(_text(fields, "source")) > MAX_SOURCE_CHARS:
        raise RowRefused(f"source is longer than {MAX_SOURCE_CHARS} characters")
    return Row(line, scope, sender, _boolean(fields.get("optedOut", "")), _time(fields, now))


def verdict(row: Row, current: OptOutEntry | None) -> tuple[Verdict, str]:
    """What the import rule makes of the row, given the entry as it is (the rule the conditional write holds): only
    an opt-out is ever written, over no entry or an opt-in older than the row; a state already so is left as it is
    (with whoever set it: a customer's STOP stays theirs)."""
    if current is not None and current.opted_out == row.opted_out:
        return "unchanged", ""
    if not row.opted_out:
        if current is None:
            return "unchanged", ""  # nobody to opt back in
        return "refused", f"an import never clears an opt-out ({_set_by(current)}): use `opt-outs remove --reason`"
    if current is not None and current.updated_at >= row.at:
        return "refused", f"{_set_by(current)}, after this row's time ({row.at})"
    return "applied", ""


def _set_by(entry: OptOutEntry) -> str:
    state = "opted out" if entry.opted_out else "opted in"
    how = {"text": "by the customer's text", "import": "by an import", "operator": "by an operator"}[entry.origin]
    return f"{state} {how} at {entry.updated_at}"


def change_of(row: Row, fields: dict[str, Any], actor: str, requested_by: str) -> OperatorChange:
    return OperatorChange(
        scope=row.scope,
        sender=row.sender,
        opted_out=row.opted_out,
        at=row.at,
        origin="import",
        actor=actor,
        requested_by=requested_by,
        source=_text(fields, "source"),
    )


def export_rows(entries: Iterable[OptOutEntry]) -> Iterator[dict[str, Any]]:
    for entry in entries:
        yield {
            "scope": entry.scope,
            "sender": entry.sender,
            "optedOut": entry.opted_out,
            "updatedAt": entry.updated_at,
            "origin": entry.origin,
            "messageSid": entry.message_sid,
            "actor": entry.actor,
            "requestedBy": entry.requested_by,
            "reason": entry.reason,
            "source": entry.source,
            "history": list(entry.history),
        }


def write_export(entries: Iterable[OptOutEntry], fmt: Format, out: io.TextIOBase | Any) -> int:
    """CSV (the current state of each entry) or JSON lines (with each entry's history); the rows written."""
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for row in export_rows(entries):
            writer.writerow({**row, "optedOut": "true" if row["optedOut"] else "false"})
            count += 1
        return count
    for row in export_rows(entries):
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count
