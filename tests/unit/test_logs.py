"""What an operator reads: one line per request, never another request's identifiers, and why a 403 happened."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest

from devtools.lambda_runtime import Invoke
from devtools.template import ROOT
from tests.unit.helpers import signed_event
from twilio_inbound_cli.signing import TEST_AUTH_TOKEN, inbound_form, new_message_sid
from twilio_inbound_cli.signing import TEST_WEBHOOK_URL as WEBHOOK_URL


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def documented_query(heading: str) -> str:
    """The Logs Insights query the operations guide gives under `heading`."""
    guide = (ROOT / "docs" / "guides" / "operate.md").read_text(encoding="utf-8")
    section = guide.split(heading, 1)[1]
    return section.split("```", 2)[1]


def test_a_rejected_request_never_carries_the_previous_requests_message_sid(
    ingest: Invoke, ingest_logs: io.StringIO
) -> None:
    sid = new_message_sid()
    # GIVEN a repeat delivery (logged with its MessageSid as correlation id)
    assert ingest(signed_event(inbound_form(message_sid=sid)))["statusCode"] == 200
    assert ingest(signed_event(inbound_form(message_sid=sid)))["statusCode"] == 200
    assert sid in ingest_logs.getvalue()
    ingest_logs.seek(0)
    ingest_logs.truncate()
    # WHEN the same container next refuses a forged request
    assert ingest(signed_event(inbound_form(), token="wrong-token"))["statusCode"] == 403
    rejected = ingest_logs.getvalue()
    assert "request rejected" in rejected
    assert sid not in rejected


def test_the_documented_query_finds_a_stored_message_by_its_sid(
    ingest: Invoke, capfd: pytest.CaptureFixture[str]
) -> None:
    sid = new_message_sid()
    capfd.readouterr()
    assert ingest(signed_event(inbound_form(message_sid=sid)))["statusCode"] == 200
    lines = json_lines(capfd.readouterr().out)
    # the query filters on a top-level field equal to a MessageSid, as Logs Insights reads JSON lines
    query = documented_query("### Finding a message")
    field, _ = re.search(r'filter (\w+) = "(SM[0-9a-f]{32})"', query).groups()  # type: ignore[union-attr]
    found = [line for line in lines if line.get(field) == sid]
    # THEN the first line found states the message is stored, with the fields the query shows
    assert found, lines
    assert found[0]["message"] == "message stored"
    shown = [name.strip() for name in query.strip().split("|")[0].removeprefix("fields").split(",")]
    assert set(shown) - {"@timestamp", "status", "reason"} <= set(found[0])


def _rejection_line(logs: io.StringIO) -> dict[str, Any]:
    (line,) = [line for line in json_lines(logs.getvalue()) if line.get("message") == "request rejected"]
    logs.truncate(0)
    logs.seek(0)
    return line


def test_a_403_says_which_url_was_checked_and_what_would_have_verified(
    ingest: Invoke, ingest_logs: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingest import handler as ingest_handler

    monkeypatch.setattr(ingest_handler.intake.verifier, "_next_diagnosis", 0.0)
    # GIVEN Twilio signed the http:// URL (a proxy terminating TLS and not saying so)
    http_url = WEBHOOK_URL.replace("https://", "http://")
    assert ingest(signed_event(inbound_form(), signed_url=http_url))["statusCode"] == 403
    line = _rejection_line(ingest_logs)
    assert line["checkedUrl"] == WEBHOOK_URL
    assert line["wouldVerify"] == ["the URL checked over http with the primary token"]
    assert TEST_AUTH_TOKEN not in json.dumps(line)

    # AND a second failure within 10 s is not diagnosed (a flood costs what it did)
    assert ingest(signed_event(inbound_form(), token="wrong-token"))["statusCode"] == 403
    assert "not diagnosed" in json.dumps(_rejection_line(ingest_logs)["wouldVerify"])


def test_a_403_with_a_wrong_token_says_nothing_would_verify(
    ingest: Invoke, ingest_logs: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingest import handler as ingest_handler

    monkeypatch.setattr(ingest_handler.intake.verifier, "_next_diagnosis", 0.0)
    event = signed_event(inbound_form(), token="wrong-token")
    assert ingest(event)["statusCode"] == 403
    line = _rejection_line(ingest_logs)
    assert line["wouldVerify"][0].startswith("nothing")
    signature = next(value for name, value in event["headers"].items() if name.lower() == "x-twilio-signature")
    assert signature not in json.dumps(line)
