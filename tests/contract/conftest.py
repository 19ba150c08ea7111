"""Fixtures for the Twilio API stand-in's contract tests: the stand-in checking itself against Twilio's OpenAPI
description, an account, the official SDK pointed at it, and a receiver for the webhooks it sends.

These tests use real sockets on 127.0.0.1 only (each module sets pytest-socket's allow_hosts marker).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any
from urllib.parse import parse_qsl

import pytest

from devtools.twilio_api import TwilioStandIn
from devtools.twilio_api.models import Account, FormPairs


@pytest.fixture
def account(twilio: TwilioStandIn) -> Account:
    return twilio.add_account(friendly_name="Main")


@pytest.fixture
def client(twilio: TwilioStandIn, account: Account) -> Any:
    return twilio.client(account)


@dataclass(frozen=True)
class Received:
    method: str
    path: str  # with the query string
    headers: dict[str, str]
    form: FormPairs

    def param(self, name: str) -> str | None:
        return next((value for key, value in self.form if key == name), None)


class Receiver(ThreadingHTTPServer):
    """Stands in for our webhook endpoints: records each request, answers `status`."""

    daemon_threads = True

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.status = 200
        self.answer = b"<Response/>"  # TwiML for an inbound webhook
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver
    disable_nagle_algorithm = True

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.received.append(Received(self.command, self.path, headers, parse_qsl(body, keep_blank_values=True)))
        payload = self.server.answer
        self.send_response(self.server.status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _handle

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
