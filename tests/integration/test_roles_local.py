"""`make local` runs each function as its role: a permission taken away from a role (in a copy of the template)
makes the emulator refuse the call, the message is refused as the failure table says (503: Twilio retries or
uses the fallback URL; nothing stored), and the console says which action was denied."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from devtools.local_process import LocalStackProcess
from tests.integration.helpers import LocalStack, stored
from tests.unit.test_roles import INGEST_PUT_ITEM, without
from twilio_inbound_cli.send_command import post_signed
from twilio_inbound_cli.signing import TEST_AUTH_TOKEN, inbound_form, new_message_sid

pytestmark = pytest.mark.integration


def test_a_permission_taken_from_the_ingest_role_refuses_the_message_with_a_denied_line(tmp_path: Path) -> None:
    # GIVEN the local stack of a template whose ingest role lacks dynamodb:PutItem (its calls are not recorded:
    # the suite would rightly fail them)
    template = without(tmp_path, INGEST_PUT_ITEM)
    process = LocalStackProcess(tmp_path, extra_args=["--template", str(template)])
    try:
        stack = LocalStack(process, process.wait_for_outputs())
        # WHEN Twilio delivers a message
        form = inbound_form(body="denied", message_sid=new_message_sid())
        status = post_signed(stack.url, form, TEST_AUTH_TOKEN)[0]
        # THEN it is refused with a 503 (Twilio retries), nothing is stored, and the console names the denial
        assert status == 503
        assert stored(stack, dict(form)["MessageSid"]) is None
        deadline = time.monotonic() + 10
        while "denied    IngestFunction" not in process.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        log = process.log()
        assert (
            "denied    IngestFunction dynamodb:PutItem on arn:aws:dynamodb:us-east-1:123456789012:table/"
            "twilio-inbound-local-MessagesTable (AccessDeniedException)" in log
        ), log
        assert "AWS call failed: AccessDeniedException (PutItem)" in log
    finally:
        assert process.stop() == 0, process.log()
