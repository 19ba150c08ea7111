"""The webhook as Twilio sees it: what it answers, and what ends up stored."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from devtools.apigw import http_api_event, rest_api_url
from devtools.lambda_runtime import Invoke
from devtools.template import Stack
from ingest.settings import IngestSettings
from tests.unit.helpers import (
    event_files,
    ingest_settings,
    load_event,
    make_intake,
    put_twilio_secret,
    signed_event,
)
from twilio_inbound.secret_source import SecretSource
from twilio_inbound.secrets import WebhookSecrets
from twilio_inbound_cli.signing import (
    FORM_CONTENT_TYPE,
    TEST_AUTH_TOKEN,
    TEST_WEBHOOK_URL,
    encode_form,
    inbound_form,
    new_message_sid,
    signature,
)

Items = Callable[[], list[dict[str, Any]]]


def assert_twiml_ok(response: dict[str, Any]) -> None:
    assert response["statusCode"] == 200, response
    assert response["headers"]["Content-Type"].startswith("text/xml")
    assert response["body"].endswith("<Response/>")


def assert_rejected(response: dict[str, Any], status: int, reason: str) -> None:
    assert response["statusCode"] == status, response
    assert response["headers"]["Content-Type"].startswith("text/plain")
    assert reason in response["body"]


# ---------------------------------------------------------------- the shipped events work as documented
INBOUND_EVENTS = event_files("http-api-") + event_files("rest-api-")


@pytest.mark.parametrize("path", INBOUND_EVENTS, ids=lambda p: p.stem)
def test_every_shipped_event_is_accepted_and_stored(ingest: Invoke, table_items: Items, path: Any) -> None:
    # GIVEN an event from events/, signed with the documented test token
    event = load_event(path.name)
    # WHEN it reaches the function
    response = ingest(event)
    # THEN Twilio gets empty TwiML and the message is stored
    assert_twiml_ok(response)
    assert len(table_items()) == 1


def test_stored_record_keeps_every_parameter_and_normalizes_fields(ingest: Invoke, table_items: Items) -> None:
    pairs = inbound_form(
        body="Photos 📷 attached",
        sender="+14155550100",
        to="+15005550001",
        media=[("https://media.example/1", "image/jpeg"), ("https://media.example/2", "image/png")],
        extra=[("FutureParameter", "added by Twilio later"), ("MessagingServiceSid", "MG" + "1" * 32)],
    )
    assert_twiml_ok(ingest(signed_event(pairs)))

    (item,) = table_items()
    sent = dict(pairs)
    assert item["messageSid"] == sent["MessageSid"]
    assert item["from"] == "+14155550100"
    assert item["to"] == "+15005550001"
    assert item["body"] == "Photos 📷 attached"
    assert item["channel"] == "mms"
    assert item["numMedia"] == 2
    assert item["numSegments"] == 1
    assert item["messagingServiceSid"] == "MG" + "1" * 32
    assert item["media"] == [
        {"url": "https://media.example/1", "contentType": "image/jpeg"},
        {"url": "https://media.example/2", "contentType": "image/png"},
    ]
    assert item["fromCity"] == "SAN FRANCISCO"
    assert item["toCountry"] == "US"
    assert item["parameters"] == sent  # verbatim, unknown parameters included
    assert item["conversation"] == "+15005550001|+14155550100"
    received = datetime.fromisoformat(item["receivedAt"].replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - received).total_seconds()) < 60
    assert item["receivedAt"].endswith("Z")
    assert "expiresAt" not in item  # no retention configured: kept forever


def test_whatsapp_and_opt_out_are_recognized(ingest: Invoke, table_items: Items) -> None:
    ingest(signed_event(inbound_form(body="hola", sender="whatsapp:+14155550199", to="whatsapp:+15005550001")))
    ingest(signed_event(inbound_form(body="stop", extra=[("OptOutType", "STOP")])))
    by_body = {item["body"]: item for item in table_items()}
    assert by_body["hola"]["channel"] == "whatsapp"
    assert by_body["hola"]["parameters"]["ProfileName"] == "Test User"
    assert by_body["stop"]["optOutType"] == "STOP"
    assert by_body["stop"]["channel"] == "sms"


def test_repeat_delivery_is_acknowledged_and_stored_once(ingest: Invoke, table_items: Items) -> None:
    event = load_event("http-api-sms.json")
    assert_twiml_ok(ingest(event))
    # Twilio's retry carries the same MessageSid (the body could even differ): still one record
    assert_twiml_ok(ingest(load_event("http-api-repeat.json")))
    assert_twiml_ok(ingest(event))
    items = table_items()
    assert len(items) == 1
    assert items[0]["body"] == "Hi! Is my order 4521 on its way? 📦"


def test_blank_values_and_repeated_keys_are_kept_and_verified(ingest: Invoke, table_items: Items) -> None:
    pairs = inbound_form(body="", extra=[("Tag", "a"), ("Tag", "b"), ("Empty", "")])
    assert_twiml_ok(ingest(signed_event(pairs)))
    (item,) = table_items()
    assert item["body"] == ""
    assert item["parameters"]["Tag"] == ["a", "b"]
    assert item["parameters"]["Empty"] == ""


def test_unicode_bodies_are_verified_and_stored_intact(ingest: Invoke, table_items: Items) -> None:
    body = "Ünïcödé ✓ 日本語 👩‍👩‍👧 & = + % ?"
    assert_twiml_ok(ingest(signed_event(inbound_form(body=body))))
    assert table_items()[0]["body"] == body


# ---------------------------------------------------------------- signature: fail closed
def test_forged_signature_is_rejected_and_nothing_stored(ingest: Invoke, table_items: Items) -> None:
    response = ingest(signed_event(inbound_form(), token="not-the-token"))
    assert_rejected(response, 403, "invalid signature")
    assert table_items() == []


def test_missing_signature_is_rejected(ingest: Invoke, table_items: Items) -> None:
    event = http_api_event("POST", TEST_WEBHOOK_URL, {"Content-Type": FORM_CONTENT_TYPE}, encode_form(inbound_form()))
    assert_rejected(ingest(event), 403, "missing X-Twilio-Signature")
    assert table_items() == []


def test_tampered_body_is_rejected(ingest: Invoke, table_items: Items) -> None:
    pairs = inbound_form(body="pay 10")
    event = signed_event(pairs)
    tampered = [(name, "pay 1000" if name == "Body" else value) for name, value in pairs]
    event["body"] = base64.b64encode(encode_form(tampered)).decode()
    assert_rejected(ingest(event), 403, "invalid signature")
    assert table_items() == []


def test_signature_for_another_url_is_rejected(ingest: Invoke, table_items: Items) -> None:
    event = signed_event(inbound_form(), signed_url="https://attacker.example/sms")
    assert_rejected(ingest(event), 403, "invalid signature")
    assert table_items() == []


def test_query_string_is_covered_as_sent(ingest: Invoke, table_items: Items) -> None:
    url = TEST_WEBHOOK_URL + "?tenant=acme%20corp&route=a&route=b&flag"
    assert_twiml_ok(ingest(signed_event(inbound_form(), url=url)))
    assert_rejected(
        ingest(signed_event(inbound_form(), url=url, signed_url=TEST_WEBHOOK_URL + "?tenant=other")), 403, "invalid"
    )
    assert len(table_items()) == 1


def test_signature_with_explicit_default_port_is_accepted(ingest: Invoke) -> None:
    # Twilio sometimes signs https://host:443/path; RequestValidator tries both forms
    signed = TEST_WEBHOOK_URL.replace(".com/", ".com:443/")
    assert_twiml_ok(ingest(signed_event(inbound_form(), signed_url=signed)))


def test_plain_and_base64_bodies_are_both_verified(ingest: Invoke, table_items: Items) -> None:
    # payload 1.0 sends the form as text, payload 2.0 base64-encodes it
    assert_twiml_ok(ingest(signed_event(inbound_form(), url=rest_api_url(TEST_WEBHOOK_URL), version="1.0")))
    assert_twiml_ok(ingest(signed_event(inbound_form(), version="2.0")))
    assert len(table_items()) == 2


def test_forwarded_scheme_is_used(ingest: Invoke) -> None:
    http_url = TEST_WEBHOOK_URL.replace("https://", "http://")
    event = signed_event(inbound_form(), url=http_url)
    assert event["headers"]["x-forwarded-proto"] == "http"
    assert_twiml_ok(ingest(event))


def _receive(stack: Stack, event: dict[str, Any], settings: IngestSettings, tokens: tuple[str, ...]) -> bool:
    return make_intake(stack, settings, lambda: WebhookSecrets.of_tokens(*tokens)).receive(event).stored


def test_rotation_accepts_primary_and_secondary_only(stack: Stack) -> None:
    settings = ingest_settings(stack)
    tokens = ("new-primary-token", "old-secondary-token")
    assert _receive(stack, signed_event(inbound_form(), token="new-primary-token"), settings, tokens)
    assert _receive(stack, signed_event(inbound_form(), token="old-secondary-token"), settings, tokens)
    with pytest.raises(Exception, match="invalid signature"):
        _receive(stack, signed_event(inbound_form(), token="retired-token"), settings, tokens)


def test_public_base_url_overrides_reconstruction(stack: Stack) -> None:
    settings = ingest_settings(stack, public_base_url="https://hooks.example.com/")
    public = "https://hooks.example.com/sms"
    assert _receive(stack, signed_event(inbound_form(), signed_url=public), settings, (TEST_AUTH_TOKEN,))
    with pytest.raises(Exception, match="invalid signature"):
        _receive(stack, signed_event(inbound_form()), settings, (TEST_AUTH_TOKEN,))


def test_retention_sets_expiry(stack: Stack, table_items: Items) -> None:
    assert _receive(stack, signed_event(inbound_form()), ingest_settings(stack, retention_days=30), (TEST_AUTH_TOKEN,))
    (item,) = table_items()
    received = datetime.fromisoformat(item["receivedAt"].replace("Z", "+00:00"))
    assert item["expiresAt"] == int(received.timestamp()) + 30 * 86_400


# ---------------------------------------------------------------- tokens from Secrets Manager
@pytest.mark.parametrize(
    ("secret", "accepted", "rejected"),
    [
        ("plain-token", ["plain-token"], ["other"]),
        (json.dumps({"primary": "tok-a", "secondary": "tok-b"}), ["tok-a", "tok-b"], ["other"]),
        (json.dumps({"primary": "tok-a"}), ["tok-a"], ["tok-b"]),
    ],
)
def test_tokens_come_from_the_secret(stack: Stack, secret: str, accepted: list[str], rejected: list[str]) -> None:
    from aws_lambda_powertools.utilities import parameters

    from twilio_inbound.secrets import secrets_from_text

    arn = put_twilio_secret(stack, secret)
    provider = parameters.SecretsProvider(boto3_session=stack.session)
    load = lambda: secrets_from_text(str(provider.get(arn, max_age=0)))  # noqa: E731
    intake = make_intake(stack, ingest_settings(stack, secrets=SecretSource(secret_arn=arn)), load)
    for token in accepted:
        assert intake.receive(signed_event(inbound_form(), token=token)).stored
    for token in rejected:
        with pytest.raises(Exception, match="invalid signature"):
            intake.receive(signed_event(inbound_form(), token=token))


@pytest.mark.parametrize("secret", ["", "   ", "{}", '{"primary": ""}', "{not json"])
def test_an_unusable_secret_fails_closed(secret: str) -> None:
    from twilio_inbound.secrets import TokensUnavailable, secrets_from_text

    with pytest.raises(TokensUnavailable):
        secrets_from_text(secret)


def test_no_token_configured_is_a_500_never_a_skip(stack: Stack, table_items: Items) -> None:
    from twilio_inbound.secrets import TokensUnavailable

    with pytest.raises(TokensUnavailable):
        _receive(stack, signed_event(inbound_form()), ingest_settings(stack, secrets=SecretSource()), ())
    assert table_items() == []


def test_handler_answers_500_when_no_token_is_configured(ingest: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from ingest import handler as ingest_handler

    monkeypatch.setattr(ingest_handler, "settings", replace(ingest_handler.settings, secrets=SecretSource()))
    assert_rejected(ingest(load_event("http-api-sms.json")), 500, "webhook is not configured")


# ---------------------------------------------------------------- malformed requests: clear 4xx, nothing stored
def test_other_methods_get_405(ingest: Invoke, table_items: Items) -> None:
    response = ingest(http_api_event("GET", TEST_WEBHOOK_URL + "?Body=hi", {}, b""))
    assert_rejected(response, 405, "only POST")
    assert response["headers"]["Allow"] == "POST"
    assert table_items() == []


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "", "multipart/form-data; boundary=x"])
def test_wrong_content_type_gets_415(ingest: Invoke, table_items: Items, content_type: str) -> None:
    event = signed_event(inbound_form(), headers={"Content-Type": content_type})
    assert_rejected(ingest(event), 415, "Content-Type must be application/x-www-form-urlencoded")
    assert table_items() == []


def test_oversized_body_gets_413(ingest: Invoke, table_items: Items) -> None:
    assert_rejected(ingest(signed_event(inbound_form(body="x" * 40_000))), 413, "larger than")
    assert table_items() == []


@pytest.mark.parametrize("missing", ["MessageSid", "From", "To"])
def test_signed_request_without_required_field_gets_400(ingest: Invoke, table_items: Items, missing: str) -> None:
    pairs = [(name, value) for name, value in inbound_form() if name != missing]
    response = ingest(signed_event(pairs))
    assert_rejected(response, 400, missing)
    assert table_items() == []


@pytest.mark.parametrize("status", ["queued", "sent", "delivered", "undelivered"])
def test_a_status_callback_pointed_at_sms_is_refused_not_stored_as_a_message(
    ingest: Invoke, table_items: Items, status: str
) -> None:
    # GIVEN the signed status callback Twilio posts for a message our number sent (From is our own number)
    callback = [
        ("AccountSid", "AC" + "0" * 32),
        ("ApiVersion", "2010-04-01"),
        ("From", "+15005550001"),
        ("MessageSid", new_message_sid()),
        ("MessageStatus", status),
        ("SmsSid", new_message_sid()),
        ("SmsStatus", status),
        ("To", "+15005550006"),
    ]
    # WHEN it reaches the inbound route THEN it is refused with a reason that says where it belongs
    response = ingest(signed_event(callback))
    assert_rejected(response, 400, "this is a status callback; point StatusCallback at /status")
    assert table_items() == []


def test_unsigned_request_without_fields_gets_403_not_400(ingest: Invoke) -> None:
    # an unsigned caller learns nothing about which fields we expect
    event = http_api_event("POST", TEST_WEBHOOK_URL, {"Content-Type": FORM_CONTENT_TYPE}, b"Body=hi")
    assert ingest(event)["statusCode"] == 403


def test_broken_base64_gets_400(ingest: Invoke, table_items: Items) -> None:
    event = signed_event(inbound_form())
    event["body"] = "%%% not base64 %%%"
    assert_rejected(ingest(event), 400, "base64")
    assert table_items() == []


def test_invalid_utf8_gets_400(ingest: Invoke, table_items: Items) -> None:
    event = signed_event(inbound_form())
    event["body"] = base64.b64encode(b"Body=%FF%FE&MessageSid=SM1").decode()
    assert_rejected(ingest(event), 400, "UTF-8")
    assert table_items() == []


@pytest.mark.parametrize("count", ["lots", "²", "-1", "1.5", "9999999"])
def test_non_numeric_num_media_gets_400(ingest: Invoke, table_items: Items, count: str) -> None:
    pairs = [(n, count if n == "NumMedia" else v) for n, v in inbound_form()]
    assert_rejected(ingest(signed_event(pairs)), 400, "NumMedia")
    assert table_items() == []


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("MessageSid", "not-a-sid", "MessageSid is not a Twilio SID"),
        ("MessageSid", "SM" + "0" * 3000, "MessageSid is not a Twilio SID"),
        ("MessagingServiceSid", "MG" + "1" * 3000, "MessagingServiceSid is not a Twilio SID"),
        ("From", "+1" + "5" * 3000, "From is longer than"),
        ("To", "+1" + "5" * 3000, "To is longer than"),
    ],
)
def test_malformed_ids_and_addresses_get_400_not_a_retry(
    ingest: Invoke, table_items: Items, name: str, value: str, reason: str
) -> None:
    # a 5xx would make Twilio retry a request that can never be stored
    form = inbound_form(extra=[("MessagingServiceSid", "MG" + "0" * 32)])
    pairs = [(n, value if n == name else v) for n, v in form]
    assert_rejected(ingest(signed_event(pairs)), 400, reason)
    assert table_items() == []


def test_error_answers_reveal_no_internals(ingest: Invoke) -> None:
    response = ingest(signed_event(inbound_form(), token="wrong"))
    for secret_ish in (TEST_AUTH_TOKEN, "Traceback", "dynamodb", "arn:"):
        assert secret_ish not in response["body"]


# ---------------------------------------------------------------- AWS failure: 5xx so Twilio retries
def test_dynamodb_failure_answers_503_and_retry_succeeds(ingest: Invoke, stack: Stack, table_items: Items) -> None:
    client = stack.session.client("dynamodb")
    table = stack.physical["MessagesTable"]["Ref"]
    description = client.describe_table(TableName=table)["Table"]
    client.delete_table(TableName=table)
    event = signed_event(inbound_form(message_sid=new_message_sid()))

    response = ingest(event)
    assert_rejected(response, 503, "retry")

    # the table is back (a transient fault): Twilio's retry of the same request is stored
    stack.physical.pop("MessagesTable")
    stack.create("MessagesTable")
    assert client.describe_table(TableName=table)["Table"]["KeySchema"] == description["KeySchema"]
    assert_twiml_ok(ingest(event))
    assert len(table_items()) == 1


def test_signature_of_the_documented_events_uses_the_test_token() -> None:
    event = load_event("http-api-sms.json")
    body = base64.b64decode(event["body"]).decode()
    from urllib.parse import parse_qsl

    pairs = parse_qsl(body, keep_blank_values=True)
    assert event["headers"]["x-twilio-signature"] == signature(TEST_WEBHOOK_URL, pairs, TEST_AUTH_TOKEN)


# ---------------------------------------------------------------- what the logs say
def test_logs_mask_numbers_and_bodies_and_never_show_the_token(
    ingest: Invoke, ingest_logs: io.StringIO, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from ingest import handler as ingest_handler

    capsys.readouterr()
    pairs = inbound_form(body="my card is 4111 1111", sender="+14155550123", to="+15005550001")
    assert_twiml_ok(ingest(signed_event(pairs)))
    ingest(signed_event(inbound_form(), token="wrong-token"))
    # the stored message's fields ride on its metrics line (EMF, printed to stdout); rejections are logged
    metrics_line = next(line for line in capsys.readouterr().out.splitlines() if "MessagesReceived" in line)
    metadata = json.loads(metrics_line)
    assert metadata["messageSid"] == dict(pairs)["MessageSid"]
    assert metadata["from"] == "+•••••••0123"  # enough to correlate, not enough to identify
    assert metadata["bodyChars"] == len("my card is 4111 1111")
    logged = ingest_logs.getvalue() + metrics_line
    assert "request rejected" in logged
    for secret in ("+14155550123", "+15005550001", "4111 1111", TEST_AUTH_TOKEN, "wrong-token"):
        assert secret not in logged

    # GIVEN full logging switched on for debugging
    monkeypatch.setattr(ingest_handler, "settings", replace(ingest_handler.settings, log_message_content=True))
    ingest(signed_event(inbound_form(body="visible body", sender="+14155550124")))
    logged = capsys.readouterr().out
    assert "+14155550124" in logged
    assert "visible body" in logged
    assert TEST_AUTH_TOKEN not in logged
