"""`twilio-inbound opt-outs ...`: who opted out of which number or Messaging Service, and when; an export for an
audit; an import from a previous system; an opt-out received another way; a removal, with a reason.

    twilio-inbound opt-outs list                                  # who is opted out now, of what, since when
    twilio-inbound opt-outs show +14155550100                     # one customer: every scope, every change
    twilio-inbound opt-outs export --format csv --output opt-outs.csv    # (or jsonl: with each entry's history)
    twilio-inbound opt-outs import previous-system.csv --dry-run  # what would be applied, and what refused, why
    twilio-inbound opt-outs add +15005550001 +14155550100 --source "phone call" --by "agent 12"
    twilio-inbound opt-outs remove +15005550001 +14155550100 --reason "asked on the phone to resubscribe"

Every change keeps who made it (the caller's AWS identity, and --by: on whose behalf), when, and where it came from
(text, import, operator). An import never clears an opt-out and never replaces a newer state: what a customer did
by text stays. Same target as the other commands: --stack-name, else the running local stack.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from twilio_inbound.clock import iso_millis, utc_now
from twilio_inbound.numbers_table import NumberRegistry
from twilio_inbound.opt_outs_table import SERVICE_PREFIX, OperatorChange, OptOutEntry, OptOutStore
from twilio_inbound_cli.opt_out_import import (
    Format,
    Report,
    RowRefused,
    change_of,
    check_pair,
    export_rows,
    parse_row,
    read_rows,
    verdict,
    write_export,
)
from twilio_inbound_cli.progress import progress
from twilio_inbound_cli.target import Target, resolve

MAX_TEXT_CHARS = 256


class Operator:
    """The stack's opt-outs and registry, and who is making changes."""

    def __init__(self, target: Target, requested_by: str = "") -> None:
        dynamodb = target.client("dynamodb")
        self.store = OptOutStore(dynamodb, target.output("OptOutsTableName"))
        self._registry = NumberRegistry(dynamodb, target.output("NumbersTableName"))
        self._target = target
        self.requested_by = requested_by
        self._registered: dict[str, bool] = {}
        self._actor = ""

    @property
    def actor(self) -> str:
        """The caller's identity (STS GetCallerIdentity: needs no permission), asked once."""
        if not self._actor:
            self._actor = str(self._target.client("sts").get_caller_identity()["Arn"])
        return self._actor

    def check_scope(self, scope: str, sender: str) -> None:
        """RowRefused unless the pair can go together and the scope is a registered number or a service."""
        check_pair(scope, sender)
        if scope.startswith(SERVICE_PREFIX):
            return
        if scope not in self._registered:
            self._registered[scope] = self._registry.get(scope) is not None
        if not self._registered[scope]:
            raise RowRefused(f"{scope} is not a registered number (numbers add {scope}, or fix the row)")


def _entry_json(entry: OptOutEntry) -> str:
    """One entry as the JSON lines export writes it, without its empty fields."""
    (row,) = export_rows([entry])
    return json.dumps({key: value for key, value in row.items() if value not in ("", [])}, ensure_ascii=False)


def _list(args: argparse.Namespace) -> int:
    store = Operator(resolve(args.stack_name)).store
    entries = [entry for entry in store.entries(args.scope or "") if args.all or entry.opted_out]
    if args.json:
        for entry in entries:
            print(_entry_json(entry))
        return 0
    if not entries:
        print("nobody is opted out" if not args.all else "no opt-out entries")
        return 0
    for entry in entries:
        by = entry.message_sid or entry.requested_by or entry.actor
        state = "opted out" if entry.opted_out else "opted in "
        print(f"{entry.scope:<36} {entry.sender:<28} {state} since {entry.updated_at}  {entry.origin:<8} {by}")
    return 0


def _show(args: argparse.Namespace) -> int:
    entries = Operator(resolve(args.stack_name)).store.entries(sender=args.sender)
    for entry in entries:
        print(_entry_json(entry))
    if not entries:
        print(f"{args.sender} has never opted out of anything")
    return 0


def _export(args: argparse.Namespace) -> int:
    entries = Operator(resolve(args.stack_name)).store.entries(args.scope or "")
    if args.output:
        with args.output.open("w", encoding="utf-8", newline="") as out:
            count = write_export(entries, args.format, out)
        print(f"exported {count} entries to {args.output}", file=sys.stderr)
    else:
        write_export(entries, args.format, sys.stdout)
    return 0


def _format_of(path: Path, given: str | None) -> Format:
    if given in ("csv", "jsonl"):
        return given  # type: ignore[return-value]
    return "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson", ".json") else "csv"


def _import(args: argparse.Namespace) -> int:
    try:
        text = args.file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        print(f"error: cannot read {args.file}: {error}")
        return 2
    operator = Operator(resolve(args.stack_name), args.by or "")
    report = Report(dry_run=args.dry_run)
    rows = list(read_rows(text, _format_of(args.file, args.format)))
    now = utc_now()
    with progress("opt-outs import", "rows", total=len(rows)) as bar:  # on a terminal only: stderr
        for line, fields in rows:
            _import_row(operator, report, line, fields, now=now, dry_run=args.dry_run)
            bar.update(1)
    for printed in report.lines():
        print(printed)
    return 1 if report.counts["refused"] else 0


def _import_row(
    operator: Operator, report: Report, line: int, fields: dict[str, Any], *, now: datetime, dry_run: bool
) -> None:
    """One row: checked, judged on the entry as it is, written unless a dry run (and judged again on what is there
    when the conditional write finds the entry changed meanwhile: the customer texted)."""
    try:
        row = parse_row(line, fields, now)
        operator.check_scope(row.scope, row.sender)
    except RowRefused as refused:
        what = f"{fields.get('scope') or fields.get('number')} {fields.get('sender')}"
        report.note("refused", line, what, str(refused))
        return
    outcome, reason = verdict(row, operator.store.entry(row.scope, row.sender))
    if outcome == "applied" and not dry_run:
        change = change_of(row, fields, operator.actor, operator.requested_by)
        written, current = operator.store.apply(change, "import")
        if not written:
            outcome, reason = verdict(row, current)
    report.note(outcome, line, f"{row.scope} {row.sender}", reason)


def _change(args: argparse.Namespace, *, opted_out: bool) -> int:
    operator = Operator(resolve(args.stack_name), args.by or "")
    try:
        operator.check_scope(args.scope, args.sender)
    except RowRefused as error:
        print(f"error: {error}")
        return 2
    change = OperatorChange(
        scope=args.scope,
        sender=args.sender,
        opted_out=opted_out,
        at=iso_millis(utc_now()),
        origin="operator",
        actor=operator.actor,
        requested_by=operator.requested_by,
        reason=getattr(args, "reason", "") or "",
        source=getattr(args, "source", "") or "",
    )
    written, current = operator.store.apply(change, "add" if opted_out else "remove")
    if not written:
        print(
            f"{args.sender} is already opted out of {args.scope}: {_entry_json(current)}"
            if opted_out and current
            else f"error: {args.sender} is not opted out of {args.scope}"
        )
        return 0 if opted_out else 1
    entry = operator.store.entry(args.scope, args.sender)
    print(_entry_json(entry) if entry else "")
    return 0


def _text(limit: int = MAX_TEXT_CHARS) -> Any:
    def check(value: str) -> str:
        value = value.strip()
        if not value or len(value) > limit or not value.isprintable():
            raise argparse.ArgumentTypeError(f"must be printable text of 1 to {limit} characters")
        return value

    return check


def add_command(commands: Any) -> None:
    parser = commands.add_parser(
        "opt-outs",
        help="list, show, export, import, add or remove opt-outs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    def verb(name: str, help_text: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = verbs.add_parser(name, help=help_text)
        sub.add_argument("--stack-name", help="a deployed stack (default: the running local stack)")
        return sub

    listing = verb("list", "who is opted out of what, since when, and how")
    listing.add_argument("--scope", help="one number, channel address or Messaging Service SID")
    listing.add_argument("--all", action="store_true", help="also those who opted back in")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(run=_list)

    show = verb("show", "one customer's opt-outs, every scope, with each change")
    show.add_argument("sender", help="the customer's address (+14155550100, whatsapp:+14155550100)")
    show.set_defaults(run=_show)

    export = verb("export", "every entry, for an audit: CSV (current state) or JSON lines (with history)")
    export.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    export.add_argument("--output", type=Path, help="a file (default: standard output)")
    export.add_argument("--scope", help="one number, channel address or Messaging Service SID")
    export.set_defaults(run=_export)

    importing = verb("import", "opt-outs from a previous system (CSV or JSON lines: scope, sender, at, source)")
    importing.add_argument("file", type=Path)
    importing.add_argument("--format", choices=("csv", "jsonl"), help="default: from the file's extension")
    importing.add_argument("--dry-run", action="store_true", help="report what would be applied and refused")
    importing.add_argument("--by", type=_text(), help="on whose behalf (kept with each change)")
    importing.set_defaults(run=_import)

    add = verb("add", "an opt-out received another way (a web form, a call)")
    add.add_argument("scope", help="our number or channel address, or a Messaging Service SID")
    add.add_argument("sender", help="the customer's address")
    add.add_argument("--source", type=_text(), help="where it came from: 'web form', 'phone call', ...")
    add.add_argument("--by", type=_text(), help="on whose behalf (kept with the change)")
    add.set_defaults(run=lambda args: _change(args, opted_out=True))

    remove = verb("remove", "take an opt-out back, with the reason")
    remove.add_argument("scope")
    remove.add_argument("sender")
    remove.add_argument("--reason", type=_text(), required=True, help="why (kept with the change)")
    remove.add_argument("--by", type=_text(), help="on whose behalf (kept with the change)")
    remove.set_defaults(run=lambda args: _change(args, opted_out=False))
