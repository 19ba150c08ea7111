"""Reconcile and backfill: Twilio's inbound messages (stand-in, paged) against the table (moto), the missing ones
stored once as the webhook would have, marked recovered and published; the CLI and the scheduled function."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest

from devtools.lambda_runtime import Invoke, load_function
from devtools.template import Stack
from devtools.twilio_api import MediaSpec, TwilioStandIn
from devtools.twilio_api.models import Account
from tests.unit.helpers import SCHEMA, drain, publish_stream, subscribe_queue
from tests.unit.twilio_side.conftest import CUSTOMER, SALES, SUPPORT, Cli
from twilio_inbound.clock import iso_millis
from twilio_inbound.message import build_record, check_parameters, group_pairs, opt_out_change
from twilio_inbound.message_item import message_item
from twilio_inbound.messages_table import MessageStore, record_from_item
from twilio_inbound.opt_outs_table import OptOutStore
from twilio_inbound.reconciliation import Reconciler
from twilio_inbound.secrets import AccountSecrets
from twilio_inbound.twilio_rest import account_client
from twilio_inbound_cli.signing import TEST_AUTH_TOKEN

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])
OWN = "+14155550199"  # a number Twilio's test credentials would not treat as magic


def minutes_ago(minutes: int) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes)


def message_store(stack: Stack) -> MessageStore:
    tables = stack.physical
    return MessageStore(stack.session.client("dynamodb"), tables["MessagesTable"]["Ref"], tables["OptOutsTable"]["Ref"])


def optout_store(stack: Stack) -> OptOutStore:
    return OptOutStore(stack.session.client("dynamodb"), stack.physical["OptOutsTable"]["Ref"])


def webhook_stored(stack: Stack, twilio: TwilioStandIn, sid: str) -> None:
    """The message as the webhook stored it when it did get it."""
    record = build_record(
        check_parameters(group_pairs(twilio.webhook_form(sid))), twilio.message(sid).date_sent or minutes_ago(0)
    )
    assert message_store(stack).put_new(record)


def reconcile(cli: Cli, *options: str) -> tuple[int, dict[str, Any]]:
    result = cli("reconcile", "--since", minutes_ago(60).isoformat(), *options)
    assert not result.err, result.err
    return result.code, json.loads(result.out)


def test_reconcile_finds_missing_and_different_and_backfill_stores_each_once(
    cli: Cli, twilio: TwilioStandIn, account: Account
) -> None:
    # GIVEN a registered number; the webhook stored two of its messages (one of them since edited), and missed an
    # SMS, an MMS and a STOP
    twilio.add_number(account.sid, OWN)
    twilio.add_number(account.sid, SALES)
    cli.register(OWN)
    stored = twilio.add_inbound_message(account.sid, sender=CUSTOMER, to=OWN, body="got it", date_sent=minutes_ago(50))
    edited = twilio.add_inbound_message(
        account.sid, sender=CUSTOMER, to=OWN, body="original", date_sent=minutes_ago(40)
    )
    for sid in (stored.sid, edited.sid):
        webhook_stored(cli.stack, twilio, sid)
    table, client = cli.stack.physical["MessagesTable"]["Ref"], cli.stack.session.client("dynamodb")
    record = record_from_item(client.get_item(TableName=table, Key={"messageSid": {"S": edited.sid}})["Item"])
    record["parameters"]["Body"] = "edited"
    client.put_item(TableName=table, Item=message_item(record))
    sms_sent = minutes_ago(30)
    sms = twilio.add_inbound_message(account.sid, sender=CUSTOMER, to=OWN, body="anyone there?", date_sent=sms_sent)
    photos = [MediaSpec(content_type="image/jpeg"), MediaSpec(content_type="image/png")]
    mms = twilio.add_inbound_message(
        account.sid, sender=CUSTOMER, to=OWN, body="photos", media=photos, date_sent=minutes_ago(20)
    )
    stop = twilio.add_inbound_message(
        account.sid, sender="+14155550111", to=OWN, body="STOP", date_sent=minutes_ago(10)
    )
    # AND messages reconcile must leave alone: too old, to an unregistered number, and an outbound one to the number
    twilio.add_inbound_message(account.sid, sender=CUSTOMER, to=OWN, body="old", date_sent=minutes_ago(600))
    twilio.add_inbound_message(account.sid, sender=CUSTOMER, to=SALES, body="not ours", date_sent=minutes_ago(5))
    twilio.client(account).messages.create(to=OWN, from_=SALES, body="outbound to the number")

    # WHEN reconciled without --backfill
    code, found = reconcile(cli)
    # THEN it reports, and stores nothing
    missing = [sms.sid, mms.sid, stop.sid]
    assert code == 1
    assert (found["numbers"], found["checked"], found["present"]) == ([OWN], 5, 2)
    assert sorted(found["missing"]) == sorted(missing)
    assert found["different"] == [{"message_sid": edited.sid, "fields": ["body"]}]
    assert (found["recovered"], found["complete"]) == ([], True)
    assert set(cli.stored()) == {stored.sid, edited.sid}

    # WHEN backfilled
    code, found = reconcile(cli, "--backfill")
    assert sorted(found["recovered"]) == sorted(missing)
    assert code == 1  # the edited message still differs
    # THEN each is stored as the webhook would have, marked recovered, with what the API does not return empty
    records = cli.stored()
    recovered = records[sms.sid]
    assert recovered["recovered"] is True
    assert (recovered["body"], recovered["from"], recovered["to"], recovered["channel"]) == (
        "anyone there?",
        CUSTOMER,
        OWN,
        "sms",
    )
    assert (recovered["fromCity"], recovered["toZip"], recovered["entryPoint"]["name"]) == ("", "", "line-0199")
    assert recovered["receivedAt"] == iso_millis(sms_sent)
    media = records[mms.sid]["media"]
    assert [item["contentType"] for item in media] == ["image/jpeg", "image/png"]
    assert media[0]["url"] == f"https://api.twilio.com/2010-04-01/Accounts/{account.sid}/Messages/{mms.sid}/Media/" + (
        twilio.media_of(mms.sid)[0].sid
    )
    assert (records[stop.sid]["optOutType"], records[mms.sid]["channel"]) == ("STOP", "mms")
    assert optout_store(cli.stack).is_opted_out(OWN, "+14155550111")
    assert records[stored.sid].get("recovered") is None

    # AND a second run stores nothing
    code, again = reconcile(cli, "--backfill")
    assert (again["recovered"], again["missing"], again["present"]) == ([], [], 5)
    assert len(cli.stored()) == 5

    # AND the stream publishes each recovered message once, as a valid event that says it was recovered
    queue = subscribe_queue(cli.stack)
    publish_stream(cli.stack, optout_store(cli.stack))
    events = [item["event"] for item in drain(cli.stack, queue)]
    for event in events:
        jsonschema.validate(event, SCHEMA)
    assert sorted(event["id"] for event in events if event["data"].get("recovered")) == sorted(missing)
    assert sorted(event["id"] for event in events) == sorted([stored.sid, edited.sid, *missing])


def test_a_recovered_stop_does_not_undo_the_start_that_followed_it(
    cli: Cli, twilio: TwilioStandIn, account: Account
) -> None:
    twilio.add_number(account.sid, SUPPORT)
    cli.register(SUPPORT)
    missed_stop = twilio.add_inbound_message(
        account.sid, sender=CUSTOMER, to=SUPPORT, body="STOP", date_sent=minutes_ago(20)
    )
    start = twilio.add_inbound_message(
        account.sid, sender=CUSTOMER, to=SUPPORT, body="START", date_sent=minutes_ago(10)
    )
    record = build_record(check_parameters(group_pairs(twilio.webhook_form(start.sid))), minutes_ago(10))
    message_store(cli.stack).put_new(record, opt_out_change(record))
    code, found = reconcile(cli, "--backfill")
    assert (code, found["recovered"]) == (0, [missed_stop.sid])
    assert not optout_store(cli.stack).is_opted_out(SUPPORT, CUSTOMER)


def test_reconcile_follows_every_page_and_waits_out_a_429(
    stack: Stack, cli: Cli, twilio: TwilioStandIn, account: Account
) -> None:
    # GIVEN seven inbound messages and a list page size of two, and Twilio answering one page with 429
    twilio.add_number(account.sid, SUPPORT)
    sids = {
        twilio.add_inbound_message(
            account.sid, sender=CUSTOMER, to=SUPPORT, body=f"m{i}", date_sent=minutes_ago(i + 1)
        ).sid
        for i in range(7)
    }
    twilio.fail_next(r"/Messages\.json$", status=429, retry_after=0)
    reconciler = Reconciler(message_store(stack), cli.registry, optout_store(stack), page_size=2)
    client = account_client(AccountSecrets((TEST_AUTH_TOKEN,)), account.sid, api_base_url=twilio.base_url)
    # WHEN reconciled with backfill
    report = reconciler.run(client, [SUPPORT], minutes_ago(60), minutes_ago(0), backfill=True)
    # THEN every page was read (four, one of them twice), and every message stored
    listings = [record for record in twilio.requests("api") if record.path.endswith("/Messages.json")]
    assert [record.status for record in listings] == [429, 200, 200, 200, 200]
    assert sum(1 for record in listings if dict(record.query).get("PageToken")) == 3
    assert (report.checked, set(report.recovered), report.complete) == (7, sids, True)
    assert set(cli.stored()) == sids


def test_reconcile_reports_an_unreachable_api_and_bad_dates_clearly(cli: Cli, twilio: TwilioStandIn) -> None:
    cli.register(SUPPORT)
    twilio.stop()
    result = cli("reconcile", "--since", minutes_ago(60).isoformat())
    assert result.code == 2
    assert result.err.startswith("error: cannot reach 127.0.0.1:")
    with pytest.raises(SystemExit):
        cli("reconcile", "--since", "yesterday")


# ---------------------------------------------------------------- the scheduled function


@pytest.fixture
def reconcile_function(stack: Stack, cli: Cli, twilio: TwilioStandIn) -> Callable[..., Invoke]:
    """The template's ReconcileFunction, loaded with the stack's secret and the stand-in's URL."""

    def load(**environment: str) -> Invoke:
        overrides = {"TWILIO_AUTH_TOKEN_SECRET_ARN": cli.secret_arn, "TWILIO_API_URL": twilio.base_url, **environment}
        return load_function(stack.functions()["ReconcileFunction"], overrides, fresh=True)

    return load


def metric_values(output: str, name: str) -> list[float]:
    """The values of a metric in the Powertools EMF lines a function printed."""
    values = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            document = json.loads(line)
            if name in document:  # a list when the invocation added the metric more than once
                value = document[name]
                values += value if isinstance(value, list) else [value]
    return values


def test_the_scheduled_function_recovers_once_and_reports_a_metric(
    cli: Cli,
    twilio: TwilioStandIn,
    account: Account,
    reconcile_function: Callable[..., Invoke],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a message the webhook missed 10 minutes ago, another 1 minute ago (maybe still being delivered)
    twilio.add_number(account.sid, SUPPORT)
    cli.register(SUPPORT)
    missed = twilio.add_inbound_message(
        account.sid, sender=CUSTOMER, to=SUPPORT, body="hello?", date_sent=minutes_ago(10)
    )
    twilio.add_inbound_message(account.sid, sender=CUSTOMER, to=SUPPORT, body="just now", date_sent=datetime.now(UTC))
    invoke = reconcile_function(RECONCILE_EVERY_MINUTES="15")
    capsys.readouterr()
    # WHEN the schedule runs it twice
    first = invoke({})
    second = invoke({})
    output = capsys.readouterr().out
    # THEN the first run stored the settled message, marked recovered; the second stored nothing
    assert (first["recovered"], first["complete"], second["recovered"]) == ([missed.sid], True, [])
    assert set(cli.stored()) == {missed.sid}
    assert cli.stored()[missed.sid]["recovered"] is True
    assert metric_values(output, "MessagesRecovered") == [1.0, 0.0]


def test_the_scheduled_function_bounds_its_own_run_time(
    cli: Cli, twilio: TwilioStandIn, account: Account, reconcile_function: Callable[..., Invoke]
) -> None:
    twilio.add_number(account.sid, SUPPORT)
    cli.register(SUPPORT)
    twilio.add_inbound_message(account.sid, sender=CUSTOMER, to=SUPPORT, body="hello?", date_sent=minutes_ago(10))
    result = reconcile_function(RUN_SECONDS="0")({})
    assert (result["complete"], result["recovered"]) == (False, [])
    assert not [record for record in twilio.requests("api") if "/Messages" in record.path]


@pytest.mark.filterwarnings("ignore:No application metrics to publish")  # a failed run counts nothing
def test_the_scheduled_function_fails_visibly_when_twilio_refuses_it(
    cli: Cli, account: Account, reconcile_function: Callable[..., Invoke]
) -> None:
    cli.register(SUPPORT)
    cli.set_secret({"primary": "revoked", "accountSid": account.sid})
    with pytest.raises(RuntimeError, match="Twilio answered 401"):
        reconcile_function()({})


# ---------------------------------------------------------------- issue 20, item 4: never back past the retention
def test_4_a_backfill_never_stores_again_what_the_retention_expired_and_says_how_many(
    cli: Cli, twilio: TwilioStandIn, account: Account
) -> None:
    # GIVEN a stack deployed with RetentionDays=7, and Twilio's log of a registered number holding a 40-day-old
    # message (which the table stored, then deleted after 7 days) and a missed one from yesterday
    cli.write_outputs(RetentionDays="7")
    twilio.add_number(account.sid, OWN)
    cli.register(OWN)
    days_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(days=40)
    expired = twilio.add_inbound_message(account.sid, sender=CUSTOMER, to=OWN, body="old news", date_sent=days_ago)
    missed = twilio.add_inbound_message(account.sid, sender=CUSTOMER, to=OWN, body="hi", date_sent=minutes_ago(1440))
    queue = subscribe_queue(cli.stack)
    # WHEN an operator backfills the last 60 days
    result = cli("reconcile", "--since", (days_ago - timedelta(days=20)).isoformat(), "--backfill")
    report = json.loads(result.out)
    publish_stream(cli.stack, optout_store(cli.stack))
    # THEN only yesterday's message is stored and published; the expired one is counted, not resurrected
    assert set(cli.stored()) == {missed.sid}
    assert [item["event"]["id"] for item in drain(cli.stack, queue)] == [missed.sid]
    assert result.code == 0, result.out
    assert (report["recovered"], report["pastRetention"], report["missing"]) == ([missed.sid], 1, [missed.sid])
    assert expired.sid not in result.out


def test_the_scheduled_function_recovers_a_missed_stop_and_its_opt_out(
    cli: Cli, twilio: TwilioStandIn, account: Account, reconcile_function: Callable[..., Invoke]
) -> None:
    # GIVEN a STOP the webhook missed
    twilio.add_number(account.sid, SUPPORT)
    cli.register(SUPPORT)
    stop = twilio.add_inbound_message(account.sid, sender=CUSTOMER, to=SUPPORT, body="STOP", date_sent=minutes_ago(10))
    # WHEN the schedule runs
    reconcile_function(RECONCILE_EVERY_MINUTES="15")({})
    # THEN the STOP is stored, and the customer is opted out, as if the webhook had received it
    assert stop.sid in cli.stored()
    assert optout_store(cli.stack).is_opted_out(SUPPORT, CUSTOMER)
