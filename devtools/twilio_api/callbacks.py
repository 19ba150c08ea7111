"""Signed requests the stand-in makes as Twilio does: status callbacks and inbound message webhooks.

Each is form-encoded and carries X-Twilio-Signature computed with twilio's RequestValidator over the URL and
the parameters with the account's auth token (twilio_inbound_cli.signing). Like Twilio, the stand-in does not retry a
callback that failed; it records every attempt. Automatic status progress runs on one worker thread, so a
message's callbacks leave in order; tests send others (out of order, repeated) directly.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Callable
from datetime import UTC
from urllib.parse import urldefrag

import requests

from devtools.twilio_api.models import CallbackRecord, FormPairs, Message
from devtools.twilio_api.resources import API_VERSION
from devtools.twilio_api.store import Store
from twilio_inbound_cli.signing import signature

logger = logging.getLogger(__name__)
TIMEOUT_SECONDS = 15  # Twilio gives a webhook 15 s
USER_AGENT = "TwilioProxy/1.1"


def status_params(message: Message, status: str, error_code: int | None) -> FormPairs:
    """The parameters of a status callback for an SMS/MMS/WhatsApp message."""
    pairs: FormPairs = [
        ("AccountSid", message.account_sid),
        ("ApiVersion", API_VERSION),
        ("From", message.from_ or ""),
        ("MessageSid", message.sid),
        ("MessageStatus", status),
        ("SmsSid", message.sid),
        ("SmsStatus", status),
        ("To", message.to),
    ]
    if message.messaging_service_sid:
        pairs.append(("MessagingServiceSid", message.messaging_service_sid))
    if error_code is not None and status in ("failed", "undelivered"):
        pairs.append(("ErrorCode", str(error_code)))
    if status == "delivered" and message.date_sent is not None:
        pairs.append(("RawDlrDoneDate", message.date_sent.astimezone(UTC).strftime("%y%m%d%H%M")))
    return pairs


def send(
    store: Store, *, kind: str, message_sid: str, url: str, method: str, pairs: FormPairs, token: str
) -> CallbackRecord:
    """One signed request (POST form, or GET with the parameters in the query), recorded whatever happens."""
    # A #fragment holds Twilio's connection overrides (#rc=3&rp=5xx...): instructions to Twilio, never sent,
    # so the receiver cannot see them and Twilio signs and calls the URL without them.
    url = urldefrag(url).url
    target = url
    if method == "GET":
        target = requests.Request("GET", url, params=pairs).prepare().url or url
    signed = signature(target, [] if method == "GET" else pairs, token)
    headers = {
        "X-Twilio-Signature": signed,
        "User-Agent": USER_AGENT,
        "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
    }
    status: int | None = None
    error: str | None = None
    text = ""
    try:
        if method == "GET":
            response = requests.get(target, headers=headers, timeout=TIMEOUT_SECONDS, allow_redirects=False)
        else:
            response = requests.post(url, data=pairs, headers=headers, timeout=TIMEOUT_SECONDS, allow_redirects=False)
        status, text = response.status_code, response.text[:4096]
    except requests.RequestException as failure:
        error = f"{type(failure).__name__}: {failure}"
    record = CallbackRecord(
        kind="inbound" if kind == "inbound" else "status",
        message_sid=message_sid,
        url=target,
        params=pairs,
        signature=signed,
        status=status,
        error=error,
        response_body=text,
    )
    store.record_callback(record)
    return record


class Worker:
    """Runs jobs one after another on a daemon thread (automatic status progress)."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[Callable[[], object] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="twilio-standin-callbacks", daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], object]) -> None:
        self._jobs.put(job)

    def stop(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=TIMEOUT_SECONDS + 1)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                job()
            except Exception:  # a bug in one job must not stop the callbacks of every later message
                logger.exception("stand-in callback job failed")
