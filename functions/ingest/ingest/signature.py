"""X-Twilio-Signature verification, failing closed, with up to two valid tokens for rotation."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from twilio.request_validator import RequestValidator, get_signature_algorithm

from ingest.webhook import HttpRequest, RequestRejected
from twilio_inbound.message import FormParams, MultiParams

SIGNATURE_HEADER = "x-twilio-signature"
SETTINGS_HEADER = "x-twilio-webhooks-signature-settings"


class TokensUnavailable(Exception):
    """No auth token is configured, or the secret holding it is unusable: a fault of ours (500)."""


def tokens_from_secret(secret: str) -> tuple[str, ...]:
    """A secret holds one token as plain text, or JSON {"primary": "...", "secondary": "..."}."""
    text = secret.strip()
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise TokensUnavailable("auth token secret is not valid JSON") from error
        values = [document.get(key) for key in ("primary", "secondary")] if isinstance(document, dict) else []
        tokens = tuple(value.strip() for value in values if isinstance(value, str) and value.strip())
    else:
        tokens = (text,) if text else ()
    if not tokens:
        raise TokensUnavailable("auth token secret holds no token")
    return tokens


class SignatureVerifier:
    """Checks a request against every currently valid token. `load_tokens` may cache (it is called per request)."""

    def __init__(self, load_tokens: Callable[[], Sequence[str]]) -> None:
        self._load_tokens = load_tokens

    def verify(self, request: HttpRequest, url: str, params: FormParams) -> None:
        tokens = [token for token in self._load_tokens() if token]
        if not tokens:
            raise TokensUnavailable("no auth token configured")
        signature = request.header(SIGNATURE_HEADER).strip()
        if not signature:
            raise RequestRejected(403, "missing X-Twilio-Signature")
        if not _parsable(url):
            raise RequestRejected(400, "bad Host header")
        algorithm = get_signature_algorithm(request.header(SETTINGS_HEADER))
        form = MultiParams(params)
        if not any(_signed_with(token, url, form, signature, algorithm) for token in tokens):
            raise RequestRejected(403, "invalid signature")


def _parsable(url: str) -> bool:
    """RequestValidator parses the URL's port, which raises on a Host such as "abc:x" or "abc["."""
    try:
        _ = urlsplit(url).port
    except ValueError:
        return False
    return True


def _signed_with(token: str, url: str, form: MultiParams, signature: str, algorithm: str) -> bool:
    """Twilio signs the URL it called, which `url` is as a rule: one HMAC settles it. Otherwise Twilio's own
    RequestValidator.validate decides: it accepts the URL with or without its port, because Twilio's signing
    is not consistent about ports (two more HMACs and a URL parse, so it runs only when needed)."""
    validator = RequestValidator(token)
    try:
        expected = validator.compute_signature(url, form, algorithm)
    except ValueError:  # an algorithm this twilio version does not know: validate() logs it and refuses
        return bool(validator.validate(url, form, signature, algorithm))
    # "replace": a header that is not valid Unicode is a mismatch, not an error (expected is plain base64).
    if hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        return True
    return bool(validator.validate(url, form, signature, algorithm))
