"""`twilio-inbound verify` and `twilio-numbers` against the stand-in: what an operator sees, and the clear errors
for bad credentials, unknown accounts and an unreachable API."""

from __future__ import annotations

import json

import pytest

from devtools.twilio_api import TwilioStandIn
from devtools.twilio_api.models import Account
from tests.unit.twilio_side.conftest import SALES, SUPPORT, Cli
from twilio_inbound_cli.signing import TEST_AUTH_TOKEN, TEST_WEBHOOK_URL

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])


def test_verify_shows_each_account_its_status_and_name(cli: Cli, account: Account) -> None:
    result = cli("verify")
    assert result.code == 0, result
    assert result.lines == [f'ok   {account.sid} "Main" active (auth token)']


def test_verify_covers_every_account_of_a_several_account_secret(
    cli: Cli, twilio: TwilioStandIn, account: Account
) -> None:
    # GIVEN a secret for two accounts, the second suspended and signing in with an API key
    other = twilio.add_account(friendly_name="Brand B", status="suspended")
    key = twilio.add_api_key(other.sid, key_type="main")
    cli.set_secret(
        {
            "accounts": {
                account.sid: {"primary": TEST_AUTH_TOKEN},
                other.sid: {"primary": other.auth_token, "apiKeySid": key.sid, "apiKeySecret": key.secret},
            }
        }
    )
    # WHEN verified
    result = cli("verify")
    # THEN each account has its line, and the suspended one fails the command with the reason
    assert result.code == 1
    assert result.lines[0] == f'ok   {account.sid} "Main" active (auth token)'
    assert result.lines[1].startswith(f'FIX  {other.sid}: "Brand B" suspended (API key {key.sid}): the account is')
    # AND --account narrows it to one
    assert cli("verify", "--account", account.sid).code == 0
    unknown = cli("verify", "--account", "AC" + "f" * 32)
    known = ", ".join(sorted([account.sid, other.sid]))
    assert (unknown.code, unknown.err.strip()) == (
        2,
        f"error: the stack's secret has no entry for AC{'f' * 32} (it has {known})",
    )


def test_a_standard_api_key_is_verified_on_the_accounts_numbers(
    cli: Cli, twilio: TwilioStandIn, account: Account
) -> None:
    key = twilio.add_api_key(account.sid)  # standard keys may not read the Accounts resource
    cli.set_secret(
        {"primary": TEST_AUTH_TOKEN, "accountSid": account.sid, "apiKeySid": key.sid, "apiKeySecret": key.secret}
    )
    result = cli("verify")
    assert result.code == 0, result
    assert "credentials work (API key" in result.out


def test_bad_credentials_fail_with_the_reason_and_no_stack_trace(cli: Cli, account: Account) -> None:
    cli.set_secret({"primary": "not-the-token", "accountSid": account.sid})
    result = cli("verify")
    assert result.code == 1
    (line,) = result.lines
    assert line.startswith(f"FIX  {account.sid}: Twilio answered 401 (error 20003) to GET /Accounts/{account.sid}.json")
    assert line.endswith("the credentials were refused: check the secret's accountSid and token, or its API key")
    assert "Traceback" not in result.out + result.err
    assert "not-the-token" not in result.out + result.err


def test_a_secret_without_an_account_asks_for_one(cli: Cli, account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    cli.set_secret(TEST_AUTH_TOKEN)  # one plain token, as the local stack keeps it
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    result = cli("verify")
    assert (result.code, result.err.strip()) == (
        2,
        "error: the stack's secret names no account: pass --account AC... (or set $TWILIO_ACCOUNT_SID), or add "
        "accountSid to the secret (docs/reference/secret.md)",
    )
    assert cli("verify", "--account", account.sid).code == 0
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", account.sid)
    assert cli("verify").code == 0


def test_an_unreachable_api_is_one_line(cli: Cli, twilio: TwilioStandIn, account: Account) -> None:
    twilio.stop()
    result = cli("verify")
    assert result.code == 1
    assert result.lines == [
        f"FIX  {account.sid}: cannot reach {twilio.base_url.removeprefix('http://')}: connection failed"
    ]
    numbers = cli("twilio-numbers")
    assert numbers.code == 2
    assert numbers.err.strip().startswith("error: cannot reach 127.0.0.1:")


def test_twilio_numbers_says_what_points_here_is_registered_and_delivers(
    cli: Cli, twilio: TwilioStandIn, account: Account
) -> None:
    # GIVEN a registered number pointing here with POST, a registered one pointing here with GET, an unregistered
    # one elsewhere, and a Messaging Service that sends its numbers' messages elsewhere
    twilio.add_number(account.sid, SUPPORT, sms_url=TEST_WEBHOOK_URL + "#rc=2&rp=5xx")
    twilio.add_number(account.sid, SALES, sms_url=TEST_WEBHOOK_URL, sms_method="GET")
    in_service = twilio.add_number(account.sid, "+15005550003", sms_url=TEST_WEBHOOK_URL)
    other = twilio.add_number(account.sid, "+15005550004", sms_url="https://example.com/old")
    service = twilio.add_service(
        account.sid,
        friendly_name="Marketing",
        number_sids=[in_service.sid],
        inbound_request_url="https://example.com/mg",
    )
    cli.register(SUPPORT, SALES, "+15005550003")
    # WHEN listed as JSON
    result = cli("twilio-numbers", "--json")
    assert result.code == 0, result
    rows = {row["address"]: row for row in map(json.loads, result.lines)}
    # THEN each says where it points, and whether Twilio would deliver here
    expected = {
        SUPPORT: (True, True, True),
        SALES: (True, True, False),  # GET: refused by the webhook
        "+15005550003": (True, True, False),  # its service's URL wins
        other.phone_number: (False, False, False),
        service.sid: (False, False, False),
    }
    assert {
        address: (row["points_here"], row["registered"], row["delivers_here"]) for address, row in rows.items()
    } == expected
    assert rows["+15005550003"]["note"] == f"messages go to {service.sid}'s URL"
    assert rows[SUPPORT]["url"] == TEST_WEBHOOK_URL + "#rc=2&rp=5xx"
    # AND the table shows the same for a person
    table = cli("twilio-numbers").lines
    assert table[0] == f"this stack's webhook: {TEST_WEBHOOK_URL}"
    assert table[1].split() == [
        "ADDRESS",
        "METHOD",
        "WEBHOOK",
        "URL",
        "FALLBACK",
        "URL",
        "HERE",
        "REGISTERED",
        "DELIVERS",
        "NOTE",
    ]
    assert any(line.split()[:2] == [SALES, "GET"] and line.split()[4:7] == ["yes", "yes", "no"] for line in table)


@pytest.mark.parametrize("command", ["verify", "twilio-numbers", "connect", "doctor", "reconcile"])
def test_every_twilio_side_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    from twilio_inbound_cli.main import main

    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert "--account" in capsys.readouterr().out
