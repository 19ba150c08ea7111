"""The send command's definitions agree: schemas/send-command.v1.json (for services), parse_command (what the sender
enforces, without a schema library) and the subscribers' package's SendCommand (generated from the schema, plus the
rule of which fields go together). Generated commands, valid and broken, are accepted by all or by none."""

from __future__ import annotations

import hashlib
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
TEMPLATE = "HX" + "0123456789abcdef" * 2


GOOD: dict[str, list[Any]] = {
    "idempotencyKey": ["k", "order-4521:shipped", "a" * 128, "x.y_z"],
    "to": [
        "+14155550100",
        "whatsapp:+14155550199",
        "messenger:1234",
        "whatsapp:US.13491208655302741918",  # a WhatsApp business-scoped user ID
        "whatsapp:US.ENT." + "1" * 128,  # a parent one, at its longest
        "rcs:+14155550100",
    ],
    "from": ["+15005550001", "support-line", "MG" + "a" * 32, "whatsapp:+15005550001"],
    "body": ["hi", "", "👋" * 1600, "x" * 1600],
    "mediaUrls": [[], ["https://m.example/a.jpg"], ["https://m.example/a.jpg"] * 10],
    "inReplyTo": [SID],
    "accountSid": ["AC" + "b" * 32],
    "contentSid": [TEMPLATE],
    "contentVariables": [{}, {"1": "12/1", "2": "3pm"}, {"name": ""}, {str(n): "x" * 1024 for n in range(100)}],
}
BAD: dict[str, list[Any]] = {
    "idempotencyKey": ["", "a" * 129, "has space", "é", 7, None],
    "to": ["", "14155550100", "+0123", "x", 1],
    "from": ["", "a\nb", "\x7f", []],
    "body": ["x" * 1601, 3, None],
    "mediaUrls": [["http://m.example/a.jpg"], ["https://m.example/a b"], ["https://m"] * 11, "https://m", [1]],
    "inReplyTo": ["", "SM123", SID + "0", 5],
    "accountSid": ["", "AC123", "SK" + "b" * 32],
    "contentSid": ["", "HX123", "MG" + "0" * 32, 1],
    "contentVariables": [[], "{}", {"1": 2}, {"a b": "x"}, {"1": "x" * 1025}, {str(n): "" for n in range(101)}],
    "priority": ["high"],  # not a field of the command
}


@st.composite
def commands(draw: st.DrawFn) -> dict[str, Any]:
    """A reply or a direct send, usually valid, with a few fields added, dropped or broken."""
    base = draw(
        st.sampled_from(
            [
                ("idempotencyKey", "inReplyTo", "body"),
                ("idempotencyKey", "to", "from", "body"),
                ("idempotencyKey", "to", "from", "contentSid", "contentVariables"),
                ("idempotencyKey", "inReplyTo", "contentSid"),
            ]
        )
    )
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
        {
            "idempotencyKey": "appointment-4521:reminder",
            "to": "whatsapp:+14155550100",
            "from": "support-whatsapp",
            "contentSid": TEMPLATE,
            "contentVariables": {"1": "12/1", "2": "3pm"},
        },
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


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"contentSid": TEMPLATE, "body": "hi"}, "leave out body and mediaUrls"),
        ({"contentSid": TEMPLATE, "mediaUrls": ["https://m.example/a.jpg"]}, "leave out body and mediaUrls"),
        ({"body": "hi", "contentVariables": {"1": "x"}}, "contentVariables needs contentSid"),
        ({"contentSid": TEMPLATE, "contentVariables": {"1": 2}}, "contentVariables must be an object of strings"),
    ],
)
def test_a_template_goes_alone_and_its_variables_with_it(document: dict[str, Any], reason: str) -> None:
    command = {"idempotencyKey": "k", "inReplyTo": SID, **document}
    with pytest.raises(MalformedCommand, match=reason):
        parse_command(json.dumps(command))
    assert not VALIDATOR.is_valid(command)
    assert not accepted_by_client(command)


def test_a_template_changes_the_fingerprint_and_a_plain_command_keeps_its_own() -> None:
    plain = parse_command(json.dumps({"idempotencyKey": "k", "inReplyTo": SID, "body": "hi"}))
    # the fingerprint of a command without a template, as it was computed before templates existed
    before = hashlib.sha256(json.dumps(["", "", "hi", [], SID, ""], separators=(",", ":")).encode()).hexdigest()
    assert plain.fingerprint() == before
    one = parse_command(json.dumps({"idempotencyKey": "k", "inReplyTo": SID, "contentSid": TEMPLATE}))
    other = parse_command(
        json.dumps({"idempotencyKey": "k", "inReplyTo": SID, "contentSid": TEMPLATE, "contentVariables": {"1": "x"}})
    )
    assert len({plain.fingerprint(), one.fingerprint(), other.fingerprint()}) == 3
