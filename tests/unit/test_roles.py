"""A permission taken away from a role fails the suite: the same tests, against a copy of the template without it,
fail naming the function, the action and the resource (tests/iam_check.py). The real template passes them (they
run in the suite as they are)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.template import ROOT, TEMPLATE_PATH

INGEST_PUT_ITEM = """              - Effect: Allow
                Action: dynamodb:PutItem
                Resource: !GetAtt MessagesTable.Arn
"""
MEDIA_PUT_OBJECT = "                Action: [s3:PutObject, s3:GetObject]\n"


def without(tmp_path: Path, text: str, replacement: str = "") -> Path:
    """A copy of template.yaml with `text` (once, exactly) replaced."""
    template = TEMPLATE_PATH.read_text(encoding="utf-8")
    assert template.count(text) == 1, "the template changed: update the permission this test takes away"
    copy = tmp_path / "template.yaml"
    copy.write_text(template.replace(text, replacement), encoding="utf-8")
    return copy


def run_tests(template: Path, *tests: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
        cwd=ROOT,
        env={**os.environ, "TWILIO_INBOUND_TEMPLATE": str(template)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize(
    ("taken_away", "replacement", "test", "expected"),
    [
        (
            INGEST_PUT_ITEM,
            "",
            "tests/unit/test_ingest.py::test_repeat_delivery_is_acknowledged_and_stored_once",
            "IngestFunction is not allowed dynamodb:PutItem on "
            "arn:aws:dynamodb:us-east-1:123456789012:table/twilio-inbound-test-MessagesTable",
        ),
        (
            MEDIA_PUT_OBJECT,
            "                Action: s3:GetObject\n",
            "tests/unit/test_media.py::test_an_mms_is_announced_at_once_and_its_media_archived_then_announced_once",
            "MediaFunction is not allowed s3:PutObject on arn:aws:s3:::twilio-inbound-test-mediabucket/media/",
        ),
    ],
    ids=["ingest-dynamodb:PutItem", "media-s3:PutObject"],
)
def test_a_permission_taken_from_a_role_fails_the_suite(
    tmp_path: Path, taken_away: str, replacement: str, test: str, expected: str
) -> None:
    # GIVEN the template without one permission its function uses
    template = without(tmp_path, taken_away, replacement)
    # WHEN a test that makes the function use it runs
    result = run_tests(template, test)
    # THEN it fails, naming the function, the action and the resource
    assert result.returncode == 1, result.stdout[-3000:]
    assert expected in result.stdout, result.stdout[-3000:]
