"""The stand-in's state behind one lock: seeding, look-ups, who may see what, faults, and the logs.

Access rules are Twilio's: an account's SID + auth token reach that account and (for a main account) its
subaccounts' 2010-04-01 resources; an API key reaches only its own account, and a standard key not the
Accounts resource; a closed account cannot authenticate; a suspended one cannot act.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import itertools
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass

from devtools.twilio_api import errors
from devtools.twilio_api.content import new_seed
from devtools.twilio_api.models import (
    Account,
    AccountStatus,
    ApiKey,
    CallbackRecord,
    ContentTemplate,
    Fault,
    KeyType,
    Media,
    MediaSpec,
    Message,
    PhoneNumber,
    RequestRecord,
    Service,
    new_sid,
    utcnow,
)


@dataclass(frozen=True)
class Principal:
    """Who a request's credentials belong to."""

    account: Account
    key: ApiKey | None


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)  # notified on every new log entry and state change
        self.accounts: dict[str, Account] = {}
        self.keys: dict[str, ApiKey] = {}
        self.numbers: dict[str, PhoneNumber] = {}
        self.services: dict[str, Service] = {}
        self.messages: dict[str, Message] = {}
        self.media: dict[str, Media] = {}
        self.contents: dict[str, ContentTemplate] = {}
        # Senders that are no phone number of the account (an RCS sender, rcs:<agent id>): address -> AccountSid.
        self.senders: dict[str, str] = {}
        self.faults: list[Fault] = []
        self.requests: list[RequestRecord] = []
        self.callbacks: list[CallbackRecord] = []
        self.violations: list[str] = []  # answers or requests that disagree with Twilio's description
        self._sequence = itertools.count()

    # Seeding --------------------------------------------------------------------------------------------

    def add_account(
        self,
        *,
        friendly_name: str = "Stand-in account",
        owner_account_sid: str | None = None,
        status: AccountStatus = "active",
        sid: str | None = None,
        auth_token: str | None = None,
    ) -> Account:
        with self.lock:
            if owner_account_sid is not None and owner_account_sid not in self.accounts:
                raise KeyError(f"no account {owner_account_sid}")
            account_sid = sid or new_sid("AC")
            account = Account(
                sid=account_sid,
                auth_token=auth_token or secrets.token_hex(16),
                friendly_name=friendly_name,
                owner_account_sid=owner_account_sid or account_sid,
                status=status,
            )
            self.accounts[account.sid] = account
            return account

    def set_account_status(self, account_sid: str, status: AccountStatus) -> Account:
        with self.lock:
            account = self.accounts[account_sid]
            account.status = status
            account.date_updated = utcnow()
            return account

    def add_key(self, account_sid: str, *, key_type: KeyType = "standard") -> ApiKey:
        with self.lock:
            account = self.accounts[account_sid]
            key = ApiKey(new_sid("SK"), secrets.token_urlsafe(24), account.sid, key_type)
            self.keys[key.sid] = key
            return key

    def add_number(self, account_sid: str, phone_number: str, **settings: str | None) -> PhoneNumber:
        with self.lock:
            number = PhoneNumber(
                sid=new_sid("PN"),
                account_sid=self.accounts[account_sid].sid,
                phone_number=phone_number,
                friendly_name=str(settings.pop("friendly_name", None) or phone_number),
            )
            for name, value in settings.items():
                if not hasattr(number, name) or name in {"sid", "account_sid", "phone_number", "service_sid"}:
                    raise TypeError(f"unknown phone number setting {name}")
                setattr(number, name, value)
            self.numbers[number.sid] = number
            return number

    def add_content(
        self,
        account_sid: str,
        body: str,
        *,
        friendly_name: str = "",
        variables: dict[str, str] | None = None,
        sid: str = "",
    ) -> ContentTemplate:
        with self.lock:
            template = ContentTemplate(
                sid=sid or new_sid("HX"),
                account_sid=self.accounts[account_sid].sid,
                friendly_name=friendly_name or "Stand-in template",
                body=body,
                variables=dict(variables or {}),
            )
            self.contents[template.sid] = template
            return template

    def add_sender(self, account_sid: str, address: str) -> str:
        with self.lock:
            self.senders[address] = self.accounts[account_sid].sid
            return address

    def add_service(
        self,
        account_sid: str,
        *,
        friendly_name: str = "Stand-in service",
        number_sids: tuple[str, ...] = (),
        **settings: str | bool | None,
    ) -> Service:
        with self.lock:
            service = Service(
                sid=new_sid("MG"), account_sid=self.accounts[account_sid].sid, friendly_name=friendly_name
            )
            for name, value in settings.items():
                if not hasattr(service, name) or name in {"sid", "account_sid"}:
                    raise TypeError(f"unknown service setting {name}")
                setattr(service, name, value)
            for number_sid in number_sids:
                number = self.numbers[number_sid]
                if number.account_sid != service.account_sid:
                    raise ValueError(f"{number_sid} belongs to another account")
                number.service_sid = service.sid
            self.services[service.sid] = service
            return service

    def add_message(self, message: Message) -> Message:
        with self.lock:
            self.messages[message.sid] = message
            self.changed.notify_all()
            return message

    def add_media(self, message: Message, spec: MediaSpec) -> Media:
        with self.lock:
            content = spec.content
            media = Media(
                sid=new_sid("ME"),
                account_sid=message.account_sid,
                message_sid=message.sid,
                content_type=spec.content_type,
                size=len(content) if content is not None else spec.size,
                seed=spec.seed or new_seed(),
                content=content,
                not_found_remaining=spec.not_found_first,
                server_errors_remaining=spec.server_errors,
                cdn_errors_remaining=spec.cdn_errors,
                redirect_status=spec.redirect_status,
            )
            self.media[media.sid] = media
            return media

    def next_sequence(self) -> int:
        return next(self._sequence)

    # Credentials and access --------------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> Principal:
        """The account behind HTTP Basic credentials (AccountSid + auth token, or API key SID + secret)."""
        username, password = _basic_credentials(authorization)
        with self.lock:
            key = self.keys.get(username) if username.startswith("SK") else None
            account = self.accounts.get(key.account_sid if key else username)
            expected = key.secret if key else account.auth_token if account else None
            if account is None or expected is None or not hmac.compare_digest(password.encode(), expected.encode()):
                raise errors.authenticate()
            if account.status == "closed":
                raise errors.authenticate()
            return Principal(account, key)

    def reachable(self, principal: Principal, account: Account) -> bool:
        """Its own account; a main account's SID + token also reach its subaccounts (API keys do not)."""
        if account.sid == principal.account.sid:
            return True
        return (
            principal.key is None
            and not principal.account.is_subaccount
            and account.owner_account_sid == principal.account.sid
        )

    def account_for(self, principal: Principal, account_sid: str, *, accounts_resource: bool = False) -> Account:
        """The account a 2010-04-01 path names, if these credentials may reach it."""
        with self.lock:
            if principal.key is not None and principal.key.key_type == "standard" and accounts_resource:
                raise errors.authenticate()
            target = self.accounts.get(account_sid)
            if target is None or not self.reachable(principal, target):
                raise errors.authenticate()
            if not accounts_resource:
                for account in (principal.account, target):
                    if account.status != "active":
                        raise errors.account_not_active(account.sid)
            return target

    def acting_account(self, principal: Principal) -> Account:
        """The account of requests without an account in the path (messaging.twilio.com/v1)."""
        if principal.account.status != "active":
            raise errors.account_not_active(principal.account.sid)
        return principal.account

    # Faults ------------------------------------------------------------------------------------------

    def add_fault(self, fault: Fault) -> Fault:
        re.compile(fault.path_pattern)  # a bad pattern fails here, not on the next request
        with self.lock:
            self.faults.append(fault)
            return fault

    def take_fault(self, method: str, path: str) -> Fault | None:
        """The first fault matching this request, counted down (and dropped once used up)."""
        with self.lock:
            for fault in self.faults:
                if (fault.method is None or fault.method == method) and re.search(fault.path_pattern, path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self.faults.remove(fault)
                    return fault
            return None

    # Logs --------------------------------------------------------------------------------------------

    def record_request(self, record: RequestRecord) -> None:
        with self.lock:
            self.requests.append(record)
            self.changed.notify_all()

    def record_callback(self, record: CallbackRecord) -> None:
        with self.lock:
            self.callbacks.append(record)
            self.changed.notify_all()

    def record_violations(self, problems: list[str]) -> None:
        with self.lock:
            self.violations.extend(problems)

    def wait_for(self, condition: Callable[[], bool], timeout: float) -> bool:
        with self.lock:
            return self.changed.wait_for(condition, timeout)

    def touch(self) -> None:
        with self.lock:
            self.changed.notify_all()


def _basic_credentials(authorization: str | None) -> tuple[str, str]:
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise errors.authenticate()
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise errors.authenticate() from error
    username, separator, password = decoded.partition(":")
    if not separator:
        raise errors.authenticate()
    return username, password
