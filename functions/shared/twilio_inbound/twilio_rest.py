"""The one place that builds a Twilio REST client: the official `twilio` SDK, with the stack's credentials.

    client = account_client(secrets.for_account(sid), sid, api_base_url=os.environ.get("TWILIO_API_URL", ""))

Another API server (`api_base_url`: the stand-in in devtools/twilio_api, or any Twilio look-alike) is reached
through the SDK's supported hook, `Client(http_client=...)`: each request for a Twilio API host (api.twilio.com,
messaging.twilio.com, with or without edge/region labels) goes there instead, path and query kept. Any other host
is refused, so a misconfigured client never reaches the real Twilio with test credentials.

Needs the `twilio` package: the CLI and the functions that call Twilio ship it (the layer does not).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from twilio_inbound.secrets import AccountSecrets

# The products whose hosts may be redirected: api (2010-04-01) and messaging (v1).
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


class TwilioApiHttpClient(TwilioHttpClient):  # type: ignore[misc]  # the SDK ships no type hints
    """The SDK's TwilioHttpClient, sending Twilio API requests to `api_base_url` when one is given."""

    def __init__(self, api_base_url: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api_base_url = api_base_url

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
            redirect_url(url, self.api_base_url) if self.api_base_url else url,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )


def twilio_client(
    username: str, password: str, account_sid: str | None = None, *, api_base_url: str = "", timeout: float = 10.0
) -> Client:
    """An SDK client. `username`/`password`: an AccountSid and auth token, or an API key SID and secret (then
    `account_sid` names the account). `api_base_url`: another server than Twilio's (a stand-in)."""
    http_client = TwilioApiHttpClient(api_base_url, timeout=timeout)
    return Client(username, password, account_sid, http_client=http_client)


def account_client(
    account: AccountSecrets, account_sid: str = "", *, api_base_url: str = "", timeout: float = 10.0
) -> Client:
    """A client acting on `account_sid` (default: the one the secret names) with the secret's REST credentials:
    its API key, else the account SID and primary auth token. Raises TokensUnavailable without credentials."""
    sid = account_sid or account.account_sid
    # A secret without accountSid (one plain token) authenticates as the account the caller names.
    username, password = (account if account.account_sid else replace(account, account_sid=sid)).rest_credentials()
    return twilio_client(username, password, sid or None, api_base_url=api_base_url, timeout=timeout)
