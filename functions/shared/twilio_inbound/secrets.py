"""What the Twilio secret holds, per account: auth tokens and shared keys (webhook signatures, the ingest
function) and the credentials for Twilio's REST API (media downloads, the media function).

The secret's text is one auth token, or JSON {"primary", "secondary", "sharedKeys": {id: secret}, "accountSid",
"apiKeySid", "apiKeySecret"}, or {"accounts": {"AC...": {the same fields}}} for several accounts (subaccounts).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

API_KEY_SID = re.compile(r"SK[0-9a-fA-F]{32}")


class TokensUnavailable(Exception):
    """No secret is configured, or the secret holding it is unusable: a fault of ours (500)."""


@dataclass(frozen=True)
class ApiCredentials:
    """HTTP Basic credentials for Twilio's REST API: an API key SID and secret, or the AccountSid and auth token."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class AccountSecrets:
    """One account's secrets; repr shows none of them (a logged object leaks nothing)."""

    auth_tokens: tuple[str, ...] = field(default=(), repr=False)  # primary first, then the secondary
    shared_keys: Mapping[str, str] = field(default_factory=dict, repr=False)  # key id -> secret
    api_key_sid: str = ""  # SK...: Twilio's recommendation for REST calls; else the primary token is used
    api_key_secret: str = field(default="", repr=False)
    account_sid: str = ""  # when the secret names it ("accountSid", or the key of its "accounts" entry)

    def api_credentials(self, account_sid: str = "") -> ApiCredentials:
        """The API key when the secret has one, else the account's primary auth token (the account: the one
        named, else the secret's own)."""
        if self.api_key_sid:
            return ApiCredentials(self.api_key_sid, self.api_key_secret)
        account = account_sid or self.account_sid
        if not self.auth_tokens or not account:
            raise TokensUnavailable(f"no API key, or no auth token and AccountSid, for {account or 'the account'}")
        return ApiCredentials(account, self.auth_tokens[0])


@dataclass(frozen=True)
class WebhookSecrets:
    """What the secret holds: one account's secrets (any AccountSid), or several accounts' by AccountSid."""

    single: AccountSecrets | None = None
    accounts: Mapping[str, AccountSecrets] = field(default_factory=dict)

    @classmethod
    def of_tokens(cls, *tokens: str) -> WebhookSecrets:
        return cls(single=AccountSecrets(tuple(token for token in tokens if token)))

    def for_account(self, account_sid: str) -> AccountSecrets | None:
        return self.accounts.get(account_sid) if self.accounts else self.single


def _api_key(document: Mapping[str, Any], where: str) -> tuple[str, str]:
    sid, secret = document.get("apiKeySid", ""), document.get("apiKeySecret", "")
    if not sid and not secret:
        return "", ""
    if not isinstance(sid, str) or not API_KEY_SID.fullmatch(sid.strip()):
        raise TokensUnavailable(f"{where}apiKeySid must be an API key SID (SK...)")
    if not isinstance(secret, str) or not secret.strip():
        raise TokensUnavailable(f"{where}apiKeySid needs a non-empty apiKeySecret")
    return sid.strip(), secret.strip()


def _account_secrets(document: Mapping[str, Any], where: str, account_sid: str = "") -> AccountSecrets:
    values = [document.get(key) for key in ("primary", "secondary")]
    tokens = tuple(value.strip() for value in values if isinstance(value, str) and value.strip())
    keys = document.get("sharedKeys") or {}
    if not isinstance(keys, dict) or not all(isinstance(v, str) and v.strip() for v in keys.values()):
        raise TokensUnavailable(f"{where}sharedKeys must map key ids to non-empty secrets")
    api_key_sid, api_key_secret = _api_key(document, where)
    if not tokens and not keys:
        raise TokensUnavailable(f"{where}holds no token and no shared key")
    return AccountSecrets(
        tokens,
        {str(key): value.strip() for key, value in keys.items()},
        api_key_sid,
        api_key_secret,
        account_sid or str(document.get("accountSid") or "").strip(),
    )


def secrets_from_text(secret: str) -> WebhookSecrets:
    """The secret's text: one token, or JSON {"primary", "secondary", "sharedKeys": {id: secret}, "accountSid",
    "apiKeySid", "apiKeySecret"}, or {"accounts": {"AC...": {the same fields}}}."""
    text = secret.strip()
    if not text.startswith("{"):
        if not text:
            raise TokensUnavailable("auth token secret holds no token")
        return WebhookSecrets.of_tokens(text)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise TokensUnavailable("auth token secret is not valid JSON") from error
    if not isinstance(document, dict):
        raise TokensUnavailable("auth token secret holds no token")
    accounts = document.get("accounts")
    if accounts is None:
        return WebhookSecrets(single=_account_secrets(document, "the secret "))
    if not isinstance(accounts, dict) or not accounts or set(document) != {"accounts"}:
        raise TokensUnavailable('"accounts" must be the secret\'s only field, mapping AccountSids to their secrets')
    return WebhookSecrets(
        accounts={
            sid: _account_secrets(entry if isinstance(entry, dict) else {}, f"{sid} ", sid)
            for sid, entry in accounts.items()
        }
    )


class CachedSecrets:
    """The secret read and parsed at most once per `ttl` seconds (a rotated token or key is picked up within
    that time), not on every request: reading and parsing it costs more than checking a signature."""

    def __init__(self, read: Callable[[], str], ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._read = read
        self._ttl = ttl
        self._clock = clock
        self._cached: tuple[float, WebhookSecrets] | None = None

    def __call__(self) -> WebhookSecrets:
        now = self._clock()
        if self._cached is None or now >= self._cached[0]:
            self._cached = (now + self._ttl, secrets_from_text(self._read()))
        return self._cached[1]
