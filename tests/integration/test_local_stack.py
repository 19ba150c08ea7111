"""`make local` over real HTTP: signed messages in, a subscriber's own queue out."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from devtools.local_process import LocalStackProcess
from devtools.template import load_template
from tests.integration.helpers import LocalStack, receive_events, stored
from twilio_inbound.cloudevent import EVENT_TYPE
from twilio_inbound_cli.send_command import post_signed
from twilio_inbound_cli.signing import FORM_CONTENT_TYPE, TEST_AUTH_TOKEN, encode_form, inbound_form, new_message_sid

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def subscriber(local_stack: LocalStack) -> str:
    """A downstream service's own queue, subscribed to the local topic from the outputs file."""
    return local_stack.subscribe("integration-subscriber", {"eventType": [EVENT_TYPE]})


def test_outputs_file_has_the_templates_outputs(local_stack: LocalStack) -> None:
    # every output but those of a setting off by default (PublishTo's bus: tests/unit/test_eventbridge.py)
    template_outputs = {name for name, spec in load_template()["Outputs"].items() if "Condition" not in spec}
    assert template_outputs <= set(local_stack.outputs)
    assert local_stack.outputs["EmulatorEndpoint"].startswith("http://127.0.0.1:")


def test_messages_are_stored_once_and_delivered_once_intact(local_stack: LocalStack, subscriber: str) -> None:
    forms = [
        inbound_form(body="plain text"),
        inbound_form(body="Ünïcödé — 日本語 — العربية"),
        inbound_form(body="emoji 👩‍👩‍👧 🎉 ✅"),
        inbound_form(body=""),
        inbound_form(
            body="two pictures",
            media=[("https://m.example/1.jpg", "image/jpeg"), ("https://m.example/2.png", "image/png")],
        ),
        inbound_form(body="hola", sender="whatsapp:+14155550199", to="whatsapp:+15005550001"),
        inbound_form(body="  spaces & symbols = + % ? #  "),
    ]
    for form in forms:
        status, content_type, body = post_signed(local_stack.url, form, TEST_AUTH_TOKEN)
        assert status == 200, body
        assert content_type.startswith("text/xml")
        assert "<Response/>" in body

    events = receive_events(local_stack, subscriber, expected=len(forms))

    sent = {dict(form)["MessageSid"]: dict(form) for form in forms}
    assert sorted(event["id"] for event in events) == sorted(sent)  # each exactly once
    for event in events:
        params = sent[event["id"]]
        assert event["data"]["body"] == params["Body"]
        assert event["data"]["from"] == params["From"]
        assert stored(local_stack, event["id"]) is not None
    by_body = {event["data"]["body"]: event["data"] for event in events}
    assert by_body["two pictures"]["channel"] == "mms"
    assert [m["contentType"] for m in by_body["two pictures"]["media"]] == ["image/jpeg", "image/png"]
    assert by_body["hola"]["channel"] == "whatsapp"


def test_repeats_are_stored_and_delivered_once(local_stack: LocalStack, subscriber: str) -> None:
    form = inbound_form(body="sent three times", message_sid=new_message_sid())
    for _ in range(3):
        assert post_signed(local_stack.url, form, TEST_AUTH_TOKEN)[0] == 200
    events = receive_events(local_stack, subscriber, expected=1)
    assert [event["id"] for event in events] == [dict(form)["MessageSid"]]


def test_forged_and_unsigned_requests_get_403_and_are_not_stored(local_stack: LocalStack, subscriber: str) -> None:
    forged = inbound_form(body="forged")
    assert post_signed(local_stack.url, forged, "guessed-token")[0] == 403
    unsigned = inbound_form(body="unsigned")
    request = urllib.request.Request(  # noqa: S310 (loopback URL from the test's own stack)
        local_stack.url,
        data=encode_form(unsigned),
        method="POST",
        headers={"Content-Type": FORM_CONTENT_TYPE},
    )
    with pytest.raises(urllib.error.HTTPError) as rejected:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310
    assert rejected.value.code == 403
    for form in (forged, unsigned):
        assert stored(local_stack, dict(form)["MessageSid"]) is None
    assert receive_events(local_stack, subscriber, expected=0, timeout=2) == []


@pytest.mark.parametrize(("method", "path", "status"), [("GET", "/sms", 405), ("POST", "/other", 404)])
def test_http_answers_like_api_gateway(local_stack: LocalStack, method: str, path: str, status: int) -> None:
    url = local_stack.url.replace("/sms", path)
    request = urllib.request.Request(url, method=method)  # noqa: S310
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310
    assert answer.value.code == status


def test_a_taken_port_gives_a_clear_error(local_stack: LocalStack, tmp_path: Path) -> None:
    taken = int(local_stack.url.rsplit(":", 1)[1].split("/")[0])
    process = LocalStackProcess(tmp_path, port=taken)
    assert process.process.wait(timeout=60) == 2
    output = process.log().strip().splitlines()
    assert output == [f"error: webhook port 127.0.0.1:{taken} is already in use (choose another with --help)"]


def test_delivery_goes_on_after_a_repeated_opt_out(local_stack: LocalStack) -> None:
    # GIVEN a subscriber of its own (received events only) and a STOP Twilio delivers twice, then START twice
    queue = local_stack.subscribe("opt-out-repeats", {"eventType": [EVENT_TYPE]})
    sender = "+14155550142"
    sent = []
    for body in ("STOP", "START"):
        sid = new_message_sid()
        for _ in range(2):  # the repeat cancels a transaction in the emulator, which then replaces the stream
            assert (
                post_signed(local_stack.url, inbound_form(body=body, sender=sender, message_sid=sid), TEST_AUTH_TOKEN)[
                    0
                ]
                == 200
            )
        sent.append(sid)
    # WHEN 20 ordinary messages follow
    for index in range(20):
        sid = new_message_sid()
        assert (
            post_signed(
                local_stack.url, inbound_form(body=f"after {index}", sender=sender, message_sid=sid), TEST_AUTH_TOKEN
            )[0]
            == 200
        )
        sent.append(sid)
    # THEN sent = stored = delivered, each once
    events = receive_events(local_stack, queue, expected=len(sent))
    delivered = [event["id"] for event in events]
    assert all(stored(local_stack, sid) for sid in sent)
    assert sorted(delivered) == sorted(sent), f"sent={len(sent)} delivered={len(delivered)}"


def test_the_terminal_shows_what_happened_and_no_metric_lines(local_stack: LocalStack) -> None:
    # GIVEN a stack that is not --verbose, WHEN a message goes through the webhook, the fanout and the consumer
    sid = new_message_sid()
    assert post_signed(local_stack.url, inbound_form(body="quiet please", message_sid=sid), TEST_AUTH_TOKEN)[0] == 200
    deadline = time.monotonic() + 30
    while f"delivered {sid}" not in local_stack.process.log() and time.monotonic() < deadline:
        time.sleep(0.2)
    # THEN its line is printed, and no CloudWatch metric line (EMF) from any function's cold start
    log = local_stack.process.log()
    assert f"delivered {sid}" in log, log[-2000:]
    assert [line for line in log.splitlines() if line.startswith('{"_aws"')] == []
