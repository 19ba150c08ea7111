"""HTTP values read strictly: header numbers, and the base URL of a server standing in for Twilio's API.

`str.isdigit()` also admits superscripts and other scripts' digits ("²", "٣"), which int() and float() then refuse
or read differently: a header Twilio or a CDN sends must never crash the code reading it. A base URL without its
scheme makes every request fail with an error that reads like a credential problem: it is refused when read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

_WHOLE = re.compile(r"[0-9]{1,18}")


def header_int(value: str | None) -> int | None:
    """A non-negative whole number (Content-Length, Retry-After in seconds); None when absent or anything else
    (an HTTP date in Retry-After, a sign, spaces inside, non-ASCII digits)."""
    text = (value or "").strip(" \t")
    return int(text) if _WHOLE.fullmatch(text) else None


def check_api_base_url(url: str) -> str:
    """`url` when it can stand in for Twilio's API (http(s)://host[:port][/path]); ValueError saying what is wrong."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        example = f"http://{url.strip()}" if url.strip() and "://" not in url else "http://127.0.0.1:5010"
        raise ValueError(f"{url!r} is not an http(s) URL with a host: write it with its scheme, e.g. {example}")
    try:
        _ = parts.port
    except ValueError as error:
        raise ValueError(f"{url!r} has an invalid port") from error
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{url!r}: give the server's base URL only (no query, fragment or credentials)")
    return url.strip().rstrip("/")


def api_url_from_env(env: Mapping[str, str]) -> str:
    """A function's TWILIO_API_URL: "" (Twilio itself), else a checked base URL; ValueError naming the variable, so
    a misconfigured function fails at start-up, not on its first Twilio call."""
    value = env.get("TWILIO_API_URL", "").strip()
    try:
        return check_api_base_url(value) if value else ""
    except ValueError as error:
        raise ValueError(f"TWILIO_API_URL: {error}") from error
