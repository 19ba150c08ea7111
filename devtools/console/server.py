"""The console as `make local` runs it: its own listener on 127.0.0.1, its own subscription to the topic, and two
watchers (the Twilio stand-in's messages, the dead-letter queues), all in the local stack's process.

Its own listener, not the webhook's: the webhook may listen on another address (--host) or be reached through a
tunnel (--public-base-url); the console, which sends messages and edits the registry, never is.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from werkzeug.serving import BaseWSGIServer, make_server

from devtools.console import dead_letters
from devtools.console.journal import Journal
from devtools.console.observe import Invoke, Observer
from devtools.console.phone import Phone
from devtools.pollers import PollingThread, QueuePoller
from devtools.ports import LOOPBACK
from devtools.subscriber import subscribe_queue
from twilio_inbound_cli.target import local_target

if TYPE_CHECKING:
    import boto3

    from devtools.twilio_api import TwilioStandIn

log = logging.getLogger("twilio_inbound.console")
DEAD_LETTER_SECONDS = 2.0  # how often the dead-letter queues are counted
PHONE_SECONDS = 1.0


class Console:
    def __init__(
        self,
        *,
        port: int,
        outputs: dict[str, str],
        stack_name: str,
        standin: TwilioStandIn | None,
        account_sid: str,
        webhook_url: str,
    ) -> None:
        """Binds the listener at once (a port in use fails here, at start-up); serves once started."""
        from devtools.console.app import create_app  # Flask, only when the console runs

        self.outputs = outputs
        self.stack_name = stack_name
        self.target = local_target(outputs)
        self.journal = Journal()
        self.observer = Observer(self.journal, self.queue_name)
        self.phone = Phone(standin, account_sid, webhook_url) if standin is not None else None
        self.stopping = threading.Event()
        self._server: BaseWSGIServer = make_server(LOOPBACK, port, create_app(self), threaded=True)
        self.url = f"http://{LOOPBACK}:{self._server.server_port}/console"
        self.threads: list[threading.Thread] = []

    def observe(self, function: str, invoke: Invoke) -> Invoke:
        return self.observer.observe(function, invoke)

    def queue_name(self, arn: str) -> str:
        return arn.rsplit(":", 1)[-1].removeprefix(f"{self.stack_name}-")

    def start(self, session: boto3.session.Session) -> None:
        """Subscribes the console's own queue to the topic (every event, raw, as a subscriber would), and serves."""
        queue_url, _ = subscribe_queue(
            self.target.client("sqs"),
            self.target.client("sns"),
            self.outputs["MessagesTopicArn"],
            f"{self.stack_name}-console",
        )
        arn = self.target.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        poller = QueuePoller(session, arn["Attributes"]["QueueArn"], self._published, {"BatchSize": 10}, function=None)
        self.threads = [
            PollingThread("console-topic", poller, self.stopping),
            threading.Thread(target=self._server.serve_forever, name="console-http", daemon=True),
            threading.Thread(target=self._watch_dead_letters, name="console-dead-letters", daemon=True),
        ]
        if self.phone is not None:
            watch = threading.Thread(target=self._watch_phone, args=(self.phone,), name="console-phone", daemon=True)
            self.threads.append(watch)
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.journal.touch("stopping")  # event streams notice at once
        self._server.shutdown()
        self._server.server_close()

    def _published(self, event: dict[str, Any]) -> None:
        for record in event["Records"]:
            sent = int(record["attributes"]["SentTimestamp"]) / 1000
            try:
                self.observer.published(json.loads(record["body"]), datetime.fromtimestamp(sent, UTC))
            except (ValueError, KeyError, TypeError, AttributeError):
                log.warning("console: not an event on the topic: %s", record["messageId"])

    def _watch_phone(self, phone: Phone) -> None:
        seen = phone.changes()
        while not self.stopping.is_set():
            phone.wait_for_change(PHONE_SECONDS)
            now = phone.changes()
            if now != seen:
                seen = now
                self.journal.touch("phone")

    def _watch_dead_letters(self) -> None:
        sqs = self.target.client("sqs")
        seen: dict[str, int] = {}
        while not self.stopping.wait(DEAD_LETTER_SECONDS):
            try:
                now = dead_letters.counts(sqs, self.outputs)
            except Exception:  # the emulator stopping under us, most likely: try again, or stop with it
                log.debug("console: counting dead letters failed", exc_info=True)
                continue
            if now != seen:
                seen = now
                self.journal.touch("dead-letters")
