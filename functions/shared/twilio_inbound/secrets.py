"""The stack's Twilio secret (Secrets Manager): auth tokens, webhook shared keys and REST credentials, per account.

Formats (README "Deploying"): one auth token as plain text; or JSON {"primary", "secondary", "sharedKeys":
{key id: secret}, "accountSid", "apiKeySid", "apiKeySecret"}; or {"accounts": {"AC...": {the same fields}}} for
several accounts (subaccounts sign with their own tokens).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class TokensUnavailable(Exception):
    """No secret is configured, or the secret holding it is unusable: a fault of ours (a 500, never a skip)."""


@dataclass(frozen=True)
class AccountSecrets:
    auth_tokens: tuple[str, ...] = ()  # primary first, then the secondary while rotating
    shared_keys: Mapping[str, str] = field(default_factory=dict)  # key id -> secret (webhook signing)
    api_key: tuple[str, str] | None = None  # (SK..., secret): Twilio's recommendation for REST calls
    account_sid: str = ""  # known when the secret names it ("accountSid", or the "accounts" map's key)

    def rest_credentials(self) -> tuple[str, str]:
        """(username, password) for Twilio's REST API: the API key if there is one, else the account SID and its
        primary auth token."""
        if self.api_key:
            return self.api_key
        if not self.account_sid or not self.auth_tokens:
            raise TokensUnavailable("no REST credentials: the secret needs accountSid and a token, or an API key")
        return self.account_sid, self.auth_tokens[0]


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


def _account_secrets(document: Mapping[str, Any], where: str, account_sid: str = "") -> AccountSecrets:
    values = [document.get(key) for key in ("primary", "secondary")]
    tokens = tuple(value.strip() for value in values if isinstance(value, str) and value.strip())
    keys = document.get("sharedKeys") or {}
    if not isinstance(keys, dict) or not all(isinstance(v, str) and v.strip() for v in keys.values()):
        raise TokensUnavailable(f"{where}sharedKeys must map key ids to non-empty secrets")
    if not tokens and not keys:
        raise TokensUnavailable(f"{where}holds no token and no shared key")
    key_sid, key_secret = (str(document.get(name) or "").strip() for name in ("apiKeySid", "apiKeySecret"))
    if bool(key_sid) != bool(key_secret):
        raise TokensUnavailable(f"{where}needs both apiKeySid and apiKeySecret, or neither")
    return AccountSecrets(
        tokens,
        {str(key): value.strip() for key, value in keys.items()},
        (key_sid, key_secret) if key_sid else None,
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
