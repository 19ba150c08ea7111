"""Point the official `twilio` SDK at the stand-in (or any Twilio look-alike).

The client itself is built where the product builds it, `twilio_inbound.twilio_rest` (the shared layer), so
tests exercise the same redirecting HTTP client the CLI and the functions use. Here it is used without
retries, so the stand-in's own tests see every injected 429 and 5xx.

    client = twilio_client("http://127.0.0.1:5010", account_sid, auth_token)
    client.messages.create(to=..., from_=..., body=...)
"""

from __future__ import annotations

from twilio.rest import Client

from twilio_inbound import twilio_rest
from twilio_inbound.twilio_rest import NotATwilioUrl, redirect_url

__all__ = ["NotATwilioUrl", "redirect_url", "twilio_client"]


def twilio_client(
    base_url: str, username: str, password: str, account_sid: str | None = None, *, timeout: float = 10.0
) -> Client:
    """An SDK client whose requests go to `base_url`. `username`/`password` are an AccountSid and auth token
    or an API key SID and secret (then `account_sid` names the account)."""
    return twilio_rest.twilio_client(
        username, password, account_sid, api_base_url=base_url, timeout=timeout, backoff=twilio_rest.NO_RETRIES
    )
