"""`make local` with media: `make send ARGS='--seed-media …'` puts the media in the Twilio API stand-in the
local stack started, the media function archives it in the local bucket, a subscriber gets media.archived,
the local stack prints the archived objects, and `twilio-inbound media url` presigns them."""

from __future__ import annotations

import hashlib
import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from devtools.template import ROOT
from tests.integration.helpers import LocalStack
from twilio_inbound.cloudevent import MEDIA_ARCHIVED_TYPE
from twilio_inbound_cli.main import main

pytestmark = pytest.mark.integration

SCHEMA = json.loads((ROOT / "schemas" / "media-archived.v1.json").read_text())


def receive_one(stack: LocalStack, queue: str, timeout: float = 60.0) -> dict[str, Any]:
    sqs = stack.client("sqs")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", []):
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            event: dict[str, Any] = json.loads(message["Body"])
            return event
    raise AssertionError(f"no media.archived event within {timeout} s:\n{stack.process.log()[-3000:]}")


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (the local stack's own URLs)
        body: bytes = response.read()
        return body


def test_an_mms_with_two_media_is_archived_announced_printed_and_presigned(
    local_stack: LocalStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a subscriber for media events, and the CLI pointed at this local stack
    queue = local_stack.subscribe("media-subscriber", {"eventType": [MEDIA_ARCHIVED_TYPE]})
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(local_stack.outputs))
    monkeypatch.setenv("TWILIO_INBOUND_OUTPUTS", str(outputs))

    # WHEN an MMS with a photo and a PDF held by the Twilio stand-in is sent (make send ARGS='--seed-media …')
    args = ["send", "--url", local_stack.url, "--body", "two files"]
    assert main([*args, "--seed-media", "image/jpeg,300000", "--seed-media", "application/pdf,1200000"]) == 0
    sid = capsys.readouterr().out.splitlines()[0].split()[-1]  # "200 text/xml; charset=utf-8 MM…"

    # THEN one media.archived event names both objects, schema-valid
    event = receive_one(local_stack, queue)
    jsonschema.validate(event, SCHEMA)
    assert event["id"] == f"{sid}:media"
    media = event["data"]["media"]
    assert [(item["archived"], item["contentType"], item["size"]) for item in media] == [
        (True, "image/jpeg", 300_000),
        (True, "application/pdf", 1_200_000),
    ]
    # AND the bucket holds exactly the bytes the stand-in served (its own SHA-256 of each item)
    admin = local_stack.outputs["TwilioStandInAdminUrl"]
    held = json.loads(get(f"{admin}messages/{sid}"))["media"]
    s3 = local_stack.client("s3")
    for item, original in zip(media, held, strict=True):
        body = s3.get_object(Bucket=item["bucket"], Key=item["key"])["Body"].read()
        assert hashlib.sha256(body).hexdigest() == item["sha256"] == original["sha256"]
        assert (
            item["key"]
            == f"media/{sid}/{media.index(item)}-{original['sid']}{'.jpg' if 'jpeg' in item['contentType'] else '.pdf'}"
        )
    # AND the local stack printed the archived objects
    deadline = time.monotonic() + 10
    while f"archived  {sid} media 1: s3://" not in local_stack.process.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert f"archived  {sid} media 0: s3://{media[0]['bucket']}/{media[0]['key']} image/jpeg 300,000 B" in (
        local_stack.process.log()
    )
    # AND a presigned URL serves the object without any Twilio credentials
    assert main(["media", "url", sid, "1", "--expires", "60"]) == 0
    url = capsys.readouterr().out.strip()
    assert hashlib.sha256(get(url)).hexdigest() == media[1]["sha256"]
