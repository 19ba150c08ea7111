"""The send command's definitions agree: schemas/send-command.v1.json (for services), parse_command (what the sender
enforces, without a schema library) and the subscribers' package's SendCommand (generated from the schema, plus the
rule of which fields go together). Generated commands, valid and broken, are accepted by all or by none."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from devtools.template import ROOT
from twilio_inbound.outbound import MalformedCommand, parse_command
from twilio_inbound_client import SendCommand

SCHEMA = json.loads((ROOT / "schemas" / "send-command.v1.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
SID = "SM" + "0123456789abcdef" * 2


GOOD: dict[str, list[Any]] = {
    "idempotencyKey": ["k", "order-4521:shipped", "a" * 128, "x.y_z"],
    "to": ["+14155550100", "whatsapp:+14155550199", "messenger:1234"],
    "from": ["+15005550001", "support-line", "MG" + "a" * 32, "whatsapp:+15005550001"],
    "body": ["hi", "", "👋" * 1600, "x" * 1600],
    "mediaUrls": [[], ["https://m.example/a.jpg"], ["https://m.example/a.jpg"] * 10],
    "inReplyTo": [SID],
    "accountSid": ["AC" + "b" * 32],
}
BAD: dict[str, list[Any]] = {
    "idempotencyKey": ["", "a" * 129, "has space", "é", 7, None],
    "to": ["", "14155550100", "+0123", "x", 1],
    "from": ["", "a\nb", "\x7f", []],
    "body": ["x" * 1601, 3, None],
    "mediaUrls": [["http://m.example/a.jpg"], ["https://m.example/a b"], ["https://m"] * 11, "https://m", [1]],
    "inReplyTo": ["", "SM123", SID + "0", 5],
    "accountSid": ["", "AC123", "SK" + "b" * 32],
    "priority": ["high"],  # not a field of the command
}


@st.composite
def commands(draw: st.DrawFn) -> dict[str, Any]:
    """A reply or a direct send, usually valid, with a few fields added, dropped or broken."""
    base = draw(st.sampled_from([("idempotencyKey", "inReplyTo", "body"), ("idempotencyKey", "to", "from", "body")]))
    document = {name: draw(st.sampled_from(GOOD[name])) for name in base}
    for name in draw(st.lists(st.sampled_from(sorted(BAD)), max_size=2)):
        action = draw(st.sampled_from(["add", "drop", "break"]))
        if action == "drop":
            document.pop(name, None)
        elif action == "add" and name in GOOD:
            document[name] = draw(st.sampled_from(GOOD[name]))
        else:
            document[name] = draw(st.sampled_from(BAD[name]))
    return document


def accepted_by_parser(document: Any) -> bool:
    try:
        parse_command(json.dumps(document))
    except MalformedCommand:
        return False
    return True


def accepted_by_client(document: Any) -> bool:
    try:
        SendCommand.model_validate(document)
    except ValidationError:
        return False
    return True


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(commands())
def test_the_schema_the_parser_and_the_client_accept_the_same_commands(document: dict[str, Any]) -> None:
    valid = VALIDATOR.is_valid(document)
    assert accepted_by_parser(document) == valid, document
    assert accepted_by_client(document) == valid, document
    if valid:  # and what the client queues is the command it was given
        assert json.loads(SendCommand.model_validate(document).to_json()) == document


@pytest.mark.parametrize(
    "document",
    [
        {"idempotencyKey": "k", "inReplyTo": SID, "body": "Thanks!"},
        {"idempotencyKey": "k", "to": "+14155550100", "from": "support-line", "body": "hi"},
        {"idempotencyKey": "k", "to": "+14155550100", "from": "+15005550001", "mediaUrls": ["https://m.example/a.jpg"]},
    ],
)
def test_the_readme_examples_are_valid(document: dict[str, Any]) -> None:
    VALIDATOR.validate(document)
    assert accepted_by_parser(document)
    assert accepted_by_client(document)


@pytest.mark.parametrize("text", ["not json", "[]", '"text"', "null", '{"idempotencyKey": "k", "body": "hi"'])
def test_what_is_not_a_json_object_is_malformed(text: str) -> None:
    with pytest.raises(MalformedCommand):
        parse_command(text)
