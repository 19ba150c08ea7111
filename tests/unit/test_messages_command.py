"""`twilio-inbound messages`: stored messages read back decoded, by MessageSid, by number and by conversation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devtools.lambda_runtime import Invoke
from devtools.template import Stack
from tests.unit.helpers import signed_event
from twilio_inbound_cli.signing import inbound_form, new_message_sid

NUMBER, CUSTOMER, OTHER = "+15005550001", "+14155550100", "+14155550199"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[Any]]:
    from twilio_inbound_cli.main import main

    code = main(list(argv))
    return code, [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.fixture
def sent(stack: Stack, ingest: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Three messages stored through the webhook (two from one customer), the CLI pointed at the stack."""
    from twilio_inbound_cli.target import Target

    sids = []
    for sender, body in ((CUSTOMER, "first"), (OTHER, "hello"), (CUSTOMER, "second ✓")):
        sid = new_message_sid()
        answer = ingest(signed_event(inbound_form(body=body, sender=sender, to=NUMBER, message_sid=sid)))
        assert answer["statusCode"] == 200, answer
        sids.append(sid)
    outputs = {**stack.outputs(), "Region": "us-east-1", "EmulatorEndpoint": ""}
    (tmp_path / "outputs.json").write_text(json.dumps(outputs))
    monkeypatch.setenv("TWILIO_INBOUND_OUTPUTS", str(tmp_path / "outputs.json"))
    monkeypatch.setattr(Target, "client", lambda self, service: stack.session.client(service))
    return sids


def test_show_decodes_the_stored_message(sent: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, messages = run_cli(capsys, "messages", "show", sent[2], sent[0])
    assert code == 0
    assert [(m["messageSid"], m["body"], m["from"], m["direction"]) for m in messages] == [
        (sent[2], "second ✓", CUSTOMER, "inbound"),
        (sent[0], "first", CUSTOMER, "inbound"),
    ]
    assert messages[0]["parameters"]["Body"] == "second ✓"  # the verbatim parameters too


def test_show_says_which_were_not_stored(sent: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    missing = new_message_sid()
    code, lines = run_cli(capsys, "messages", "show", sent[0], missing)
    assert code == 1
    assert lines[-1] == {"notStored": [missing]}


def test_a_number_and_a_conversation_in_time_order(sent: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    by_number = run_cli(capsys, "messages", "number", NUMBER)[1]
    assert sorted(m["messageSid"] for m in by_number) == sorted(sent)
    assert [m["receivedAt"] for m in by_number] == sorted(m["receivedAt"] for m in by_number)
    conversation = run_cli(capsys, "messages", "conversation", NUMBER, CUSTOMER)[1]
    assert [m["body"] for m in conversation] == ["first", "second ✓"]
    later = run_cli(capsys, "messages", "number", NUMBER, "--since", "2999-01-01T00:00:00Z")[1]
    assert later == []
