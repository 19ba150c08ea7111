"""The one place that builds a Twilio REST client: the official `twilio` SDK, with the stack's credentials.

    client = account_client(secrets.for_account(sid), sid, api_base_url=os.environ.get("TWILIO_API_URL", ""))

Two things are added through the SDK's supported hook, `Client(http_client=...)`:

- **Another API server** (`api_base_url`, e.g. the stand-in in devtools/twilio_api): each request for a Twilio
  API host (api.twilio.com, messaging.twilio.com, content.twilio.com, with or without edge/region labels) goes
  there instead, path
  and query kept. Any other host is refused, so a misconfigured client never reaches the real Twilio.
- **Backoff and a deadline**: 429 (any method: Twilio did not act on it) and 5xx on reads are retried after
  Retry-After (or exponential backoff with jitter), a bounded number of times, never past `deadline`; once the
  deadline has passed no request is sent (OutOfTime). So a scheduled run bounds its own time.

Needs the `twilio` package: the CLI and the functions that call Twilio ship it (the layer does not).
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from twilio_inbound.http_fields import header_int
from twilio_inbound.secrets import AccountSecrets

# The products whose hosts may be redirected: api (2010-04-01) and messaging (v1).
PRODUCTS = ("api", "messaging", "content")
TWILIO_API_BASE = "https://api.twilio.com"  # where webhooks' MediaUrl<n> point
RETRIED_STATUSES = frozenset({500, 502, 503, 504})
SAFE_METHODS = frozenset({"GET", "HEAD", "DELETE"})
SDK_PREFIX = re.compile(r"^Unable to \w+ (record|page): ")


class NotATwilioUrl(ValueError):
    pass


class OutOfTime(Exception):
    """The caller's deadline passed: no further request is sent."""


def redirect_url(url: str, base_url: str) -> str:
    """`https://api.twilio.com/2010-04-01/...` (or messaging, content, edge/region forms) -> `<base_url>/...`."""
    parts = urlsplit(url)
    labels = (parts.hostname or "").split(".")
    if parts.scheme != "https" or labels[-2:] != ["twilio", "com"] or labels[0] not in PRODUCTS:
        raise NotATwilioUrl(f"not a Twilio API URL this client may redirect: {url}")
    base = urlsplit(base_url)
    return urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + parts.path, parts.query, ""))


@dataclass(frozen=True)
class Backoff:
    """How a rate-limited or failed read is retried. attempts=1: never (the stand-in's own tests see each 429)."""

    attempts: int = 5
    base_seconds: float = 0.5
    max_seconds: float = 8.0  # the longest wait of our own choosing
    # Twilio's Retry-After is waited out as told (a retry before it would be refused again), up to this long; a
    # client with a deadline does not wait past it (TwilioApiHttpClient), and answers with the 429 instead.
    max_retry_after_seconds: float = 120.0

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        told = header_int(retry_after)
        if told is not None:
            return min(float(told), self.max_retry_after_seconds)
        # Full jitter: clients that were throttled together do not come back together.
        return random.uniform(0, min(self.max_seconds, self.base_seconds * 2**attempt))  # noqa: S311  # nosec B311


NO_RETRIES = Backoff(attempts=1)


class TwilioApiHttpClient(TwilioHttpClient):  # type: ignore[misc]  # the SDK ships no type hints
    """The SDK's TwilioHttpClient, sending to `api_base_url` when one is given, with backoff and a deadline."""

    def __init__(
        self,
        api_base_url: str = "",
        *,
        backoff: Backoff = Backoff(),
        deadline: float | None = None,  # time.monotonic() value
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.api_base_url = api_base_url
        self.backoff = backoff
        self.deadline = deadline
        self._sleep = sleep
        self._clock = clock

    def _remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - self._clock()

    def request(  # noqa: PLR0917 (the SDK's own signature, which callers use positionally)
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        target = redirect_url(url, self.api_base_url) if self.api_base_url else url
        attempt = 0
        while True:
            remaining = self._remaining()
            if remaining is not None and remaining <= 0:
                raise OutOfTime(f"out of time before {method} {urlsplit(url).path}")
            limit = timeout or self.timeout
            if remaining is not None:
                limit = min(limit, remaining) if limit else remaining
            response: Response = super().request(
                method,
                target,
                params=params,
                data=data,
                headers=headers,
                auth=auth,
                timeout=limit,
                allow_redirects=allow_redirects,
            )
            retryable = response.status_code == 429 or (
                response.status_code in RETRIED_STATUSES and method.upper() in SAFE_METHODS
            )
            attempt += 1
            if not retryable or attempt >= self.backoff.attempts:
                return response
            delay = self.backoff.delay(attempt, (response.headers or {}).get("Retry-After"))
            remaining = self._remaining()
            if remaining is not None and delay >= remaining:
                return response  # waiting would outlive the deadline: the caller sees the 429
            self._sleep(delay)


def twilio_client(
    username: str,
    password: str,
    account_sid: str | None = None,
    *,
    api_base_url: str = "",
    timeout: float = 10.0,
    backoff: Backoff = Backoff(),
    deadline: float | None = None,
) -> Client:
    """An SDK client. `username`/`password`: an AccountSid and auth token, or an API key SID and secret (then
    `account_sid` names the account). `api_base_url`: another server than Twilio's (a stand-in)."""
    http_client = TwilioApiHttpClient(api_base_url, backoff=backoff, deadline=deadline, timeout=timeout)
    return Client(username, password, account_sid, http_client=http_client)


def account_client(
    account: AccountSecrets,
    account_sid: str = "",
    *,
    api_base_url: str = "",
    timeout: float = 10.0,
    deadline: float | None = None,
    backoff: Backoff = Backoff(),
) -> Client:
    """A client acting on `account_sid` (default: the one the secret names) with the secret's REST credentials:
    its API key, else the account SID and primary auth token. Raises TokensUnavailable without credentials.
    `backoff=NO_RETRIES` for a caller that retries itself (the sender: its commands go back to SQS)."""
    sid = account_sid or account.account_sid
    # A secret without accountSid (one plain token) authenticates as the account the caller names.
    credentials = account.api_credentials(sid)
    return twilio_client(
        credentials.username,
        credentials.password,
        sid or None,
        api_base_url=api_base_url,
        timeout=timeout,
        backoff=backoff,
        deadline=deadline,
    )


@dataclass(frozen=True)
class TwilioFailure:
    """An error answer from Twilio, however the SDK raised it: TwilioRestException for a record, a bare
    TwilioException("Unable to fetch page", response) for a page of a list."""

    status: int
    code: int | None
    message: str
    request: str = ""  # "GET /2010-04-01/..." when known


def twilio_failure(error: BaseException) -> TwilioFailure | None:
    if isinstance(error, TwilioRestException):
        message = SDK_PREFIX.sub("", str(error.msg))  # "Unable to fetch record: Authenticate" -> Twilio's own words
        return TwilioFailure(error.status, error.code, message, f"{error.method} {urlsplit(error.uri or '').path}")
    response = error.args[1] if isinstance(error, TwilioException) and len(error.args) == 2 else None
    if isinstance(response, Response):
        try:
            body = json.loads(response.text)
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        code = body.get("code") if isinstance(body.get("code"), int) else None
        return TwilioFailure(response.status_code, code, str(body.get("message", "")))
    return None


HINTS = {
    20003: "the credentials were refused: check the secret's accountSid and token, or its API key",
    20005: "the account is not active (suspended or closed)",
    20404: "not found",
    20429: "rate limited, and still after backing off",
}


def describe_failure(error: BaseException) -> str:
    """One line for an operator: what Twilio (or the network) said, without a stack trace or a secret."""
    failure = twilio_failure(error)
    if failure is not None:
        hint = HINTS.get(failure.code or 0) or ("the credentials were refused" if failure.status == 401 else "")
        to = f" to {failure.request}" if failure.request else ""
        return f"Twilio answered {failure.status} (error {failure.code}){to}: {failure.message}" + (
            f": {hint}" if hint else ""
        )
    if isinstance(
        error, requests.exceptions.InvalidSchema | requests.exceptions.MissingSchema | requests.exceptions.InvalidURL
    ):
        return (
            f"the Twilio API URL is not an http(s) URL ({type(error).__name__}): check --twilio-api-url, "
            "$TWILIO_API_URL or the stack's TwilioApiUrl output"
        )
    if isinstance(error, requests.Timeout):
        return f"Twilio's API did not answer in time ({type(error).__name__})"
    if isinstance(error, requests.ConnectionError):
        url = error.request.url if error.request is not None else None
        host = urlsplit(url).netloc if isinstance(url, str) else "Twilio's API"
        return f"cannot reach {host}: connection failed"
    if isinstance(error, OutOfTime):
        return f"stopped: {error}"
    return f"{type(error).__name__}: {error}"


# What a Twilio call can fail with, for callers that report instead of crashing.
TWILIO_FAILURES: tuple[type[Exception], ...] = (TwilioException, requests.RequestException, OutOfTime)
