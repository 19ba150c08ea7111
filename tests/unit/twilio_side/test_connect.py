"""`twilio-inbound connect` and `numbers add --connect` against the stand-in: the change shown before it is
made, no overwrite without --force, idempotence, Messaging Services, and connection overrides with which a
delivered webhook still verifies."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from devtools.apigw import GatewayServer
from devtools.lambda_runtime import Invoke
from devtools.twilio_api import TwilioStandIn
from devtools.twilio_api.models import Account
from tests.unit.twilio_side.conftest import CUSTOMER, SALES, SUPPORT, Cli
from twilio_inbound_cli.signing import TEST_WEBHOOK_URL

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])


def updates(twilio: TwilioStandIn) -> list[dict[str, str]]:
    """The changes Twilio was asked to make (POSTs to numbers and services), as forms."""
    return [dict(record.form) for record in twilio.requests("api") if record.method == "POST"]


def test_connect_shows_the_change_makes_it_and_a_second_run_changes_nothing(
    cli: Cli, twilio: TwilioStandIn, account: Account
) -> None:
    # GIVEN a number that has never had a webhook, and one answering GET
    number = twilio.add_number(account.sid, SUPPORT, sms_method="GET")
    # WHEN it is connected
    result = cli("connect", SUPPORT)
    # THEN the change was shown, then made
    assert result.code == 0, result
    assert result.lines == [
        f"{SUPPORT} ({number.sid}, account {account.sid}):",
        f"  SmsUrl     (none) -> {TEST_WEBHOOK_URL}",
        "  SmsMethod  GET -> POST",
        "  updated",
    ]
    assert (number.sms_url, number.sms_method) == (TEST_WEBHOOK_URL, "POST")
    assert updates(twilio) == [{"SmsUrl": TEST_WEBHOOK_URL, "SmsMethod": "POST"}]
    # AND running it again asks Twilio for nothing
    again = cli("connect", SUPPORT)
    assert (again.code, again.lines) == (
        0,
        [
            f"{SUPPORT} ({number.sid}, account {account.sid}): already points at {TEST_WEBHOOK_URL} with POST, "
            "nothing to change"
        ],
    )
    assert len(updates(twilio)) == 1


def test_another_url_is_replaced_only_with_force(cli: Cli, twilio: TwilioStandIn, account: Account) -> None:
    number = twilio.add_number(account.sid, SUPPORT, sms_url="https://old.example.com/sms")
    refused = cli("connect", SUPPORT)
    assert refused.code == 1
    assert refused.lines == [
        f"{SUPPORT} ({number.sid}, account {account.sid}): refused: it sends its messages to "
        "https://old.example.com/sms; pass --force to replace that URL"
    ]
    assert (number.sms_url, updates(twilio)) == ("https://old.example.com/sms", [])
    # --dry-run shows without changing
    dry = cli("connect", SUPPORT, "--force", "--dry-run")
    assert (dry.code, dry.lines[-1], number.sms_url) == (
        0,
        "  (dry run: nothing changed)",
        "https://old.example.com/sms",
    )
    forced = cli("connect", SUPPORT, "--force", "--fallback-url", "https://backup.example.com/sms")
    assert forced.code == 0, forced
    assert ["SmsUrl", "https://old.example.com/sms", "->", TEST_WEBHOOK_URL] in [line.split() for line in forced.lines]
    assert (number.sms_url, number.sms_fallback_url) == (TEST_WEBHOOK_URL, "https://backup.example.com/sms")


def test_unknown_numbers_and_bad_override_values_are_clear_errors(cli: Cli, twilio: TwilioStandIn) -> None:
    unknown = cli("connect", "+15005550099")
    assert unknown.code == 2
    assert "error: +15005550099 is not a phone number or Messaging Service of AC" in unknown.out
    twilio.clear_logs()
    bad = cli("connect", SUPPORT, "--retries", "9")
    assert (bad.code, bad.err.strip()) == (2, "error: --retries must be between 0 and 5")
    nothing = cli("connect")
    assert nothing.code == 2
    assert twilio.requests("api") == []  # both refused before any request


def test_a_messaging_service_is_connected_to_use_its_own_url(cli: Cli, twilio: TwilioStandIn, account: Account) -> None:
    member = twilio.add_number(account.sid, SALES, sms_url="https://elsewhere.example.com/sms")
    service = twilio.add_service(account.sid, number_sids=[member.sid], use_inbound_webhook_on_number=True)
    result = cli("connect", service.sid)
    assert result.code == 0, result
    assert "  UseInboundWebhookOnNumber  true -> false" in result.lines
    assert (service.inbound_request_url, service.inbound_method, service.use_inbound_webhook_on_number) == (
        TEST_WEBHOOK_URL,
        "POST",
        False,
    )
    rows = cli("twilio-numbers", "--json").out
    assert f'"address": "{SALES}"' in rows
    assert '"delivers_here": true' in rows  # through its service, although the number points elsewhere


def test_connecting_a_number_its_service_overrides_says_messages_still_go_elsewhere(
    cli: Cli, twilio: TwilioStandIn, account: Account
) -> None:
    member = twilio.add_number(account.sid, SALES)
    service = twilio.add_service(
        account.sid, number_sids=[member.sid], inbound_request_url="https://crm.example.com/in"
    )
    result = cli("connect", SALES)
    assert result.code == 1
    assert member.sms_url == TEST_WEBHOOK_URL
    assert result.lines[-1].startswith(f"  but its messages go to its Messaging Service {service.sid}'s URL")


def test_connect_registered_and_numbers_add_connect(cli: Cli, twilio: TwilioStandIn, account: Account) -> None:
    support = twilio.add_number(account.sid, SUPPORT)
    sales = twilio.add_number(account.sid, SALES, sms_url="https://old.example.com/sms")
    cli.register(SUPPORT, "whatsapp:+15005550009")
    registered = cli("connect", "--registered")
    assert registered.code == 0, registered
    assert (
        registered.lines[0]
        == "whatsapp:+15005550009: skipped: a channel sender's webhook is set in Twilio's sender settings"
    )
    assert support.sms_url == TEST_WEBHOOK_URL
    # numbers add --connect: refused (another URL) registers nothing; with --force both happen
    refused = cli("numbers", "add", SALES, "--name", "sales", "--connect")
    assert refused.code == 1
    assert cli.registry.get(SALES) is None
    added = cli("numbers", "add", SALES, "--name", "sales", "--connect", "--force")
    assert added.code == 0, added
    assert sales.sms_url == TEST_WEBHOOK_URL
    assert cli.registry.get(SALES) is not None


@pytest.fixture
def gateway(ingest: Invoke) -> Iterator[str]:
    """The ingest function behind a local HTTP server (API Gateway's event shape), as `make local` runs it."""
    server = GatewayServer(("127.0.0.1", 0), {"/sms": ingest})
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/sms"
    server.shutdown()
    server.server_close()


def test_with_connection_overrides_a_delivered_webhook_still_verifies(
    cli: Cli, twilio: TwilioStandIn, account: Account, gateway: str
) -> None:
    # GIVEN the stack's webhook served locally, and a number connected with retries and timeouts
    cli.write_outputs(WebhookUrl=gateway)
    number = twilio.add_number(account.sid, SUPPORT)
    options = ("--retries", "3", "--retry-on", "5xx", "--retry-on", "ct", "--connect-timeout", "2000")
    result = cli("connect", SUPPORT, *options, "--total-timeout", "14000")
    assert result.code == 0, result
    assert number.sms_url == f"{gateway}#ct=2000&tt=14000&rc=3&rp=5xx,ct"
    # WHEN Twilio delivers an inbound message to it
    message = twilio.add_inbound_message(account.sid, sender=CUSTOMER, to=SUPPORT, body="hello through overrides")
    delivery = twilio.deliver_inbound(message.sid)
    # THEN the signature verified (the fragment is not part of what Twilio signs or sends) and it is stored
    assert (delivery.status, delivery.url) == (200, gateway), delivery.response_body
    assert cli.stored()[message.sid]["body"] == "hello through overrides"
    # AND connecting again keeps the overrides: nothing to change
    assert "nothing to change" in cli("connect", SUPPORT).out
