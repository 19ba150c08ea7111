"""Credentials and media against the stand-in: Basic auth (account tokens, API keys, subaccounts, suspended
and closed accounts), media content behind auth with a credential-free CDN redirect (early 404s, 500s, expiry,
deletion, 100 MB streamed in little memory), the SDK redirect helper, the admin API and the entry point.
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException

from devtools.template import ROOT
from devtools.twilio_api import MediaSpec, TwilioStandIn
from devtools.twilio_api.content import content_sha256
from devtools.twilio_api.models import Account, Media
from devtools.twilio_api.sdk import NotATwilioUrl, redirect_url, twilio_client
from devtools.twilio_api.spec import TwilioSpec
from twilio_inbound_cli.signing import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

NUMBER = "+15005550001"


def messages_url(twilio: TwilioStandIn, account_sid: str) -> str:
    return f"{twilio.base_url}/2010-04-01/Accounts/{account_sid}/Messages.json"


def refused(call: Any) -> int:
    """The HTTP status of an SDK call that was refused (a list read raises TwilioException with the response)."""
    try:
        call()
    except TwilioRestException as error:
        return int(error.status)
    except TwilioException as error:
        return int(error.args[1].status_code)
    raise AssertionError("the call was not refused")


# Credentials -----------------------------------------------------------------------------------------------


def test_requests_without_the_right_credentials_get_401(twilio: TwilioStandIn, account: Account) -> None:
    for auth in (None, (account.sid, "wrong-token"), ("AC" + "0" * 32, account.auth_token), (account.sid, "")):
        response = requests.get(messages_url(twilio, account.sid), auth=auth, timeout=10)
        assert (response.status_code, response.json()["code"]) == (401, 20003)
        assert response.headers["WWW-Authenticate"] == 'Basic realm="Twilio API"'
    with pytest.raises(TwilioRestException) as raised:
        twilio_client(twilio.base_url, account.sid, "wrong-token").api.accounts(account.sid).fetch()
    assert (raised.value.status, raised.value.code) == (401, 20003)


def test_api_keys_reach_their_account_but_only_main_keys_the_accounts_resource(
    twilio: TwilioStandIn, account: Account
) -> None:
    standard, main = twilio.add_api_key(account.sid), twilio.add_api_key(account.sid, "main")
    with_standard = twilio_client(twilio.base_url, standard.sid, standard.secret, account.sid)
    assert with_standard.messages.list() == []
    with pytest.raises(TwilioRestException) as raised:
        with_standard.api.accounts(account.sid).fetch()
    assert raised.value.status == 401
    assert (
        twilio_client(twilio.base_url, main.sid, main.secret, account.sid).api.accounts(account.sid).fetch().status
        == "active"
    )
    wrong_secret = twilio_client(twilio.base_url, standard.sid, main.secret, account.sid)
    assert refused(wrong_secret.messages.list) == 401


def test_subaccounts_have_their_own_tokens_and_the_parent_reaches_them(twilio: TwilioStandIn, account: Account) -> None:
    sub = twilio.add_account(friendly_name="Tenant A", owner_account_sid=account.sid)
    other = twilio.add_account(friendly_name="Someone else")
    twilio.add_number(sub.sid, NUMBER)
    twilio.add_inbound_message(sub.sid, sender="+15005550006", to=NUMBER, body="hi")
    parent_client, sub_client = twilio.client(account), twilio.client(sub)
    # The parent lists itself and its subaccounts, and reads a subaccount's messages with its own token.
    assert {(a.sid, a.owner_account_sid) for a in parent_client.api.accounts.list()} == {
        (account.sid, account.sid), (sub.sid, account.sid)
    }  # fmt: skip
    assert len(parent_client.api.accounts(sub.sid).messages.list()) == 1
    assert [a.friendly_name for a in parent_client.api.accounts.list(friendly_name="Tenant A")] == ["Tenant A"]
    # A subaccount sees only itself; nobody reaches an unrelated account.
    assert [a.sid for a in sub_client.api.accounts.list()] == [sub.sid]
    for client, target in ((sub_client, account.sid), (parent_client, other.sid), (sub_client, other.sid)):
        assert refused(client.api.accounts(target).messages.list) == 401


def test_suspended_accounts_cannot_act_and_closed_ones_cannot_authenticate(
    twilio: TwilioStandIn, account: Account
) -> None:
    sub = twilio.add_account(owner_account_sid=account.sid)
    twilio.set_account_status(sub.sid, "suspended")
    assert twilio.client(account).api.accounts(sub.sid).fetch().status == "suspended"
    assert twilio.client(sub).api.accounts(sub.sid).fetch().status == "suspended"
    with pytest.raises(TwilioRestException) as raised:
        twilio.client(sub).messages.create(to="+14155550100", from_="+15005550006", body="hi")
    assert (raised.value.status, raised.value.code) == (401, 20005)
    twilio.set_account_status(sub.sid, "closed")
    with pytest.raises(TwilioRestException) as raised:
        twilio.client(sub).api.accounts(sub.sid).fetch()
    assert (raised.value.status, raised.value.code) == (401, 20003)
    assert [a.status for a in twilio.client(account).api.accounts.list(status="closed")] == ["closed"]


# Media -------------------------------------------------------------------------------------------------------


def seed_media(twilio: TwilioStandIn, account: Account, spec: MediaSpec) -> Media:
    twilio.add_number(account.sid, NUMBER)
    message = twilio.add_inbound_message(account.sid, sender="+15005550006", to=NUMBER, body="", media=[spec])
    return twilio.media_of(message.sid)[0]


def test_media_content_needs_basic_auth_and_redirects_to_a_cdn_that_needs_none(
    twilio: TwilioStandIn, account: Account
) -> None:
    media = seed_media(twilio, account, MediaSpec(content_type="image/jpeg", size=300_000, seed="cat"))
    url = twilio.media_url(media, local=True)
    assert requests.get(url, timeout=10).status_code == 401
    # WHEN the content is requested with the account's credentials
    redirect = requests.get(url, auth=(account.sid, account.auth_token), allow_redirects=False, timeout=10)
    # THEN a redirect to another host:port, whose short-lived link works without credentials
    assert redirect.status_code == 307
    location = redirect.headers["Location"]
    assert urlsplit(location).netloc != urlsplit(twilio.base_url).netloc
    assert location.startswith(f"{twilio.cdn_url}/media/")
    served = requests.get(location, timeout=10)
    assert served.status_code == 200
    assert (served.headers["Content-Type"], served.headers["Content-Length"]) == ("image/jpeg", "300000")
    assert content_sha256("cat", 300_000) == content_sha256(media.seed, media.size)
    assert hashlib.sha256(served.content).hexdigest() == content_sha256("cat", 300_000)
    # AND a client that follows the redirect itself (requests drops credentials across host:port) sends none
    followed = requests.get(url, auth=(account.sid, account.auth_token), timeout=10)
    assert followed.status_code == 200
    assert len(followed.content) == 300_000
    cdn = twilio.requests("cdn")
    assert len(cdn) == 2
    assert all(record.authorization is None for record in cdn)


def test_media_lagging_the_webhook_404s_then_500s_then_is_served(twilio: TwilioStandIn, account: Account) -> None:
    media = seed_media(twilio, account, MediaSpec(size=10, not_found_first=2, server_errors=1, cdn_errors=1))
    url, auth = twilio.media_url(media, local=True), (account.sid, account.auth_token)
    answers = [requests.get(url, auth=auth, allow_redirects=False, timeout=10) for _ in range(4)]
    assert [a.status_code for a in answers] == [404, 404, 500, 307]
    assert [answers[0].json()["code"], answers[2].json()["code"]] == [20404, 20500]
    location = answers[3].headers["Location"]
    assert [requests.get(location, timeout=10).status_code for _ in range(2)] == [503, 200]


def test_media_links_expire(spec: TwilioSpec, account: Account) -> None:
    with TwilioStandIn.start(spec=spec, cdn_token_seconds=0) as twilio:
        twilio.add_account(sid=account.sid, auth_token=account.auth_token)
        media = seed_media(twilio, account, MediaSpec(size=10))
        redirect = requests.get(
            twilio.media_url(media, local=True),
            auth=(account.sid, account.auth_token),
            allow_redirects=False,
            timeout=10,
        )
        expired = requests.get(redirect.headers["Location"], timeout=10)
        assert expired.status_code == 403
        assert b"AccessDenied" in expired.content
        assert requests.get(f"{twilio.cdn_url}/media/made-up", timeout=10).status_code == 403


def test_deleted_media_is_gone_everywhere(twilio: TwilioStandIn, account: Account, client: Any) -> None:
    media = seed_media(twilio, account, MediaSpec(size=10))
    auth = (account.sid, account.auth_token)
    link = requests.get(twilio.media_url(media, local=True), auth=auth, allow_redirects=False, timeout=10).headers[
        "Location"
    ]
    assert client.messages(media.message_sid).media(media.sid).delete() is True
    assert client.messages(media.message_sid).media.list() == []
    with pytest.raises(TwilioRestException) as raised:
        client.messages(media.message_sid).media(media.sid).fetch()
    assert raised.value.status == 404
    assert requests.get(twilio.media_url(media, local=True), auth=auth, timeout=10).status_code == 404
    assert requests.get(link, timeout=10).status_code == 403


def test_explicit_bytes_and_a_302_redirect(twilio: TwilioStandIn, account: Account) -> None:
    media = seed_media(
        twilio, account, MediaSpec(content_type="text/vcard", content=b"BEGIN:VCARD", redirect_status=302)
    )
    redirect = requests.get(
        twilio.media_url(media, local=True), auth=(account.sid, account.auth_token), allow_redirects=False, timeout=10
    )
    assert redirect.status_code == 302
    served = requests.get(redirect.headers["Location"], timeout=10)
    assert (served.content, served.headers["Content-Type"]) == (b"BEGIN:VCARD", "text/vcard")


def test_100_mb_of_media_streams_in_little_memory(twilio: TwilioStandIn, account: Account) -> None:
    size = 100 * 1024 * 1024
    media = seed_media(twilio, account, MediaSpec(content_type="video/mp4", size=size, seed="big"))
    digest, received = hashlib.sha256(), 0
    tracemalloc.start()
    try:
        with requests.get(
            twilio.media_url(media, local=True), auth=(account.sid, account.auth_token), stream=True, timeout=30
        ) as response:
            assert response.headers["Content-Length"] == str(size)
            for chunk in response.iter_content(chunk_size=256 * 1024):
                digest.update(chunk)
                received += len(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert received == size
    assert digest.hexdigest() == content_sha256("big", size)
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes traced while streaming {size}"  # server and client together


# Pointing the SDK elsewhere -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.twilio.com/2010-04-01/Accounts.json", "http://127.0.0.1:9/2010-04-01/Accounts.json"),
        (
            "https://api.sydney.au1.twilio.com/2010-04-01/Accounts.json?A=1",
            "http://127.0.0.1:9/2010-04-01/Accounts.json?A=1",
        ),
        ("https://messaging.twilio.com/v1/Services?PageSize=2", "http://127.0.0.1:9/v1/Services?PageSize=2"),
    ],
)
def test_redirect_url_keeps_path_and_query(url: str, expected: str) -> None:
    assert redirect_url(url, "http://127.0.0.1:9") == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://api.twilio.com/x",
        "https://api.twilio.com.evil.example/x",
        "https://studio.twilio.com/v2/Flows",
        "https://example.com/",
    ],
)
def test_redirect_url_refuses_anything_else(url: str) -> None:
    with pytest.raises(NotATwilioUrl):
        redirect_url(url, "http://127.0.0.1:9")


# Admin API and entry point -------------------------------------------------------------------------------------


def test_another_process_seeds_and_inspects_through_the_admin_api(twilio: TwilioStandIn) -> None:
    admin = twilio.admin_url

    def post(path: str, body: dict[str, Any]) -> Any:
        response = requests.post(admin + path, json=body, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    account = post("accounts", {"friendly_name": "Local"})
    post("numbers", {"account_sid": account["sid"], "phone_number": NUMBER})
    message = post(
        "messages",
        {"account_sid": account["sid"], "sender": "+15005550006", "to": NUMBER, "body": "pic",
         "media": [{"content_type": "image/png", "size": 2048, "seed": "s", "not_found_first": 1}]},
    )  # fmt: skip
    (media,) = message["media"]
    assert media["sha256"] == content_sha256("s", 2048)
    assert media["url"].startswith("https://api.twilio.com/2010-04-01/")
    client = twilio_client(twilio.base_url, account["sid"], account["auth_token"])
    assert client.messages(message["sid"]).fetch().num_media == "1"
    post("faults", {"path_pattern": "/Media/", "status": 500, "count": 1})
    auth = (account["sid"], account["auth_token"])
    assert [requests.get(media["local_url"], auth=auth, timeout=10).status_code for _ in range(3)] == [500, 404, 200]
    logged = requests.get(admin + "requests", params={"listener": "cdn"}, timeout=10).json()
    assert len(logged) == 1
    assert "authorization" not in logged[0]["headers"]
    assert requests.get(admin + "violations", timeout=10).json() == []
    assert requests.post(admin + "messages/SM" + "0" * 32 + "/deliver", timeout=10).status_code == 404
    assert requests.post(admin + "nothing", timeout=10).status_code == 404


def test_python_m_devtools_twilio_api_serves_the_documented_test_account(tmp_path: Path) -> None:
    outputs = tmp_path / "twilio.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.twilio_api", "--port", "0", "--cdn-port", "0", "--outputs", str(outputs)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not outputs.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(process.stdout.read() if process.stdout else "the stand-in did not start")
            time.sleep(0.05)
        written = json.loads(outputs.read_text())
        client = twilio_client(written["BaseUrl"], TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)
        assert [n.phone_number for n in client.incoming_phone_numbers.list()] == [NUMBER]
        assert requests.get(written["AdminUrl"] + "violations", timeout=10).json() == []
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert output.splitlines()[0].startswith(f"twilio-api  {written['BaseUrl']}")
