"""Point the official `twilio` SDK (and plain HTTP) at another server: the stand-in, or any Twilio look-alike.

The SDK's supported hook is `Client(http_client=...)` (twilio.http.HttpClient). `RedirectingHttpClient` is
the SDK's own TwilioHttpClient with one change: each request for a Twilio API host (api.twilio.com,
messaging.twilio.com, with or without edge/region labels) goes to `base_url` instead, path and query kept.
Any other host is refused, so a misconfigured client can never reach the real Twilio with test credentials.
Depends only on the SDK and the standard library, so product code can take this module as is.

    client = twilio_client("http://127.0.0.1:5010", account_sid, auth_token)
    client.messages.create(to=..., from_=..., body=...)
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

# The products whose hosts are rewritten: api (2010-04-01) and messaging (v1), the ones the stand-in serves.
PRODUCTS = ("api", "messaging")


class NotATwilioUrl(ValueError):
    pass


def redirect_url(url: str, base_url: str) -> str:
    """`https://api.twilio.com/2010-04-01/...` (or messaging, edge/region forms) -> `<base_url>/2010-04-01/...`."""
    parts = urlsplit(url)
    labels = (parts.hostname or "").split(".")
    if parts.scheme != "https" or labels[-2:] != ["twilio", "com"] or labels[0] not in PRODUCTS:
        raise NotATwilioUrl(f"not a Twilio API URL this client may redirect: {url}")
    base = urlsplit(base_url)
    return urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + parts.path, parts.query, ""))


class RedirectingHttpClient(TwilioHttpClient):  # type: ignore[misc]  # the SDK ships no type hints
    """TwilioHttpClient sending Twilio API requests to `base_url` (e.g. the stand-in's)."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url

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
        return super().request(
            method,
            redirect_url(url, self.base_url),
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )


def twilio_client(
    base_url: str, username: str, password: str, account_sid: str | None = None, *, timeout: float = 10.0
) -> Client:
    """An SDK client whose requests go to `base_url`. `username`/`password` are an AccountSid and auth token
    or an API key SID and secret (then `account_sid` names the account)."""
    return Client(
        username,
        password,
        account_sid,
        http_client=RedirectingHttpClient(base_url, timeout=timeout),
    )
