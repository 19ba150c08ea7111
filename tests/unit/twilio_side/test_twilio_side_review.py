"""Issue 20, items 13 and 14: Twilio's Retry-After honoured within the command's deadline, and a Twilio API URL
without its scheme refused with what is wrong with it (not a failure that reads like a credential problem)."""

from __future__ import annotations

import pytest

from devtools.twilio_api import TwilioStandIn
from devtools.twilio_api.models import Account
from tests.unit.twilio_side.conftest import Cli
from twilio_inbound.twilio_rest import Backoff, TwilioApiHttpClient, twilio_client

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])


class Clock:
    """A clock that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def test_13_a_long_retry_after_is_waited_out_within_the_deadline(twilio: TwilioStandIn, account: Account) -> None:
    # GIVEN Twilio rate-limits the first request and allows the next only after 30 s
    twilio.fail_next(r"/Messages\.json$", status=429, count=1, retry_after=30)
    clock = Clock()
    client = twilio_client(account.sid, account.auth_token, api_base_url=twilio.base_url)
    client.http_client = TwilioApiHttpClient(
        twilio.base_url, sleep=clock.sleep, clock=lambda: clock.now, deadline=clock.now + 240, timeout=5
    )
    # WHEN a reconcile-like run (240 s deadline) lists messages
    assert client.messages.list() == []
    # THEN it waited what Twilio asked, once, and the retry succeeded
    assert clock.waits == [30.0]
    assert [record.status for record in twilio.requests("api")] == [429, 200]


def test_13_a_retry_after_that_is_not_a_number_falls_back_to_backoff() -> None:
    backoff = Backoff(base_seconds=0.5, max_seconds=8.0)
    assert 0 <= backoff.delay(1, "²") <= 1.0
    assert 0 <= backoff.delay(1, "Wed, 21 Oct 2026 07:28:00 GMT") <= 1.0
    assert backoff.delay(1, "30") == 30.0


@pytest.mark.parametrize("url", ["127.0.0.1:7299", "localhost", "ftp://127.0.0.1:7299", "http://:7299"])
def test_14_a_twilio_api_url_without_a_scheme_and_host_says_what_is_wrong(cli: Cli, account: Account, url: str) -> None:
    with pytest.raises(SystemExit) as exited:
        cli("verify", "--twilio-api-url", url)
    err = cli.capsys.readouterr().err
    assert exited.value.code == 2
    assert f"{url!r} is not an http(s) URL with a host" in err
    assert "InvalidSchema" not in err


def test_14_the_environment_variable_is_checked_the_same_way(
    cli: Cli, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_API_URL", "127.0.0.1:7299")
    result = cli("verify")
    assert result.code == 2
    assert "$TWILIO_API_URL" in result.err
    assert "write it with its scheme, e.g. http://127.0.0.1:7299" in result.err


def test_14_the_local_stack_refuses_it_too() -> None:
    from devtools.local_stack import _parse_args

    with pytest.raises(SystemExit) as exited:
        _parse_args(["--twilio-api-url", "127.0.0.1:7299"])
    assert exited.value.code == 2
