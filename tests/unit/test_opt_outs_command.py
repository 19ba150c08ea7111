"""`twilio-inbound opt-outs`: the list of who opted out of what, an audit export, an import from a previous system
(validated, idempotent, a dry run, every refusal with its reason), an opt-out received another way, a removal with
a reason; every change keeping who, when and where it came from, and nothing a customer texted overwritten."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devtools.lambda_runtime import Invoke
from devtools.template import Stack
from tests.unit.helpers import signed_event
from twilio_inbound.numbers import NumberConfig
from twilio_inbound.numbers_table import NumberRegistry
from twilio_inbound.opt_out_rule import SenderIdentity
from twilio_inbound.opt_outs_table import OptOutStore
from twilio_inbound_cli.signing import inbound_form

NUMBER, WHATSAPP, UNREGISTERED = "+15005550001", "whatsapp:+15005550001", "+15005550099"
SERVICE = "MG" + "a" * 32
TEXTED_STOP, TEXTED_START, NEW = "+14155550101", "+14155550102", "+14155550103"
CALLER = "arn:aws:sts::123456789012:user/moto"  # the emulated caller's identity

Cli = Callable[..., tuple[int, list[str]]]


@pytest.fixture
def cli(stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """The CLI pointed at the stack, its numbers registered; returns (exit code, lines printed)."""
    from twilio_inbound_cli.main import main
    from twilio_inbound_cli.target import Target

    registry = NumberRegistry(stack.session.client("dynamodb"), stack.physical["NumbersTable"]["Ref"])
    for number in (NUMBER, WHATSAPP):
        registry.put(NumberConfig(number, name="support"))
    outputs = {**stack.outputs(), "Region": "us-east-1", "EmulatorEndpoint": ""}
    (tmp_path / "outputs.json").write_text(json.dumps(outputs))
    monkeypatch.setenv("TWILIO_INBOUND_OUTPUTS", str(tmp_path / "outputs.json"))
    monkeypatch.setattr(Target, "client", lambda self, service: stack.session.client(service))

    def run(*argv: str) -> tuple[int, list[str]]:
        capsys.readouterr()  # what the functions printed before (their metrics lines) is not the CLI's
        code = main(list(argv))
        return code, capsys.readouterr().out.splitlines()

    return run


@pytest.fixture
def store(stack: Stack) -> OptOutStore:
    return OptOutStore(stack.session.client("dynamodb"), stack.physical["OptOutsTable"]["Ref"])


def texted(ingest: Invoke, body: str, sender: str, to: str = NUMBER) -> str:
    form = inbound_form(body=body, sender=sender, to=to)
    assert ingest(signed_event(form))["statusCode"] == 200
    return dict(form)["MessageSid"]


def refused(store: OptOutStore, sender: str, number: str = NUMBER) -> bool:
    return store.refusal(SenderIdentity(frozenset({number}), frozenset(), services_known=True), sender) is not None


def entries(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines]


def test_a_texted_stop_is_listed_with_where_it_came_from(cli: Cli, ingest: Invoke) -> None:
    stop = texted(ingest, "STOP", TEXTED_STOP)
    code, lines = cli("opt-outs", "list", "--json")
    assert code == 0
    (entry,) = entries(lines)
    # the same fields, named as in the export and every other JSON the CLI prints
    assert (entry["scope"], entry["sender"], entry["optedOut"], entry["origin"], entry["messageSid"]) == (
        NUMBER,
        TEXTED_STOP,
        True,
        "text",
        stop,
    )
    assert cli("opt-outs", "list")[1][0].split()[:3] == [NUMBER, TEXTED_STOP, "opted"]
    assert entries(cli("opt-outs", "show", TEXTED_STOP)[1]) == [entry]
    assert entries(cli("opt-outs", "list", "--scope", NUMBER, "--json")[1]) == [entry]  # one scope: a query
    assert cli("opt-outs", "list", "--scope", WHATSAPP)[1] == ["nobody is opted out"]


def test_an_opt_out_received_by_phone_is_added_with_who_and_why_and_then_holds(
    cli: Cli, store: OptOutStore, ingest: Invoke
) -> None:
    # WHEN an agent records an opt-out a customer gave on the phone
    code, lines = cli("opt-outs", "add", NUMBER, NEW, "--source", "phone call", "--by", "agent 12")
    assert code == 0
    (entry,) = entries(lines)
    # THEN it keeps who (the caller's identity, on whose behalf), where from and when, and it holds for sends
    assert (entry["origin"], entry["actor"], entry["requestedBy"], entry["source"]) == (
        "operator",
        CALLER,
        "agent 12",
        "phone call",
    )
    assert [change["origin"] for change in entry["history"]] == ["operator"]
    assert refused(store, NEW)
    # AND adding it again changes nothing
    assert cli("opt-outs", "add", NUMBER, NEW)[0] == 0
    assert len(store.entry(NUMBER, NEW).history) == 1  # type: ignore[union-attr]
    # AND when the customer texts START, their text is what stands; the operator's change stays in the history
    texted(ingest, "START", NEW)
    after = store.entry(NUMBER, NEW)
    assert after is not None
    assert (after.opted_out, after.origin, after.actor, after.source) == (False, "text", "", "")
    assert [change["source"] for change in after.history] == ["phone call"]


def test_a_removal_needs_a_reason_and_keeps_it(cli: Cli, store: OptOutStore, ingest: Invoke) -> None:
    texted(ingest, "STOP", TEXTED_STOP)
    with pytest.raises(SystemExit) as usage:
        cli("opt-outs", "remove", NUMBER, TEXTED_STOP)
    assert usage.value.code == 2
    code, lines = cli("opt-outs", "remove", NUMBER, TEXTED_STOP, "--reason", "asked on the phone to resubscribe")
    assert code == 0
    (entry,) = entries(lines)
    assert (entry["optedOut"], entry["origin"], entry["reason"], entry["actor"]) == (
        False,
        "operator",
        "asked on the phone to resubscribe",
        CALLER,
    )
    assert not refused(store, TEXTED_STOP)
    # and removing what is not there says so
    assert cli("opt-outs", "remove", NUMBER, NEW, "--reason", "x")[0] == 1


def write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=["scope", "sender", "optedOut", "at", "source"])
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def previous_system(tmp_path: Path, ingest: Invoke) -> Path:
    """A previous system's list, against a stack where one customer texted STOP and another texted START."""
    texted(ingest, "STOP", TEXTED_STOP)
    texted(ingest, "STOP", TEXTED_START)
    texted(ingest, "START", TEXTED_START)
    old = "2020-01-01T00:00:00Z"
    return write(
        tmp_path / "previous.csv",
        [
            {"scope": NUMBER, "sender": NEW, "optedOut": "true", "at": "2025-06-01T10:00:00Z", "source": "old CRM"},
            {"scope": SERVICE, "sender": NEW, "at": "2025-06-01T10:00:00Z"},
            {"scope": NUMBER, "sender": TEXTED_STOP, "optedOut": "false", "at": old},
            {"scope": NUMBER, "sender": TEXTED_START, "optedOut": "true", "at": old},
            {"scope": NUMBER, "sender": TEXTED_STOP, "optedOut": "true", "at": old},
            {"scope": UNREGISTERED, "sender": NEW, "at": old},
            {"scope": NUMBER, "sender": "whatsapp:+14155550104", "at": old},
            {"scope": NUMBER, "sender": "not a number", "at": old},
            {"scope": NUMBER, "sender": "+14155550105", "optedOut": "maybe", "at": old},
            {"scope": NUMBER, "sender": "+14155550106"},
            {"scope": NUMBER, "sender": "+14155550107", "at": "2099-01-01T00:00:00Z"},
        ],
    )


EXPECTED_REFUSALS = [
    "line 3: +15005550001 +14155550101: refused: an import never clears an opt-out (opted out by the customer's "
    "text at {stop}): use `opt-outs remove --reason`",
    "line 4: +15005550001 +14155550102: refused: opted in by the customer's text at {start}, after this row's "
    "time (2020-01-01T00:00:00.000Z)",
    "line 6: +15005550099 +14155550103: refused: +15005550099 is not a registered number (numbers add "
    "+15005550099, or fix the row)",
    "line 7: +15005550001 whatsapp:+14155550104: refused: a whatsapp sender under a sms scope: opt-outs never apply so",
    "line 8: +15005550001 not a number: refused: sender 'not a number' is not E.164 or a channel address",
    "line 9: +15005550001 +14155550105: refused: optedOut must be true or false, not 'maybe'",
    "line 10: +15005550001 +14155550106: refused: at is required: when the previous system recorded it (ISO 8601)",
    "line 11: +15005550001 +14155550107: refused: at is in the future: 2099-01-01T00:00:00Z",
]


def test_an_import_dry_run_reports_every_refusal_with_its_reason_and_writes_nothing(
    cli: Cli, store: OptOutStore, previous_system: Path
) -> None:
    before = store.entries()
    code, lines = cli("opt-outs", "import", str(previous_system), "--dry-run")
    assert code == 1  # something was refused
    start = store.entry(NUMBER, TEXTED_START).updated_at  # type: ignore[union-attr]
    stop = store.entry(NUMBER, TEXTED_STOP).updated_at  # type: ignore[union-attr]
    assert lines == [
        *(line.format(start=start, stop=stop) for line in EXPECTED_REFUSALS),
        "dry run: 2 would be applied, 1 unchanged, 8 refused",
    ]
    assert store.entries() == before


def test_an_import_writes_what_it_may_keeps_the_customers_texts_and_is_idempotent(
    cli: Cli, store: OptOutStore, previous_system: Path, stack: Stack
) -> None:
    code, lines = cli("opt-outs", "import", str(previous_system), "--by", "migration 2026-12")
    assert (code, lines[-1]) == (1, "2 applied, 1 unchanged, 8 refused")
    imported = store.entry(NUMBER, NEW)
    assert imported is not None
    assert (imported.opted_out, imported.origin, imported.updated_at, imported.actor, imported.requested_by) == (
        True,
        "import",
        "2025-06-01T10:00:00.000Z",
        CALLER,
        "migration 2026-12",
    )
    assert imported.source == "old CRM"
    # the texted STOP is still the customer's (an import's opt-out row does not take it over), the START too
    stop, start = store.entry(NUMBER, TEXTED_STOP), store.entry(NUMBER, TEXTED_START)
    assert (stop.origin, stop.opted_out, start.origin, start.opted_out) == ("text", True, "text", False)  # type: ignore[union-attr]
    # the service's opt-out holds for the numbers of the service, named on their own
    identity = SenderIdentity(frozenset({"+15005550005"}), frozenset())
    assert store.refusal(identity, NEW, lambda service: frozenset({"+15005550005"})) is not None
    # and the same file again changes nothing
    again = cli("opt-outs", "import", str(previous_system))[1]
    assert again[-1] == "0 applied, 3 unchanged, 8 refused"


def test_an_export_for_an_audit_imports_back_unchanged(cli: Cli, ingest: Invoke, tmp_path: Path) -> None:
    texted(ingest, "STOP", TEXTED_STOP)
    texted(ingest, "STOP", "whatsapp:+14155550104", to=WHATSAPP)
    cli("opt-outs", "add", NUMBER, NEW, "--source", "web form")
    csv_file, jsonl_file = tmp_path / "audit.csv", tmp_path / "audit.jsonl"
    assert cli("opt-outs", "export", "--format", "csv", "--output", str(csv_file))[0] == 0
    assert cli("opt-outs", "export", "--format", "jsonl", "--output", str(jsonl_file))[0] == 0
    rows = list(csv.DictReader(io.StringIO(csv_file.read_text())))
    assert [(row["scope"], row["sender"], row["optedOut"], row["origin"]) for row in rows] == [
        (NUMBER, TEXTED_STOP, "true", "text"),
        (NUMBER, NEW, "true", "operator"),
        (WHATSAPP, "whatsapp:+14155550104", "true", "text"),
    ]
    assert all(row["updatedAt"] for row in rows)
    audit = [json.loads(line) for line in jsonl_file.read_text().splitlines()]
    assert [change["source"] for change in audit[1]["history"]] == ["web form"]
    for exported in (csv_file, jsonl_file):
        assert cli("opt-outs", "import", str(exported))[1][-1] == "0 applied, 3 unchanged, 0 refused"
