"""Stopping `make local` mid-load (issue 11, item 6): Ctrl-C/SIGTERM stops taking requests, delivers what is
stored, and never loses a message without saying so."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from devtools.local_process import LocalStackProcess
from twilio_inbound_cli.send_command import post_signed
from twilio_inbound_cli.signing import TEST_AUTH_TOKEN, inbound_form, new_message_sid

pytestmark = pytest.mark.integration

BURST = 60


def _burst_then_stop(process: LocalStackProcess) -> tuple[set[str], set[str], str]:
    """Sends a burst, stops the stack as soon as the last answer is in; what was sent, what the example consumer
    printed as delivered, and the line the stack printed on stopping."""
    url = process.wait_for_outputs()["WebhookUrl"]
    sent = {new_message_sid() for _ in range(BURST)}
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda sid: post_signed(url, inbound_form(body="burst", message_sid=sid), TEST_AUTH_TOKEN), sent)
        )
    assert [status for status, _, _ in answers] == [200] * BURST
    assert process.stop() == 0, process.log()
    lines = process.log().splitlines()
    delivered = {line.split()[1] for line in lines if line.startswith("delivered ")}
    stopped = [line for line in lines if line.startswith("stopped")]
    assert len(stopped) == 1, lines[-5:]  # the pollers may still print a batch they had begun after it
    return sent, delivered, stopped[0]


def test_stopping_mid_burst_delivers_every_stored_message(tmp_path: Path) -> None:
    # GIVEN a burst answered 200 (stored) WHEN the stack is stopped at once THEN all of it is delivered first
    sent, delivered, stopped = _burst_then_stop(LocalStackProcess(tmp_path))
    assert delivered == sent, f"sent={len(sent)} delivered={len(sent & delivered)}"
    assert re.fullmatch(r"stopped after [\d.]+ s: everything stored was delivered", stopped)


def test_giving_up_says_how_many_were_still_in_flight(tmp_path: Path) -> None:
    # GIVEN no time to drain WHEN the stack is stopped mid-burst THEN whatever was not delivered is counted
    sent, delivered, stopped = _burst_then_stop(LocalStackProcess(tmp_path, extra_args=["--drain-seconds", "0"]))
    counted = re.fullmatch(r"stopped after [\d.]+ s with (\d+) still in flight \(.*\): .* lost", stopped)
    if counted is None:  # it was all delivered before the first count
        assert re.fullmatch(r"stopped after [\d.]+ s: everything stored was delivered", stopped)
        assert delivered == sent
    else:
        assert len(sent - delivered) <= int(counted.group(1)), stopped
