"""Long commands show progress on a terminal and nothing else when piped: `reconcile`, `replay --since` and
`media replay` print the same JSON either way, and only a terminal (a real pseudo-terminal here) sees a count."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import select
import struct
import termios
from collections.abc import Iterator
from contextlib import redirect_stderr
from datetime import UTC, datetime, timedelta

import pytest

from devtools.twilio_api import TwilioStandIn
from devtools.twilio_api.models import Account
from tests.unit.twilio_side.conftest import CUSTOMER, Cli, Result
from twilio_inbound.message import build_record, check_parameters, group_pairs
from twilio_inbound.messages_table import MessageStore

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])
OWN = "+14155550199"


class Terminal:
    """A pseudo-terminal: what is written to `stream` is what an operator's terminal would show."""

    def __init__(self) -> None:
        self.controller, device = pty.openpty()
        fcntl.ioctl(device, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 24 rows, 100 columns
        self.stream = os.fdopen(device, "w", encoding="utf-8", buffering=1)

    def shown(self) -> str:
        self.stream.flush()
        chunks = []
        while select.select([self.controller], [], [], 0.2)[0]:
            chunks.append(os.read(self.controller, 65536))
        return b"".join(chunks).decode("utf-8", "replace")

    def close(self) -> None:
        self.stream.close()
        os.close(self.controller)


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    opened = Terminal()
    yield opened
    opened.close()


def on_terminal(cli: Cli, terminal: Terminal, *argv: str) -> Result:
    """The command with stderr on the terminal (capsys still takes stdout)."""
    with redirect_stderr(terminal.stream):
        result = cli(*argv)
    assert terminal.stream.isatty()
    return result


def piped(cli: Cli, *argv: str) -> Result:
    """The command with stdout and stderr read by a program, as in `twilio-inbound ... | jq`."""
    stderr = io.StringIO()
    with redirect_stderr(stderr):
        result = cli(*argv)
    return Result(result.code, result.out, stderr.getvalue())


def missed_messages(cli: Cli, twilio: TwilioStandIn, account: Account, count: int) -> list[str]:
    twilio.add_number(account.sid, OWN)
    cli.register(OWN)
    sent = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    return [
        twilio.add_inbound_message(account.sid, sender=CUSTOMER, to=OWN, body=f"missed {n}", date_sent=sent).sid
        for n in range(count)
    ]


def test_reconcile_counts_on_a_terminal_and_prints_the_same_json_when_piped(
    cli: Cli, twilio: TwilioStandIn, account: Account, terminal: Terminal
) -> None:
    # GIVEN three messages the webhook never got
    missed_messages(cli, twilio, account, 3)
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    # WHEN reconcile runs piped, then on a terminal
    quiet = piped(cli, "reconcile", "--since", since, "--until", datetime.now(UTC).isoformat())
    watched = on_terminal(cli, terminal, "reconcile", "--since", since, "--until", json.loads(quiet.out)["until"])
    # THEN piped, stderr is silent and stdout is the JSON report; on the terminal the report is the same
    assert quiet.err == ""
    assert json.loads(quiet.out)["checked"] == 3
    assert watched.out == quiet.out
    # AND the terminal saw the count of Twilio's messages compared
    shown = terminal.shown()
    assert "reconcile: " in shown
    assert "3 messages [" in shown


def test_replay_over_a_range_shows_done_of_found_on_a_terminal_only(
    cli: Cli, twilio: TwilioStandIn, account: Account, terminal: Terminal
) -> None:
    # GIVEN three stored messages
    store = MessageStore(
        cli.stack.session.client("dynamodb"),
        cli.stack.physical["MessagesTable"]["Ref"],
        cli.stack.physical["OptOutsTable"]["Ref"],
    )
    for sid in missed_messages(cli, twilio, account, 3):
        form = check_parameters(group_pairs(twilio.webhook_form(sid)))
        assert store.put_new(build_record(form, datetime.now(UTC)))
    window = ("--since", "2000-01-01T00:00:00Z", "--until", "2999-01-01T00:00:00Z")
    # WHEN replayed piped, then on a terminal
    quiet = piped(cli, "replay", *window)
    watched = on_terminal(cli, terminal, "replay", *window)
    # THEN both print the same JSON, piped stderr is silent, and the terminal saw 3 of 3 done
    assert quiet.err == ""
    assert len(json.loads(quiet.out)["published"]) == 3
    assert watched.out == quiet.out
    shown = terminal.shown()
    assert "replay: 100%" in shown
    assert "3/3" in shown


def test_media_replay_counts_moved_dead_letters_on_a_terminal_only(cli: Cli, terminal: Terminal) -> None:
    sqs = cli.stack.session.client("sqs")
    dead_letters = cli.stack.physical["MediaDeadLetterQueue"]["Ref"]

    def dead_letter(count: int) -> None:
        for n in range(count):
            sqs.send_message(QueueUrl=dead_letters, MessageBody=json.dumps({"n": n}))

    # GIVEN two dead letters, replayed piped
    dead_letter(2)
    quiet = piped(cli, "media", "replay")
    # THEN only the JSON result is printed
    assert (quiet.out, quiet.err) == ('{"moved": 2}\n', "")
    # WHEN two more are replayed on a terminal
    dead_letter(2)
    watched = on_terminal(cli, terminal, "media", "replay")
    # THEN stdout is the same JSON, and the terminal counted the messages moved
    assert watched.out == '{"moved": 2}\n'
    shown = terminal.shown()
    assert "media replay: " in shown
    assert "2 messages [" in shown
