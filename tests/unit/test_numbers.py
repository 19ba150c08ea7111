"""Numbers as entry points: registry, routing, enable/disable, replies, keywords, opt-outs, the CLI."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from devtools.lambda_runtime import Invoke
from devtools.template import Stack
from tests.unit.helpers import drain, publish_stream, signed_event, subscribe_queue
from twilio_inbound.numbers import (
    MAX_REPLY_CHARS,
    InvalidNumberConfig,
    Keyword,
    NumberConfig,
    classify,
)
from twilio_inbound.numbers_table import NumberRegistry
from twilio_inbound.opt_outs_table import OptOutStore
from twilio_inbound_cli.signing import inbound_form, new_message_sid

SUPPORT = "+15005550001"
SENDER = "+14155550100"


@pytest.fixture
def registry(stack: Stack) -> NumberRegistry:
    return NumberRegistry(stack.session.client("dynamodb"), stack.physical["NumbersTable"]["Ref"])


@pytest.fixture
def optouts(stack: Stack) -> OptOutStore:
    return OptOutStore(stack.session.client("dynamodb"), stack.physical["OptOutsTable"]["Ref"])


def reply_of(response: dict[str, Any]) -> str | None:
    """The <Message> text of a TwiML answer (None for an empty <Response/>), parsing it as XML."""
    assert response["statusCode"] == 200, response
    root = ET.fromstring(response["body"])  # noqa: S314 (our own answer, in a test)
    assert root.tag == "Response"
    message = root.find("Message")
    return None if message is None else (message.text or "")


def send(ingest: Invoke, body: str, sender: str = SENDER, to: str = SUPPORT, **extra: str) -> dict[str, Any]:
    form = inbound_form(body=body, sender=sender, to=to, extra=list(extra.items()))
    response: dict[str, Any] = ingest(signed_event(form))
    return response


# ---------------------------------------------------------------- keywords
@pytest.mark.parametrize(
    ("body", "twilio_type", "expected"),
    [
        ("STOP", "", Keyword("STOP", "STOP")),
        ("  unsubscribe \n", "", Keyword("STOP", "UNSUBSCRIBE")),
        ("Quit", "", Keyword("STOP", "QUIT")),
        ("stopall", "", Keyword("STOP", "STOPALL")),
        ("start", "", Keyword("START", "START")),
        ("Unstop", "", Keyword("START", "UNSTOP")),
        ("yes", "", Keyword("START", "YES")),
        ("info", "", Keyword("HELP", "INFO")),
        ("please stop texting me", "", Keyword("", "")),
        ("arrêt", "STOP", Keyword("STOP", "")),  # Twilio's Advanced Opt-Out decided (a localized keyword)
        ("hours", "", Keyword("", "")),
    ],
)
def test_standard_keywords_are_recognized(body: str, twilio_type: str, expected: Keyword) -> None:
    assert classify(body, twilio_type) == expected


def test_configured_keywords_are_recognized() -> None:
    assert classify(" Hours ", "", frozenset({"HOURS"})) == Keyword("", "HOURS")


@pytest.mark.parametrize(
    "config",
    [
        NumberConfig("15005550001"),
        NumberConfig(SUPPORT, keywords={"STOP": "bye"}),
        NumberConfig(SUPPORT, keywords={"two words": "x"}),
        NumberConfig(SUPPORT, auto_reply="x" * (MAX_REPLY_CHARS + 1)),
    ],
)
def test_invalid_registrations_are_refused(config: NumberConfig) -> None:
    with pytest.raises(InvalidNumberConfig):
        config.validate()


# ---------------------------------------------------------------- routing and enable/disable
def test_events_carry_the_entry_point_and_subscribers_filter_on_it(
    stack: Stack, ingest: Invoke, registry: NumberRegistry, optouts: OptOutStore
) -> None:
    # GIVEN a support line and a paging line, and a team subscribed to the paging route only
    registry.put(NumberConfig(SUPPORT, name="support-line", route_key="support", tags=("tier1",), language="en"))
    registry.put(NumberConfig("+15005550002", name="paging-line", route_key="paging"))
    paging_team = subscribe_queue(stack, "paging-team", {"routeKey": ["paging"]})
    everyone = subscribe_queue(stack, "everyone")
    # WHEN messages arrive on both lines and on an unregistered number
    send(ingest, "printer on fire", to=SUPPORT)
    send(ingest, "db down", to="+15005550002")
    send(ingest, "who is this", to="+15005550003")
    publish_stream(stack, optouts)
    # THEN the paging team gets only its line's message, with the entry point in the event
    (paged,) = drain(stack, paging_team)
    assert paged["event"]["data"]["body"] == "db down"
    assert paged["event"]["data"]["entryPoint"]["name"] == "paging-line"
    assert paged["attributes"]["numberName"]["StringValue"] == "paging-line"
    all_events = {item["event"]["data"]["body"]: item for item in drain(stack, everyone)}
    assert all_events["printer on fire"]["event"]["data"]["entryPoint"] == {
        "number": SUPPORT,
        "name": "support-line",
        "routeKey": "support",
        "tags": ["tier1"],
        "language": "en",
    }
    assert all_events["who is this"]["event"]["data"]["entryPoint"] is None  # accepted by default
    assert "routeKey" not in all_events["who is this"]["attributes"]


def test_a_disabled_number_records_but_does_not_publish_or_reply(
    stack: Stack, ingest: Invoke, registry: NumberRegistry, optouts: OptOutStore, table_items: Any
) -> None:
    registry.put(NumberConfig(SUPPORT, name="support-line", enabled=False, auto_reply="We got it"))
    queue = subscribe_queue(stack)
    assert reply_of(send(ingest, "anyone there?")) is None
    publish_stream(stack, optouts)
    (item,) = table_items()
    assert item["delivered"] is False
    assert item["body"] == "anyone there?"
    assert drain(stack, queue) == []


def test_messaging_service_registration_applies_to_its_numbers(ingest: Invoke, registry: NumberRegistry) -> None:
    service = "MG" + "a" * 32
    registry.put(NumberConfig(service, name="brand", auto_reply="Thanks from Brand"))
    assert reply_of(send(ingest, "hi", MessagingServiceSid=service)) == "Thanks from Brand"


def test_unknown_numbers_can_be_rejected(
    stack: Stack, ingest: Invoke, table_items: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingest import handler as ingest_handler
    from ingest.intake import NumberNotRegistered
    from tests.unit.helpers import ingest_settings, make_intake
    from twilio_inbound.secrets import WebhookSecrets
    from twilio_inbound_cli.signing import TEST_AUTH_TOKEN

    intake = make_intake(
        stack, ingest_settings(stack, unknown_number_policy="reject"), lambda: WebhookSecrets.of_tokens(TEST_AUTH_TOKEN)
    )
    event = signed_event(inbound_form(to="+15005550009"))
    with pytest.raises(NumberNotRegistered):
        intake.receive(event)
    monkeypatch.setattr(ingest_handler, "intake", intake)
    response = ingest(event)
    assert response["statusCode"] == 404
    assert response["body"] == "number is not registered\n"
    assert table_items() == []


def test_registry_cache_expires(stack: Stack) -> None:
    now = [1000.0]
    client = stack.session.client("dynamodb")
    table = stack.physical["NumbersTable"]["Ref"]
    cached = NumberRegistry(client, table, ttl=60, clock=lambda: now[0])
    writer = NumberRegistry(client, table)
    assert cached.lookup(SUPPORT) is None
    writer.put(NumberConfig(SUPPORT, name="support-line"))
    now[0] += 59
    assert cached.lookup(SUPPORT) is None  # still the cached answer
    now[0] += 2
    config = cached.lookup(SUPPORT)
    assert config is not None
    assert config.name == "support-line"
    writer.put(NumberConfig(SUPPORT, name="renamed"))
    assert cached.lookup(SUPPORT).name == "support-line"  # type: ignore[union-attr]
    now[0] += 61
    assert cached.lookup(SUPPORT).name == "renamed"  # type: ignore[union-attr]


# ---------------------------------------------------------------- replies
def test_auto_reply_and_keyword_replies(ingest: Invoke, registry: NumberRegistry) -> None:
    registry.put(
        NumberConfig(
            SUPPORT,
            auto_reply="Thanks, we will answer soon.",
            keywords={"HOURS": "Mon-Fri 9-17", "HELP": "Call 555-0100"},
        )
    )
    assert reply_of(send(ingest, "my order is late")) == "Thanks, we will answer soon."
    assert reply_of(send(ingest, "  hours ")) == "Mon-Fri 9-17"
    assert reply_of(send(ingest, "INFO")) == "Call 555-0100"  # the HELP family answers with HELP's text


def test_replies_are_escaped_and_well_formed(ingest: Invoke, registry: NumberRegistry) -> None:
    text = "Tom & Jerry <b>\"quoted\"</b> 'single' ]]> 👋"
    registry.put(NumberConfig(SUPPORT, auto_reply=text))
    response = send(ingest, "hi")
    assert "<b>" not in response["body"]
    assert reply_of(response) == text


def test_overlong_reply_is_cut_to_twilios_limit(stack: Stack, ingest: Invoke) -> None:
    # written around the CLI's validation, straight into the table
    stack.session.client("dynamodb").put_item(
        TableName=stack.physical["NumbersTable"]["Ref"],
        Item={"number": {"S": SUPPORT}, "entry": {"S": "config"}, "autoReply": {"S": "x" * 5000}},
    )
    assert reply_of(send(ingest, "hi")) == "x" * MAX_REPLY_CHARS


def test_repeat_delivery_gets_the_same_reply(ingest: Invoke, registry: NumberRegistry) -> None:
    registry.put(NumberConfig(SUPPORT, auto_reply="Got it"))
    form = inbound_form(body="hello", sender=SENDER, to=SUPPORT, message_sid=new_message_sid())
    first, again = ingest(signed_event(form)), ingest(signed_event(form))
    assert reply_of(first) == reply_of(again) == "Got it"


# ---------------------------------------------------------------- opt-outs
def test_opt_out_then_opt_in_sequence(
    stack: Stack, ingest: Invoke, registry: NumberRegistry, optouts: OptOutStore
) -> None:
    registry.put(NumberConfig(SUPPORT, auto_reply="Thanks!", keywords={"HELP": "Reply STOP to stop"}))
    compliance = subscribe_queue(stack, "compliance")

    assert reply_of(send(ingest, "hello")) == "Thanks!"
    assert reply_of(send(ingest, " Stop ")) is None  # Twilio confirms opt-outs itself
    assert optouts.is_opted_out(SUPPORT, SENDER)
    assert reply_of(send(ingest, "hello again")) is None  # never reply to an opted-out sender
    assert reply_of(send(ingest, "help")) is None
    assert not optouts.is_opted_out(SUPPORT, "+14155550999")  # per sender
    assert not optouts.is_opted_out("+15005550002", SENDER)  # and per number
    publish_stream(stack, optouts)
    opted_out_events = {item["event"]["data"]["body"]: item["event"]["data"] for item in drain(stack, compliance)}
    assert opted_out_events["hello again"]["optedOut"] is True
    assert opted_out_events[" Stop "]["optOutType"] == "STOP"

    assert reply_of(send(ingest, "START")) is None
    assert not optouts.is_opted_out(SUPPORT, SENDER)
    assert reply_of(send(ingest, "back again")) == "Thanks!"
    publish_stream(stack, optouts)
    later = {item["event"]["data"]["body"]: item["event"]["data"] for item in drain(stack, compliance)}
    assert later["back again"]["optedOut"] is False


def test_twilios_opt_out_type_is_honoured(ingest: Invoke, optouts: OptOutStore) -> None:
    send(ingest, "ARRET", OptOutType="STOP")
    assert optouts.is_opted_out(SUPPORT, SENDER)


def test_a_late_repeat_of_stop_does_not_undo_a_later_start(ingest: Invoke, optouts: OptOutStore) -> None:
    stop = inbound_form(body="STOP", sender=SENDER, to=SUPPORT, message_sid=new_message_sid())
    ingest(signed_event(stop))
    send(ingest, "START")
    ingest(signed_event(stop))  # Twilio's retry of the STOP, after the START
    assert not optouts.is_opted_out(SUPPORT, SENDER)


def test_subscribers_can_filter_on_opt_out_state_in_the_body(
    stack: Stack, ingest: Invoke, optouts: OptOutStore
) -> None:
    sqs, sns = stack.session.client("sqs"), stack.session.client("sns")
    url = sqs.create_queue(QueueName="opted-out-only")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=stack.physical["MessagesTopic"]["Ref"],
        Protocol="sqs",
        Endpoint=arn,
        Attributes={
            "RawMessageDelivery": "true",
            "FilterPolicyScope": "MessageBody",
            "FilterPolicy": json.dumps({"data": {"optedOut": [True]}}),
        },
    )
    send(ingest, "STOP")
    send(ingest, "still here", sender="+14155550111")
    publish_stream(stack, optouts)
    assert [item["event"]["data"]["body"] for item in drain(stack, url)] == ["STOP"]


# ---------------------------------------------------------------- the CLI
def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    from twilio_inbound_cli.main import main

    code = main(list(argv))
    return code, capsys.readouterr().out


def test_cli_manages_numbers(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from twilio_inbound_cli.target import Target

    # GIVEN the CLI pointed at the (moto) stack through an outputs file, as `make local` writes it
    outputs = {**stack.outputs(), "Region": "us-east-1", "EmulatorEndpoint": ""}
    (tmp_path / "outputs.json").write_text(json.dumps(outputs))
    monkeypatch.setenv("TWILIO_INBOUND_OUTPUTS", str(tmp_path / "outputs.json"))
    monkeypatch.setattr(Target, "client", lambda self, service: stack.session.client(service))
    registry = NumberRegistry(stack.session.client("dynamodb"), stack.physical["NumbersTable"]["Ref"])

    code, out = run_cli(
        capsys, "numbers", "add", SUPPORT, "--name", "support-line", "--route-key", "support",
        "--tag", "tier1", "--auto-reply", "Thanks", "--keyword", "hours=Mon-Fri", "--language", "en",
    )  # fmt: skip
    assert code == 0, out
    assert json.loads(out)["name"] == "support-line"
    assert run_cli(capsys, "numbers", "add", SUPPORT, "--name", "again")[0] == 2  # already there

    assert (
        run_cli(capsys, "numbers", "update", SUPPORT, "--route-key", "help-desk", "--remove-keyword", "HOURS")[0] == 0
    )
    config = registry.get(SUPPORT)
    assert config is not None
    assert (config.name, config.route_key, config.keywords, config.tags) == (
        "support-line",
        "help-desk",
        {},
        ("tier1",),
    )

    assert run_cli(capsys, "numbers", "disable", SUPPORT)[0] == 0
    assert registry.get(SUPPORT).enabled is False  # type: ignore[union-attr]
    assert run_cli(capsys, "numbers", "enable", SUPPORT)[0] == 0
    assert registry.get(SUPPORT).enabled is True  # type: ignore[union-attr]

    assert run_cli(capsys, "numbers", "add", "whatsapp:+15005550009", "--keyword", "STOP=bye")[0] == 2  # invalid
    code, out = run_cli(capsys, "numbers", "list")
    assert [json.loads(line)["number"] for line in out.splitlines()] == [SUPPORT]

    assert run_cli(capsys, "numbers", "remove", SUPPORT)[0] == 0
    assert registry.get(SUPPORT) is None
    assert run_cli(capsys, "numbers", "remove", SUPPORT)[0] == 2
    assert run_cli(capsys, "numbers", "update", SUPPORT, "--name", "x")[0] == 2


def test_the_cli_finds_the_running_local_stack_from_any_folder_of_the_checkout(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from twilio_inbound_cli.target import Target

    # GIVEN make local's outputs file in the checkout, and a developer in one of its folders (docs/, say)
    outputs = {**stack.outputs(), "Region": "us-east-1", "EmulatorEndpoint": ""}
    (tmp_path / ".local").mkdir()
    (tmp_path / ".local" / "stack-outputs.json").write_text(json.dumps(outputs))
    (tmp_path / "docs" / "guides").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "docs" / "guides")
    monkeypatch.delenv("TWILIO_INBOUND_OUTPUTS", raising=False)
    monkeypatch.setattr(Target, "client", lambda self, service: stack.session.client(service))
    # WHEN they run a command with no --stack-name: it talks to the running local stack
    assert run_cli(capsys, "numbers", "add", SUPPORT, "--name", "support-line")[0] == 0
    assert NumberRegistry(stack.session.client("dynamodb"), stack.physical["NumbersTable"]["Ref"]).get(SUPPORT)
    # AND outside any checkout it says no local stack is running
    monkeypatch.chdir(tmp_path.parent)
    with pytest.raises(SystemExit) as exited:
        run_cli(capsys, "numbers", "list")
    assert "no local stack is running" in str(exited.value.code)
