"""The Twilio side of a stack under test: the template's resources in moto, the stack's Twilio secret, the
Twilio API stand-in on 127.0.0.1 (checked against Twilio's OpenAPI description), and the operator CLI pointed
at both, as `make local` points it (an outputs file) with the stand-in's URL in $TWILIO_API_URL.

Test modules here talk to the stand-in over loopback: each sets pytest-socket's allow_hosts marker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devtools.template import Stack
from devtools.twilio_api import TwilioStandIn
from devtools.twilio_api.models import Account
from tests.unit.helpers import put_twilio_secret
from twilio_inbound.message_item import item_values
from twilio_inbound.numbers import NumberConfig
from twilio_inbound.numbers_table import NumberRegistry
from twilio_inbound_cli.signing import TEST_AUTH_TOKEN, TEST_WEBHOOK_URL

SUPPORT = "+15005550001"
SALES = "+15005550002"
CUSTOMER = "+14155550100"


@pytest.fixture
def account(twilio: TwilioStandIn) -> Account:
    return twilio.add_account(friendly_name="Main", auth_token=TEST_AUTH_TOKEN)


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


class Cli:
    """`twilio-inbound ...` in-process, against the moto stack and the stand-in."""

    def __init__(self, stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.stack = stack
        self.capsys = capsys
        self.outputs_file = tmp_path / "stack-outputs.json"
        self.secret_arn = ""
        self.outputs: dict[str, str] = {}

    def set_secret(self, document: dict[str, Any] | str) -> None:
        text = document if isinstance(document, str) else json.dumps(document)
        self.secret_arn = put_twilio_secret(self.stack, text)

    def write_outputs(self, **extra: str) -> None:
        self.outputs = {
            **self.stack.outputs(),
            "WebhookUrl": TEST_WEBHOOK_URL,
            "Region": "us-east-1",
            "EmulatorEndpoint": "",
            "TwilioAuthTokenSecretArn": self.secret_arn,
            **extra,
        }
        self.outputs_file.write_text(json.dumps(self.outputs), encoding="utf-8")

    def __call__(self, *argv: str) -> Result:
        from twilio_inbound_cli.main import main

        self.capsys.readouterr()
        code = main(list(argv))
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    @property
    def registry(self) -> NumberRegistry:
        return NumberRegistry(self.stack.session.client("dynamodb"), self.stack.physical["NumbersTable"]["Ref"])

    def register(self, *numbers: str) -> None:
        for number in numbers:
            self.registry.put(NumberConfig(number, name=f"line-{number[-4:]}"))

    def stored(self) -> dict[str, dict[str, Any]]:
        """The messages table, by MessageSid."""
        client = self.stack.session.client("dynamodb")
        items = client.scan(TableName=self.stack.physical["MessagesTable"]["Ref"])["Items"]
        return {str(record["messageSid"]): record for record in (item_values(item) for item in items)}


@pytest.fixture
def cli(
    stack: Stack,
    twilio: TwilioStandIn,
    account: Account,
    *,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Cli:
    """The CLI as an operator runs it against the local stack: a single-account secret naming its account."""
    from twilio_inbound_cli.target import Target

    runner = Cli(stack, tmp_path, capsys)
    runner.set_secret({"primary": TEST_AUTH_TOKEN, "accountSid": account.sid})
    runner.write_outputs()
    monkeypatch.setenv("TWILIO_INBOUND_OUTPUTS", str(runner.outputs_file))
    monkeypatch.setenv("TWILIO_API_URL", twilio.base_url)
    monkeypatch.setattr(Target, "client", lambda self, service: stack.session.client(service))
    return runner
