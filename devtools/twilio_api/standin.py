"""`TwilioStandIn`: the stand-in as tests and the local stack use it in-process.

    with TwilioStandIn.start(spec=load_spec()) as twilio:       # 127.0.0.1, free ports
        account = twilio.add_account()
        number = twilio.add_number(account.sid, "+15005550001", sms_url="http://127.0.0.1:3000/sms")
        message = twilio.add_inbound_message(account.sid, sender="+15005550006", to=number.phone_number,
                                             body="photo", media=[MediaSpec(size=5_000_000)])
        twilio.deliver_inbound(message.sid)                     # the signed webhook, where Twilio sends it
        client = twilio.client(account)                         # the official SDK, pointed here
        twilio.wait_for(lambda: twilio.requests("cdn"))         # no sleeps
        assert twilio.violations == []

Every method here has an admin HTTP twin under /__standin/ (admin.py) for a separate process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from types import TracebackType
from typing import Any

from devtools.twilio_api.engine import TWILIO_API_BASE, Engine
from devtools.twilio_api.http_api import ADMIN_PREFIX, ApiServer
from devtools.twilio_api.media_cdn import CdnServer
from devtools.twilio_api.models import (
    Account,
    AccountStatus,
    ApiKey,
    CallbackRecord,
    ContentTemplate,
    Fault,
    FormPairs,
    KeyType,
    Media,
    MediaSpec,
    Message,
    PhoneNumber,
    RequestRecord,
    Service,
)
from devtools.twilio_api.sdk import twilio_client
from devtools.twilio_api.spec import TwilioSpec
from devtools.twilio_api.store import Store

POLL_SECONDS = 0.02  # how soon stop() is noticed (socketserver's default, 0.5 s, would slow every test)


class TwilioStandIn:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        cdn_port: int = 0,
        spec: TwilioSpec | None = None,
        auto_progress: bool = True,
        cdn_token_seconds: float = 60.0,
        webhook_media_base: str = TWILIO_API_BASE,
        verbose: bool = False,
    ) -> None:
        """Binds both listeners (port 0: a free one). `spec`: check every request and answer against Twilio's
        description (see `violations`). `auto_progress`: created messages move through their statuses and
        send their callbacks by themselves; off, tests drive them with `set_status`."""
        self.store = Store()
        self.engine = Engine(
            self.store,
            auto_progress=auto_progress,
            cdn_token_seconds=cdn_token_seconds,
            webhook_media_base=webhook_media_base,
        )
        self.spec = spec
        self.verbose = verbose
        self._api = ApiServer((host, port), self)
        try:
            self._cdn = CdnServer((host, cdn_port), self)
        except OSError:
            self._api.server_close()
            raise
        self.host = host
        self.engine.cdn_base = self.cdn_url
        self._threads: list[threading.Thread] = []

    @classmethod
    def start(cls, **options: Any) -> TwilioStandIn:
        standin = cls(**options)
        standin.serve()
        return standin

    def serve(self) -> None:
        for server in (self._api, self._cdn):
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": POLL_SECONDS},
                name=f"twilio-standin-{type(server).__name__}",
            )
            thread.daemon = True
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        for server in (self._api, self._cdn):
            if self._threads:
                server.shutdown()
            server.server_close()
        self.engine.stop()
        self._threads.clear()

    def __enter__(self) -> TwilioStandIn:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Where https://api.twilio.com and https://messaging.twilio.com requests go."""
        return f"http://{self.host}:{self._api.server_address[1]}"

    @property
    def cdn_url(self) -> str:
        return f"http://{self.host}:{self._cdn.server_address[1]}"

    @property
    def admin_url(self) -> str:
        return self.base_url + ADMIN_PREFIX

    # Seeding ------------------------------------------------------------------------------------------

    def add_account(
        self,
        *,
        friendly_name: str = "Stand-in account",
        status: AccountStatus = "active",
        owner_account_sid: str | None = None,
        sid: str | None = None,
        auth_token: str | None = None,
    ) -> Account:
        """A main account (or a subaccount of `owner_account_sid`) with its own auth token."""
        return self.store.add_account(
            friendly_name=friendly_name,
            owner_account_sid=owner_account_sid,
            status=status,
            sid=sid,
            auth_token=auth_token,
        )

    def set_account_status(self, account_sid: str, status: AccountStatus) -> Account:
        return self.store.set_account_status(account_sid, status)

    def add_api_key(self, account_sid: str, key_type: KeyType = "standard") -> ApiKey:
        return self.store.add_key(account_sid, key_type=key_type)

    def add_number(self, account_sid: str, phone_number: str, **settings: str | None) -> PhoneNumber:
        """An IncomingPhoneNumber; settings are PhoneNumber fields (sms_url, sms_method, friendly_name, ...)."""
        return self.store.add_number(account_sid, phone_number, **settings)

    def add_service(
        self,
        account_sid: str,
        *,
        friendly_name: str = "Stand-in service",
        number_sids: Iterable[str] = (),
        **settings: Any,
    ) -> Service:
        """A Messaging Service holding these numbers; settings are Service fields (inbound_request_url, ...)."""
        return self.store.add_service(
            account_sid, friendly_name=friendly_name, number_sids=tuple(number_sids), **settings
        )

    def add_content(
        self,
        account_sid: str,
        body: str,
        *,
        friendly_name: str = "",
        variables: dict[str, str] | None = None,
        sid: str = "",
    ) -> ContentTemplate:
        """A Content Template (twilio/text) of the account: `body` with {{1}}-style placeholders, `variables`
        their defaults (`sid` a fixed HX SID, else a new one). Messages.create accepts its SID as ContentSid;
        GET /v1/Content/{Sid} returns it."""
        return self.store.add_content(account_sid, body, friendly_name=friendly_name, variables=variables, sid=sid)

    def add_sender(self, account_sid: str, address: str) -> str:
        """A sender of the account that is no phone number (an RCS sender, rcs:<agent id>): From may name it."""
        return self.store.add_sender(account_sid, address)

    def add_inbound_message(
        self,
        account_sid: str,
        *,
        sender: str,
        to: str,
        body: str = "",
        media: Iterable[MediaSpec] = (),
        messaging_service_sid: str | None = None,
        date_sent: datetime | None = None,
        sid: str | None = None,
    ) -> Message:
        """A message received by one of the account's numbers (direction inbound), with its media."""
        return self.engine.add_inbound_message(
            account_sid,
            sender=sender,
            to=to,
            body=body,
            media=media,
            messaging_service_sid=messaging_service_sid,
            date_sent=date_sent,
            sid=sid,
        )

    # Driving ------------------------------------------------------------------------------------------

    def deliver_inbound(self, message_sid: str) -> CallbackRecord:
        """POST the signed inbound webhook to the number's SmsUrl (or its service's inbound URL)."""
        return self.engine.deliver_inbound(message_sid)

    def webhook_form(self, message_sid: str) -> FormPairs:
        return self.engine.webhook_form(message_sid)

    def set_outcome(self, to: str, statuses: Iterable[str], error_code: int | None = None) -> None:
        self.engine.set_outcome(to, statuses, error_code)

    def set_status(
        self, message_sid: str, status: str, error_code: int | None = None, *, callback: bool = True
    ) -> CallbackRecord | None:
        return self.engine.set_status(message_sid, status, error_code, callback=callback)

    def send_status_callback(
        self, message_sid: str, status: str | None = None, error_code: int | None = None, *, url: str | None = None
    ) -> CallbackRecord | None:
        """A status callback now, for any status: out of order, repeated, or to another URL."""
        return self.engine.send_status_callback(message_sid, status, error_code, url=url)

    def fail_next(
        self,
        path_pattern: str,
        *,
        status: int = 429,
        count: int = 1,
        method: str | None = None,
        retry_after: int | None = 1,
    ) -> Fault:
        """Answer `status` (429 with Retry-After, or a 5xx) to the next `count` requests whose path matches."""
        return self.store.add_fault(Fault(path_pattern, status, count, method, retry_after))

    # Reading ------------------------------------------------------------------------------------------

    def message(self, message_sid: str) -> Message:
        return self.store.messages[message_sid]

    def media_of(self, message_sid: str) -> list[Media]:
        return self.engine.media_of(message_sid)

    def media_url(self, media: Media, *, local: bool = False) -> str:
        """The content URL as Twilio's webhook carries it (api.twilio.com), or this stand-in's own."""
        return self.engine.media_url(media, self.base_url if local else None)

    def requests(self, listener: str | None = None) -> list[RequestRecord]:
        """Requests answered by the "api", "cdn" or "admin" listener (all of them by default), oldest first."""
        with self.store.lock:
            return [record for record in self.store.requests if listener is None or record.listener == listener]

    def callbacks(self, message_sid: str | None = None) -> list[CallbackRecord]:
        with self.store.lock:
            return [
                record for record in self.store.callbacks if message_sid is None or record.message_sid == message_sid
            ]

    @property
    def violations(self) -> list[str]:
        """Requests and answers that disagreed with Twilio's description (with a spec attached)."""
        with self.store.lock:
            return list(self.store.violations)

    def clear_logs(self) -> None:
        with self.store.lock:
            self.store.requests.clear()
            self.store.callbacks.clear()
            self.store.violations.clear()

    def wait_for(self, condition: Callable[[], object], timeout: float = 5.0) -> None:
        """Block until `condition()` is truthy (re-checked on every logged request, callback or change)."""
        if not self.store.wait_for(lambda: bool(condition()), timeout):
            raise TimeoutError(f"stand-in: condition not met within {timeout} s")

    def client(self, account: Account) -> Any:
        """The official twilio SDK Client for this account, talking to this stand-in."""
        return twilio_client(self.base_url, account.sid, account.auth_token)
