"""What is generated from schemas/ is what the pinned generators make of it today, and it holds what the stack
publishes: the client package's models, the TypeScript types (compiled against real events) and the schema
registry's Draft 4 documents (every event on the bus valid, and the same events invalid as under 2020-12)."""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest

from devtools import codegen
from devtools.template import Stack, load_template
from tests import published_events
from tests.unit.stack_events import bodies, bus_subscriber, publish_one_of_each

TSC = codegen.TYPESCRIPT / "node_modules" / ".bin" / "tsc"


def test_regenerating_from_the_schemas_changes_nothing() -> None:
    assert codegen.differences() == [], "run `make generate` and commit what it writes"


@pytest.fixture(scope="module")
def on_the_bus() -> list[dict[str, Any]]:
    """One event of each type as it arrives on the stack's bus (PublishTo=SnsAndEventBridge), whole."""
    from moto import mock_aws

    with mock_aws():
        stack = Stack(boto3.session.Session(region_name="us-east-1"), parameters={"PublishTo": "SnsAndEventBridge"})
        stack.provision()
        read = bus_subscriber(stack, "registry-check")
        publish_one_of_each(stack)
        events = [json.loads(body) for body in bodies(read())]
    assert len({event["detail-type"] for event in events}) == len(codegen.EVENT_SHAPES)
    return events


def _shape(event: dict[str, Any]) -> codegen.Shape:
    (shape,) = [
        s for s in codegen.EVENT_SHAPES if codegen.load_schema(s)["properties"]["type"]["const"] == event["detail-type"]
    ]
    return shape


def _broken(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The event made invalid in ways each keyword the conversion touches would catch."""
    variants = []
    changes: tuple[Callable[[dict[str, Any]], Any], ...] = (
        lambda e: e["detail"].update(specversion="0.3"),  # const
        lambda e: e["detail"]["data"].update(messageSid="SM123"),  # a $ref into $defs
        lambda e: e["detail"]["data"].update(extra=1),  # additionalProperties: false
        lambda e: e["detail"].pop("time"),  # required
        lambda e: e.update(source="someone-else"),  # the envelope's source
    )
    for change in changes:
        variant = copy.deepcopy(event)
        change(variant)
        variants.append(variant)
    return variants


def test_the_registry_documents_are_draft_4_and_hold_every_event_on_the_bus(on_the_bus: list[dict[str, Any]]) -> None:
    for event in on_the_bus:
        shape = _shape(event)
        document = codegen.registry_document(shape)
        jsonschema.Draft4Validator.check_schema(document)
        draft4 = jsonschema.Draft4Validator(document)
        assert draft4.is_valid(event), list(draft4.iter_errors(event))
        original = jsonschema.Draft202012Validator(codegen.load_schema(shape))
        assert original.is_valid(event["detail"])
        for variant in _broken(event):
            assert not draft4.is_valid(variant)
            assert original.is_valid(variant["detail"]) == (variant["source"] != "twilio-inbound")  # the same verdict


def test_the_template_registers_each_event_s_document() -> None:
    resources = load_template()["Resources"]
    for shape in codegen.EVENT_SHAPES:
        properties = resources[codegen.schema_resource(shape)]["Properties"]
        assert properties["Type"] == "JSONSchemaDraft4"
        assert properties["SchemaName"] == codegen.load_schema(shape)["properties"]["type"]["const"]
        assert json.loads(properties["Content"]) == codegen.registry_document(shape)


def test_the_typescript_types_compile_and_hold_every_published_event(
    on_the_bus: list[dict[str, Any]], tmp_path: Path
) -> None:
    index = (codegen.TYPESCRIPT / "index").as_posix()
    lines = [f'import type {{ MediaArchived, MessageReceived, MessageStatus, SendCommand }} from "{index}";']
    for number, event in enumerate(on_the_bus):
        lines.append(f"export const event{number}: {_shape(event).name} = {json.dumps(event['detail'])};")
    lines.append('export const reply: SendCommand = {idempotencyKey: "k", inReplyTo: "SM1", body: "Thanks"};')
    lines.append('// @ts-expect-error a reply takes no "to": the command type says so')
    lines.append('export const wrong: SendCommand = {idempotencyKey: "k", inReplyTo: "SM1", to: "+1", body: "x"};')
    check = tmp_path / "check.ts"
    check.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = subprocess.run(
        [str(TSC), "--noEmit", "--strict", "--target", "ES2022", str(check)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_event_the_client_cannot_parse_fails_the_test_that_published_it(stack: Stack) -> None:
    # The check every test runs (tests/published_events.py), shown at work on a message the package refuses.
    topic = stack.physical["MessagesTopic"]["Ref"]
    seen = sum(published_events.SEEN.values())
    stack.session.client("sns").publish(TopicArn=topic, Message=json.dumps({"specversion": "1.0", "type": "x"}))
    failures, published_events.FAILURES[:] = list(published_events.FAILURES), []
    assert len(failures) == 1
    assert "does not parse with twilio_inbound_client" in failures[0]
    publish_one_of_each(stack)
    assert sum(published_events.SEEN.values()) == seen + 3
