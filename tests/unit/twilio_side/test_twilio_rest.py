"""The one Twilio client builder (twilio_inbound.twilio_rest) against the stand-in: credentials from the secret,
redirection, 429 backoff with Retry-After, a deadline, and failures described in one line."""

from __future__ import annotations

import time

import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException

from devtools.twilio_api import TwilioStandIn
from devtools.twilio_api.models import Account
from twilio_inbound.secrets import AccountSecrets, TokensUnavailable
from twilio_inbound.twilio_rest import (
    Backoff,
    OutOfTime,
    TwilioApiHttpClient,
    account_client,
    describe_failure,
    twilio_client,
)
from twilio_inbound_cli.signing import TEST_AUTH_TOKEN

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])


def test_the_secrets_rest_credentials_reach_the_account(twilio: TwilioStandIn, account: Account) -> None:
    # GIVEN a secret entry with a token but no accountSid, and one with an API key
    by_token = AccountSecrets((TEST_AUTH_TOKEN,))
    key = twilio.add_api_key(account.sid)
    by_key = AccountSecrets(api_key_sid=key.sid, api_key_secret=key.secret, account_sid=account.sid)
    # THEN both act on the account (the token one as the account the caller names)
    fetched = account_client(by_token, account.sid, api_base_url=twilio.base_url).api.v2010.accounts(account.sid)
    assert fetched.fetch().friendly_name == "Main"
    numbers = account_client(by_key, api_base_url=twilio.base_url).incoming_phone_numbers.list()
    assert numbers == []
    assert twilio.requests("api")[-1].authorization is not None
    # AND a secret that names no account cannot make a client at all
    with pytest.raises(TokensUnavailable):
        account_client(by_token, api_base_url=twilio.base_url)


def test_rate_limited_reads_wait_for_retry_after_then_succeed(twilio: TwilioStandIn, account: Account) -> None:
    # GIVEN Twilio answering 429 (Retry-After: 1) twice
    twilio.fail_next(r"/IncomingPhoneNumbers\.json$", status=429, count=2, retry_after=1)
    waits: list[float] = []
    http = TwilioApiHttpClient(twilio.base_url, sleep=waits.append, timeout=5)
    client = twilio_client(account.sid, account.auth_token, api_base_url=twilio.base_url)
    client.http_client = http
    # WHEN the numbers are listed
    assert client.incoming_phone_numbers.list() == []
    # THEN it waited as told, twice, and the third request succeeded
    assert waits == [1.0, 1.0]
    assert [record.status for record in twilio.requests("api")] == [429, 429, 200]


def test_it_gives_up_after_its_attempts_and_says_so(twilio: TwilioStandIn, account: Account) -> None:
    twilio.fail_next(r"/IncomingPhoneNumbers\.json$", status=429, count=10, retry_after=0)
    client = twilio_client(account.sid, account.auth_token, api_base_url=twilio.base_url, backoff=Backoff(attempts=3))
    with pytest.raises(TwilioException) as raised:  # a list's page: the SDK raises the base class
        client.incoming_phone_numbers.list()
    assert len(twilio.requests("api")) == 3
    assert "rate limited" in describe_failure(raised.value)


def test_a_failed_update_is_not_repeated(twilio: TwilioStandIn, account: Account) -> None:
    # A 500 to a POST may have been applied: only reads are retried on 5xx.
    number = twilio.add_number(account.sid, "+15005550001")
    twilio.fail_next(r"/IncomingPhoneNumbers/", status=500, method="POST")
    client = twilio_client(account.sid, account.auth_token, api_base_url=twilio.base_url)
    with pytest.raises(TwilioRestException):
        client.incoming_phone_numbers(number.sid).update(sms_method="POST")
    assert len(twilio.requests("api")) == 1


def test_nothing_is_sent_after_the_deadline(twilio: TwilioStandIn, account: Account) -> None:
    client = twilio_client(account.sid, account.auth_token, api_base_url=twilio.base_url, deadline=time.monotonic() - 1)
    with pytest.raises(OutOfTime):
        client.messages.list()
    assert twilio.requests("api") == []


def test_a_wait_that_would_outlive_the_deadline_is_not_taken(twilio: TwilioStandIn, account: Account) -> None:
    twilio.fail_next(r"/Messages\.json$", status=429, retry_after=30)
    waits: list[float] = []
    client = twilio_client(account.sid, account.auth_token, api_base_url=twilio.base_url)
    client.http_client = TwilioApiHttpClient(twilio.base_url, sleep=waits.append, deadline=time.monotonic() + 5)
    with pytest.raises(TwilioException):
        client.messages.list()
    assert waits == []


def test_failures_read_as_one_line_without_secrets(twilio: TwilioStandIn, account: Account) -> None:
    client = twilio_client(account.sid, "wrong-token", api_base_url=twilio.base_url)
    with pytest.raises(TwilioRestException) as refused:
        client.api.v2010.accounts(account.sid).fetch()
    text = describe_failure(refused.value)
    assert "401" in text
    assert "credentials were refused" in text
    assert "wrong-token" not in text
    base_url = twilio.base_url
    twilio.stop()
    unreachable = twilio_client(account.sid, account.auth_token, api_base_url=base_url)
    with pytest.raises(Exception) as failed:  # noqa: PT011 (requests' ConnectionError; asserted through its text)
        unreachable.messages.list()
    assert describe_failure(failed.value) == f"cannot reach {base_url.removeprefix('http://')}: connection failed"
