"""What the Twilio-side commands and reconcile ask Twilio for on a large account: requests proportional to what
they need, counted at the Twilio API stand-in (issue 20, item 15: `connect +1…` made 58 requests on an account of
61 numbers and 52 Messaging Services, about 10 s against Twilio; `doctor` and `twilio-numbers` alike)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from devtools.template import Stack
from devtools.twilio_api import TwilioStandIn
from devtools.twilio_api.models import Account, PhoneNumber, Service
from tests.unit.twilio_side.conftest import Cli
from twilio_inbound.messages_table import MessageStore
from twilio_inbound.opt_outs_table import OptOutStore
from twilio_inbound.reconciliation import Reconciler
from twilio_inbound.secrets import AccountSecrets
from twilio_inbound.twilio_rest import account_client
from twilio_inbound_cli.signing import TEST_AUTH_TOKEN, TEST_WEBHOOK_URL

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

NUMBERS = 61
SERVICES = 52
ELSEWHERE = "https://crm.example.com/in"


@dataclass
class LargeAccount:
    numbers: list[PhoneNumber]
    services: list[Service]

    def number(self, index: int) -> str:
        return self.numbers[index].phone_number


@pytest.fixture
def large(twilio: TwilioStandIn, account: Account) -> LargeAccount:
    """61 numbers and 52 Messaging Services of one number each (the last 9 numbers in none); two services send
    their numbers' messages to a URL of their own, the rest defer to their numbers' webhooks or have no URL."""
    numbers = [twilio.add_number(account.sid, f"+1500555{index:04d}") for index in range(NUMBERS)]
    services = []
    for index in range(SERVICES):
        settings: dict[str, object] = {"use_inbound_webhook_on_number": index % 2 == 0}
        if index in (7, 8):
            settings = {"inbound_request_url": ELSEWHERE, "use_inbound_webhook_on_number": False}
        services.append(
            twilio.add_service(account.sid, friendly_name=f"svc-{index}", number_sids=[numbers[index].sid], **settings)
        )
    twilio.clear_logs()
    return LargeAccount(numbers, services)


def requests_made(twilio: TwilioStandIn) -> Counter[str]:
    """Requests to Twilio's API by method and resource (SIDs and numbers folded), e.g. "GET /v1/Services"."""
    counted: Counter[str] = Counter()
    for record in twilio.requests("api"):
        parts = ["…" if part[:2] in ("AC", "PN", "MG") and len(part) >= 34 else part for part in record.path.split("/")]
        counted[f"{record.method} {'/'.join(parts)}"] += 1
    return counted


def test_connecting_one_number_reads_that_number_and_the_services_that_could_override_it(
    cli: Cli, twilio: TwilioStandIn, large: LargeAccount
) -> None:
    # GIVEN an account of 61 numbers and 52 Messaging Services
    # WHEN one number (in a service that defers to its numbers) is connected
    result = cli("connect", large.number(4))
    assert result.code == 0, result
    assert large.numbers[4].sms_url == TEST_WEBHOOK_URL
    # THEN Twilio is asked for that number, the services once, whether the two services that send to a URL of
    # their own hold it, and the change: 5 requests (58 before), whatever the number of numbers and services
    made = requests_made(twilio)
    assert sum(made.values()) == 5, made
    assert made["GET /2010-04-01/Accounts/…/IncomingPhoneNumbers.json"] == 1
    assert made["GET /v1/Services"] == 1
    assert made["GET /v1/Services/…/PhoneNumbers/…"] == 2
    assert made["POST /2010-04-01/Accounts/…/IncomingPhoneNumbers/…"] == 1


def test_connecting_a_number_a_service_overrides_still_says_where_its_messages_go(
    cli: Cli, twilio: TwilioStandIn, large: LargeAccount
) -> None:
    # GIVEN a number held by a service that sends its numbers' messages elsewhere
    result = cli("connect", large.number(7))
    # THEN the warning is as before, found with at most one membership read per overriding service
    assert result.code == 1
    assert result.lines[-1].startswith(f"  but its messages go to its Messaging Service {large.services[7].sid}'s URL")
    assert requests_made(twilio)["GET /v1/Services/…/PhoneNumbers/…"] <= 2
    assert sum(requests_made(twilio).values()) <= 5


def test_connecting_a_service_reads_that_service(cli: Cli, twilio: TwilioStandIn, large: LargeAccount) -> None:
    result = cli("connect", large.services[3].sid)
    assert result.code == 0, result
    made = requests_made(twilio)
    assert made == Counter({"GET /v1/Services/…": 1, "POST /v1/Services/…": 1}), made


@pytest.mark.parametrize("command", [["twilio-numbers"], ["doctor"]])
def test_reading_the_whole_account_pages_by_a_thousand_and_lists_only_the_members_that_matter(
    cli: Cli, twilio: TwilioStandIn, large: LargeAccount, command: list[str]
) -> None:
    # GIVEN one registered number
    cli.register(large.number(0))
    # WHEN the whole account is read
    cli(*command)
    # THEN numbers and services come in one page each, and only the services whose URL decides where their
    # numbers' messages go (or that are registered) are asked for their numbers: 2 of 52
    made = requests_made(twilio)
    assert made["GET /2010-04-01/Accounts/…/IncomingPhoneNumbers.json"] == 1
    assert made["GET /v1/Services"] == 1
    assert made["GET /v1/Services/…/PhoneNumbers"] == 2
    assert sum(made.values()) <= 4 + (command == ["doctor"]), made  # doctor also checks the credentials


def test_twilio_numbers_still_shows_which_service_sends_a_numbers_messages_elsewhere(
    cli: Cli, twilio: TwilioStandIn, large: LargeAccount
) -> None:
    rows = cli("twilio-numbers").lines
    (row,) = [line for line in rows if line.startswith(large.number(7))]
    assert f"messages go to {large.services[7].sid}'s URL" in row
    (row,) = [line for line in rows if line.startswith(large.number(4))]
    assert "messages go to" not in row


def test_a_reconcile_run_lists_a_thousand_messages_a_request(
    stack: Stack, cli: Cli, twilio: TwilioStandIn, account: Account
) -> None:
    # GIVEN one registered number with 1,001 inbound messages in the window
    number = twilio.add_number(account.sid, "+15005550001").phone_number
    cli.register(number)
    sent = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    for serial in range(1001):
        twilio.add_inbound_message(account.sid, sender=f"+1415{serial:07d}", to=number, body="hi", date_sent=sent)
    tables = stack.physical
    dynamodb = stack.session.client("dynamodb")
    store = MessageStore(dynamodb, tables["MessagesTable"]["Ref"], tables["OptOutsTable"]["Ref"])
    reconciler = Reconciler(store, cli.registry, OptOutStore(dynamodb, tables["OptOutsTable"]["Ref"]))
    client = account_client(AccountSecrets((TEST_AUTH_TOKEN,)), account.sid, api_base_url=twilio.base_url)
    twilio.clear_logs()
    # WHEN a run compares them with the table
    report = reconciler.run(client, [number], sent - timedelta(minutes=5), sent + timedelta(minutes=5))
    # THEN Twilio was asked for two pages (six at the 200 a page of before), and every message was compared
    listings = [record for record in twilio.requests("api") if record.path.endswith("/Messages.json")]
    assert (len(listings), report.checked) == (2, 1001)
