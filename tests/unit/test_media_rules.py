"""The media function's rules that need no network: which URLs are fetched and who gets credentials, the key
layout, the secret's API key fields, the retry schedule, the settings, and the media.archived event's schema."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from devtools.template import ROOT
from media.archive import next_attempt_seconds
from media.event import NotAMessageEvent, message_of
from media.settings import DEFAULT_MAX_MEDIA_BYTES, MediaSettings
from media.twilio_media import NotFetchable, TwilioMedia
from twilio_inbound.cloudevent import EVENT_TYPE
from twilio_inbound.media_bucket import extension_for, media_key
from twilio_inbound.secrets import ApiCredentials, TokensUnavailable, secrets_from_text

ACCOUNT, MESSAGE, MEDIA = "AC" + "a" * 32, "MM" + "b" * 32, "ME" + "c" * 32
PATH = f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{MESSAGE}/Media/{MEDIA}"
SCHEMA = json.loads((ROOT / "schemas" / "media-archived.v1.json").read_text())


@pytest.mark.parametrize(
    "host",
    ["api.twilio.com", "API.Twilio.com", "api.ie1.twilio.com", "api.dublin.ie1.twilio.com", "api.twilio.com:443"],
)
def test_twilio_api_hosts_are_fetched_as_they_are(host: str) -> None:
    location = TwilioMedia().locate(f"https://{host}{PATH}")
    assert location.url == f"https://{host}{PATH}"
    assert (location.account_sid, location.message_sid, location.media_sid) == (ACCOUNT, MESSAGE, MEDIA)
    assert location.resource_url == f"https://{host}{PATH}.json"


@pytest.mark.parametrize(
    "url",
    [
        f"http://api.twilio.com{PATH}",  # plain HTTP
        f"https://api.twilio.com.evil.example{PATH}",
        f"https://evil.example/api.twilio.com{PATH}",
        f"https://eviltwilio.com{PATH}",
        f"https://api.twilio.com:8443{PATH}",
        f"https://api.twilio.com:x{PATH}",
        f"https://user:secret@api.twilio.com{PATH}",
        f"https://api.twilio.com@evil.example{PATH}",
        f"https://messaging.twilio.com{PATH}",
        f"https://media.twiliocdn.com{PATH}",
        f"https://api.a.b.c.twilio.com{PATH}",
        f"https://api.twilio.com{PATH}?x=1",
        f"https://api.twilio.com{PATH}.json",
        f"https://api.twilio.com{PATH}/../../Calls",
        "https://api.twilio.com/2010-04-01/Accounts.json",
        "https://demo.twilio.com/owl.png",
        "ftp://api.twilio.com/x",
        "",
    ],
)
def test_anything_else_is_never_fetched(url: str) -> None:
    with pytest.raises(NotFetchable, match="never fetched"):
        TwilioMedia().locate(url)


def test_with_a_stand_in_twilio_urls_go_to_it_and_nothing_else_is_fetched() -> None:
    standin = TwilioMedia("http://127.0.0.1:5010")
    # Twilio's own URLs (what a webhook carries) are sent to the stand-in, never to Twilio
    assert standin.locate(f"https://api.twilio.com{PATH}").url == f"http://127.0.0.1:5010{PATH}"
    assert standin.locate(f"http://127.0.0.1:5010{PATH}").url == f"http://127.0.0.1:5010{PATH}"
    for other in (f"http://127.0.0.1:5011{PATH}", f"http://localhost:5010{PATH}", "https://example.com/a.jpg"):
        with pytest.raises(NotFetchable):
            standin.locate(other)


@pytest.mark.parametrize(
    ("content_type", "extension"),
    [
        ("image/jpeg", ".jpg"),
        ("IMAGE/PNG", ".png"),
        ("video/mp4; codecs=avc1", ".mp4"),
        ("text/x-vcard", ".vcf"),
        ("application/pdf", ".pdf"),
        ("", ".bin"),
        ("application/x-made-up", ".bin"),
        ("../../etc", ".bin"),
    ],
)
def test_keys_say_what_they_are(content_type: str, extension: str) -> None:
    assert extension_for(content_type) == extension
    assert media_key(MESSAGE, 3, MEDIA, content_type) == f"media/{MESSAGE}/3-{MEDIA}{extension}"


@pytest.mark.parametrize(("message", "media"), [("MM../x", MEDIA), (MESSAGE, "ME1"), (MESSAGE, "../" + MEDIA)])
def test_keys_refuse_anything_but_sids(message: str, media: str) -> None:
    with pytest.raises(ValueError, match="not a"):
        media_key(message, 0, media, "image/jpeg")


def test_api_credentials_come_from_an_api_key_when_the_secret_has_one() -> None:
    key = "SK" + "d" * 32
    single = secrets_from_text(json.dumps({"primary": "token", "apiKeySid": key, "apiKeySecret": "key-secret"}))
    assert single.for_account(ACCOUNT).api_credentials(ACCOUNT) == ApiCredentials(key, "key-secret")  # type: ignore[union-attr]
    plain = secrets_from_text("just-a-token")
    assert plain.for_account(ACCOUNT).api_credentials(ACCOUNT) == ApiCredentials(ACCOUNT, "just-a-token")  # type: ignore[union-attr]
    accounts = secrets_from_text(
        json.dumps({"accounts": {ACCOUNT: {"primary": "a"}, "AC" + "e" * 32: {"primary": "b", "apiKeySid": key,
                                                                               "apiKeySecret": "s"}}})
    )  # fmt: skip
    assert accounts.for_account(ACCOUNT).api_credentials(ACCOUNT) == ApiCredentials(ACCOUNT, "a")  # type: ignore[union-attr]
    assert accounts.for_account("AC" + "e" * 32).api_credentials("AC" + "e" * 32).username == key  # type: ignore[union-attr]
    assert "key-secret" not in repr(single)
    assert "just-a-token" not in repr(plain)


@pytest.mark.parametrize(
    "secret",
    [
        {"primary": "t", "apiKeySid": "AC" + "d" * 32, "apiKeySecret": "s"},  # not an API key SID
        {"primary": "t", "apiKeySid": "SK" + "d" * 32},  # no secret
        {"primary": "t", "apiKeySecret": "s"},  # no SID
        {"primary": "t", "apiKeySid": "SK" + "d" * 32, "apiKeySecret": " "},
        {"apiKeySid": "SK" + "d" * 32, "apiKeySecret": "s"},  # the webhook still needs a token or a shared key
    ],
)
def test_a_malformed_api_key_makes_the_secret_unusable(secret: dict[str, Any]) -> None:
    with pytest.raises(TokensUnavailable):
        secrets_from_text(json.dumps(secret))


def test_failed_messages_come_back_later_each_time_then_rest_in_the_dead_letter_queue() -> None:
    assert [next_attempt_seconds(count) for count in range(1, 6)] == [30, 60, 120, 240, 480]
    assert next_attempt_seconds(20) == 900


BASE_ENV = {
    "MEDIA_BUCKET_NAME": "b",
    "TOPIC_ARN": "t",
    "EVENT_BUS_NAME": "",
    "MEDIA_QUEUE_URL": "q",
    "TWILIO_AUTH_TOKEN_SECRET_ARN": "s",
}


def test_settings_default_to_twilio_itself_and_a_limit_over_twilios_largest_file() -> None:
    settings = MediaSettings.from_env({**BASE_ENV, "TWILIO_API_URL": "https://api.twilio.com/"})
    assert settings.twilio_api_url == ""
    assert settings.max_media_bytes == DEFAULT_MAX_MEDIA_BYTES > 100 * 1000 * 1000  # a 100 MB WhatsApp document
    assert settings.delete_after_archive is False
    assert MediaSettings.from_env({**BASE_ENV, "DELETE_TWILIO_MEDIA_AFTER_ARCHIVE": "true"}).delete_after_archive


@pytest.mark.parametrize(("name", "value"), [("TWILIO_API_URL", "127.0.0.1:5010"), ("MAX_MEDIA_BYTES", "0")])
def test_bad_settings_fail_at_start_up(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        MediaSettings.from_env({**BASE_ENV, name: value})


def test_the_queue_message_may_be_raw_or_an_sns_envelope_but_must_be_a_message_event() -> None:
    event = {"type": EVENT_TYPE, "data": {"messageSid": MESSAGE, "media": []}}
    assert message_of(json.dumps(event))["messageSid"] == MESSAGE
    assert message_of(json.dumps({"Type": "Notification", "Message": json.dumps(event)}))["messageSid"] == MESSAGE
    for body in ("not json", json.dumps({**event, "type": "other"}), json.dumps({"type": EVENT_TYPE, "data": {}})):
        with pytest.raises(NotAMessageEvent):
            message_of(body)


def _event(media: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"{MESSAGE}:media",
        "source": "/twilio-inbound/x",
        "type": "twilio-inbound.media.archived",
        "time": "2026-01-15T09:30:00.000Z",
        "datacontenttype": "application/json",
        "dataschema": "urn:twilio-inbound:schema:media-archived:v1",
        "data": {
            "messageSid": MESSAGE,
            "accountSid": ACCOUNT,
            "from": "+15005550006",
            "to": "+15005550001",
            "channel": "mms",
            "numMedia": 1,
            "entryPoint": None,
            "media": media,
            "archivedAt": "2026-01-15T09:30:01.000Z",
        },
    }


ARCHIVED = {
    "url": "https://api.twilio.com" + PATH,
    "contentType": "image/jpeg",
    "archived": True,
    "bucket": "my-bucket",
    "key": f"media/{MESSAGE}/0-{MEDIA}.jpg",
    "size": 10,
    "sha256": "0" * 64,
}


@pytest.mark.parametrize(
    "entry",
    [
        {key: value for key, value in ARCHIVED.items() if key != "sha256"},  # an object without its hash
        {**ARCHIVED, "archived": False},  # not archived, but no reason
        {**ARCHIVED, "key": "elsewhere/x.jpg"},
        {"url": "u", "contentType": "image/jpeg", "archived": False, "reason": ""},
    ],
)
def test_the_schema_refuses_an_entry_that_does_not_say_where_or_why(entry: dict[str, Any]) -> None:
    jsonschema.validate(_event([ARCHIVED]), SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(_event([entry]), SCHEMA)
