"""X-Twilio-Signature verification, failing closed.

Two signing modes, chosen by configuration (never by the request):
- auth token (Twilio's default): HMAC-SHA1 with the account's auth token; up to two tokens while rotating.
- shared key (Twilio's Webhooks configuration API): HMAC-SHA256 with a key the customer created, named by
  `key=` in X-Twilio-Webhooks-Signature-Settings; the key id selects the secret. SHA-1 and requests without
  the header are refused.
The secret may list several accounts (subaccounts sign with their own tokens): a request is checked with the
secrets of the account it names, and an account the secret does not list is refused.

Shared by the ingest and status functions; each ships twilio's request_validator module itself (the layer
does not carry the twilio package).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from twilio.request_validator import HMAC_SHA1, HMAC_SHA256, RequestValidator, add_port, remove_port

from twilio_inbound.message import FormParams, MultiParams, first
from twilio_inbound.secrets import AccountSecrets, TokensUnavailable, WebhookSecrets
from twilio_inbound.webhook import (
    HttpRequest,
    RequestRejected,
    check_shape,
    parse_form,
    request_from_event,
    request_url,
)

SIGNATURE_HEADER = "x-twilio-signature"
SETTINGS_HEADER = "x-twilio-webhooks-signature-settings"
SigningMode = Literal["auth-token", "shared-key"]
SIGNING_MODES: tuple[SigningMode, ...] = ("auth-token", "shared-key")
# A failed check is diagnosed (which URL or key would have verified) at most this often per container, so a
# flood of forged requests costs what it did before diagnostics existed.
DIAGNOSE_EVERY_SECONDS = 10.0


def signing_mode_from(value: str) -> SigningMode:
    """The configured mode (WEBHOOK_SIGNING); anything else fails at start-up."""
    mode = next((mode for mode in SIGNING_MODES if mode == value), None)
    if mode is None:
        raise ValueError(f"WEBHOOK_SIGNING must be one of {SIGNING_MODES}")
    return mode


@dataclass(frozen=True)
class _Key:
    label: str  # what an operator may read: "primary token", "shared key K1"; never the secret
    validator: RequestValidator  # holds the secret
    algorithm: str


def _settings_header(request: HttpRequest) -> dict[str, str]:
    header = request.header(SETTINGS_HEADER)
    if not header:
        return {}
    parts = (part.partition("=") for part in header.split(","))
    return {name.strip(): value.strip() for name, sep, value in parts if sep}


class SignatureVerifier:
    """Checks a request against the secrets `load_secrets` returns (it may cache: it is called per request)."""

    def __init__(
        self,
        load_secrets: Callable[[], WebhookSecrets],
        mode: SigningMode = "auth-token",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load_secrets = load_secrets
        self._mode = mode
        self._clock = clock
        self._next_diagnosis = 0.0
        # The keys of the secrets last loaded, per account and key id: built once per secret read, not per request.
        self._keys_of: tuple[WebhookSecrets | None, dict[tuple[int, str], list[_Key]]] = (None, {})

    def verified_form(
        self, event: dict[str, Any], public_base_url: str, max_body_bytes: int
    ) -> tuple[HttpRequest, MultiParams]:
        """A webhook route's first steps: the request out of the API Gateway event, its shape checked, its form
        parsed, and its signature verified before any field is read (an unsigned request learns nothing about
        what we expect). Raises as verify does, and RequestRejected for a malformed request."""
        request = request_from_event(event)
        check_shape(request, max_body_bytes)
        params = parse_form(request.body)
        self.verify(request, public_base_url, params)
        return request, params

    def verify(self, request: HttpRequest, public_base_url: str, params: FormParams) -> None:
        """Returns when the request is Twilio's; raises RequestRejected (403, 400) or TokensUnavailable (500)."""
        secrets = self._load_secrets()
        signature = request.header(SIGNATURE_HEADER).strip()
        if not signature:
            raise RequestRejected(403, "missing X-Twilio-Signature")
        url = request_url(request, public_base_url)
        account = secrets.for_account(first(params, "AccountSid"))
        if account is None:
            raise RequestRejected(
                403, "invalid signature", log={"checkedUrl": url, "cause": "account not in the secret"}
            )
        form = params if isinstance(params, MultiParams) else MultiParams(params)
        keys = self._keys(secrets, account, request)
        if any(_signed_as_received(key, url, form, signature) for key in keys):
            return
        # Not as received: the Host may not even make a URL (RequestValidator parses its port), else the URL with
        # and without its port, as Twilio's RequestValidator.validate accepts.
        if not _parsable(url):
            raise RequestRejected(400, "bad Host header")
        if any(_signed_with_port_changed(key, url, form, signature) for key in keys):
            return
        log = {"checkedUrl": url, **self._diagnose(request, public_base_url, form, signature, account)}
        raise RequestRejected(403, "invalid signature", log=log)

    def _keys(self, secrets: WebhookSecrets, account: AccountSecrets, request: HttpRequest) -> list[_Key]:
        """The keys the mode allows this request to be signed with."""
        settings = _settings_header(request)
        if self._mode == "auth-token":
            if not account.auth_tokens:
                raise TokensUnavailable("no auth token configured")
            if settings:
                raise RequestRejected(403, "signed with a shared key, but this webhook verifies auth token signatures")
            return self._cached_keys(secrets, account, "", _token_keys)
        if not account.shared_keys:
            raise TokensUnavailable("no shared key configured")
        if not settings.get("key"):
            raise RequestRejected(403, "missing X-Twilio-Webhooks-Signature-Settings: shared key signing is required")
        if settings.get("algorithm", "").upper() != HMAC_SHA256:
            raise RequestRejected(403, "shared key signatures must use HMAC_SHA256")
        key_id = settings["key"]
        if key_id not in account.shared_keys:
            raise RequestRejected(403, "unknown shared key id")
        return self._cached_keys(secrets, account, key_id, lambda account: [_shared_key(account, key_id)])

    def _cached_keys(
        self,
        secrets: WebhookSecrets,
        account: AccountSecrets,
        key_id: str,
        build: Callable[[AccountSecrets], list[_Key]],
    ) -> list[_Key]:
        """`build(account)`, kept as long as `load_secrets` returns the same secrets (it caches them)."""
        loaded, keys_of = self._keys_of
        if loaded is not secrets:
            keys_of = {}
            self._keys_of = (secrets, keys_of)
        # The account object lives as long as `secrets`: its id names it for that long.
        cache_key = (id(account), key_id)
        keys = keys_of.get(cache_key)
        if keys is None:
            keys = keys_of[cache_key] = build(account)
        return keys

    def _diagnose(
        self, request: HttpRequest, public_base_url: str, form: MultiParams, signature: str, account: AccountSecrets
    ) -> dict[str, Any]:
        """Which variations of the URL and which keys would have verified. Never a token or a signature."""
        now = self._clock()
        if now < self._next_diagnosis:
            return {"wouldVerify": f"not diagnosed (at most one diagnosis every {DIAGNOSE_EVERY_SECONDS:.0f} s)"}
        self._next_diagnosis = now + DIAGNOSE_EVERY_SECONDS
        keys = _token_keys(account) + [_shared_key(account, key_id) for key_id in account.shared_keys]
        verified = [
            f"{variation} with the {key.label}"
            for variation, candidate in _url_variations(request, public_base_url)
            for key in keys
            if _signed_with(key, candidate, form, signature)
        ]
        return {"wouldVerify": verified or ["nothing: another token or key signed it, or the body was changed"]}


def _token_keys(account: AccountSecrets) -> list[_Key]:
    labels = ("primary token", "secondary token")
    return [
        _Key(label, RequestValidator(token), HMAC_SHA1)
        for label, token in zip(labels, account.auth_tokens, strict=False)
    ]


def _shared_key(account: AccountSecrets, key_id: str) -> _Key:
    return _Key(f"shared key {key_id}", RequestValidator(account.shared_keys[key_id]), HMAC_SHA256)


def _url_variations(request: HttpRequest, public_base_url: str) -> list[tuple[str, str]]:
    """The URL as checked and at most five others: PublicBaseUrl or the Host header, without PublicBaseUrl's
    path prefix, and each over the other scheme. Ports are covered by _signed_with."""
    bases = [("the URL checked", public_base_url)]
    if public_base_url:
        bases.append(("the Host header instead of PublicBaseUrl", ""))
        parts = urlsplit(public_base_url)
        if parts.path.strip("/"):
            bases.append((f"PublicBaseUrl without {parts.path.rstrip('/')}", f"{parts.scheme}://{parts.netloc}"))
    variations: dict[str, str] = {}
    for label, base in bases:
        url = request_url(request, base)
        scheme, rest = url.split("://", 1)
        other = "http" if scheme == "https" else "https"
        variations.setdefault(url, label)
        variations.setdefault(f"{other}://{rest}", f"{label} over {other}")
    return [(label, url) for url, label in variations.items()]


def _parsable(url: str) -> bool:
    """RequestValidator parses the URL's port, which raises on a Host such as "abc:x" or "abc["."""
    try:
        _ = urlsplit(url).port
    except ValueError:
        return False
    return True


def _signed_as_received(key: _Key, url: str, form: MultiParams, signature: str) -> bool:
    """Twilio signs the URL it called, which `url` is as a rule: one HMAC settles it."""
    # "replace": a header that is not valid Unicode is a mismatch, not an error (expected is plain base64).
    presented = signature.encode("utf-8", "replace")
    return hmac.compare_digest(key.validator.compute_signature(url, form, key.algorithm).encode(), presented)


def _signed_with_port_changed(key: _Key, url: str, form: MultiParams, signature: str) -> bool:
    """Signed for `url` with or without its port (Twilio's signing is not consistent about ports; Twilio's
    RequestValidator.validate accepts both): two more HMACs, only when the URL as received did not match."""
    presented = signature.encode("utf-8", "replace")
    parsed = urlsplit(url)
    return any(
        hmac.compare_digest(key.validator.compute_signature(variant, form, key.algorithm).encode(), presented)
        for variant in {add_port(parsed), remove_port(parsed)} - {url}
    )


def _signed_with(key: _Key, url: str, form: MultiParams, signature: str) -> bool:
    return _signed_as_received(key, url, form, signature) or _signed_with_port_changed(key, url, form, signature)
