"""The HTTP side of Twilio's webhooks (inbound messages, status callbacks): API Gateway events in (payload 2.0
and 1.0), HTTP answers out.

Keeps what the signature needs exactly as sent: the raw path, the raw query string, the body bytes, blank
values and repeated keys.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import unquote, unquote_to_bytes, urlencode, urlsplit, urlunsplit

from twilio_inbound.message import FORM_MEDIA_TYPE, MultiParams
from twilio_inbound.numbers import MAX_REPLY_CHARS

TWIML_PROLOG = '<?xml version="1.0" encoding="UTF-8"?>'
# Characters XML 1.0 does not allow at all, even escaped (a short class: it is compiled at every cold start).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class RequestRejected(Exception):
    """A request we answer with a 4xx/5xx; `reason` is short, clear and reveals no internals."""

    def __init__(
        self, status: int, reason: str, headers: dict[str, str] | None = None, log: dict[str, Any] | None = None
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers or {}
        self.log = log or {}  # for the operator's log line only (never secrets), not for the caller


@dataclass(frozen=True)
class HttpRequest:
    method: str
    headers: dict[str, str]  # lower-case names
    path: str  # as sent, percent-encoding untouched
    query: str  # as sent, without "?"
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name, "")


def _decode_body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if not event.get("isBase64Encoded"):
        return body.encode("utf-8", errors="surrogatepass")  # a lone surrogate then fails as bad UTF-8 (400)
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as error:
        raise RequestRejected(400, "body is not valid base64") from error


def _v1_query(event: dict[str, Any]) -> str:
    # Payload 1.0 only has parsed parameters; re-encoding is the best we can do (a public URL avoids it).
    multi = event.get("multiValueQueryStringParameters") or {}
    if multi:
        return urlencode([(key, value) for key, values in multi.items() for value in values])
    return urlencode(event.get("queryStringParameters") or {})


def request_from_event(event: dict[str, Any]) -> HttpRequest:
    headers = {str(name).lower(): str(value) for name, value in (event.get("headers") or {}).items()}
    context = event.get("requestContext") or {}
    if event.get("version") == "2.0":
        method = context.get("http", {}).get("method", "")
        path = event.get("rawPath", "")
        query = event.get("rawQueryString", "")
    else:
        method = event.get("httpMethod", "")
        # requestContext.path keeps the stage prefix the caller used (/Prod/sms); path does not.
        path = context.get("path") or event.get("path", "")
        query = _v1_query(event)
    method = method.upper() if method.isascii() else method  # "ſ".upper() is "S": "poſt" is not POST
    return HttpRequest(method, headers, path, query, _decode_body(event))


def request_url(request: HttpRequest, public_base_url: str) -> str:
    """The URL Twilio called, which the signature covers."""
    if public_base_url:
        base = public_base_url.rstrip("/")
    else:
        scheme = request.header("x-forwarded-proto").split(",")[0].strip() or "https"
        base = f"{scheme}://{request.header('host')}"
    return f"{base}{request.path}" + (f"?{request.query}" if request.query else "")


def check_public_base_url(url: str) -> str:
    """The URL itself; fails at start-up, not on every request, when it cannot be the one Twilio calls."""
    if not url:
        return url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"PUBLIC_BASE_URL must be scheme://host[:port][/path], not {url!r}")
    return url


def check_shape(request: HttpRequest, max_body_bytes: int) -> None:
    """Method, media type and size, checked before any work is spent on the body."""
    if request.method != "POST":
        raise RequestRejected(405, "only POST is accepted", {"Allow": "POST"})
    media_type = request.header("content-type").split(";")[0].strip().lower()
    if media_type != FORM_MEDIA_TYPE:
        raise RequestRejected(415, f"Content-Type must be {FORM_MEDIA_TYPE}")
    if len(request.body) > max_body_bytes:
        raise RequestRejected(413, f"body is larger than {max_body_bytes} bytes")


def parse_form(body: bytes) -> MultiParams:
    """The form's parameters, each name with every value in order (repeated keys and blanks kept)."""
    try:
        fields = _form_fields(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise RequestRejected(400, "body is not valid UTF-8 form data") from error
    params = MultiParams({name: [value] for name, _, value in fields})
    if len(params) < len(fields):  # a repeated key (rare): every value, in order
        params.clear()
        for name, _, value in fields:
            params.setdefault(name, []).append(value)
    return params


def form_pairs(text: str) -> list[tuple[str, str]]:
    """What parse_qsl(text, keep_blank_values=True, errors="strict") returns, at a fraction of its cost per
    message (tests/unit/test_webhook_form.py holds the two equal on generated forms)."""
    return [(name, value) for name, _, value in _form_fields(text)]


def _form_fields(text: str) -> list[tuple[str, str, str]]:
    """Each field as (name, "=", value), decoded."""
    if "+" in text:
        text = text.replace("+", " ")
    if "%" in text:
        if "%26" in text or "%3D" in text or "%3d" in text:
            # An escaped "&" or "=" must stay inside its field: each name and value is decoded on its own.
            fields = (field.partition("=") for field in text.split("&") if field)
            return [(_unescaped(name), sep, _unescaped(value)) for name, sep, value in fields]
        # Otherwise the whole text is decoded at once (most values need no decoding, a few need it): it then
        # splits where the form splits, and a bad UTF-8 sequence stays bad, as no "&" or "=" can continue one.
        text = unquote_to_bytes(text).decode("utf-8")
    return [field.partition("=") for field in text.split("&") if field]


def _unescaped(text: str) -> str:
    return unquote(text, errors="strict") if "%" in text else text


# A reply the webhook answers in TwiML: its <Message statusCallback> names the inbound message it answers.
REPLY_TO_QUERY = "replyTo"


def twiml(reply: str = "", status_callback: str = "") -> str:
    """Empty TwiML, or one <Message> with the text escaped and within Twilio's length limit, and where its status
    callbacks go (the verb's statusCallback attribute)."""
    if not reply:
        return TWIML_PROLOG + "<Response/>"
    text = _NOT_XML.sub("", reply)[:MAX_REPLY_CHARS]
    # &, < and > are all XML text needs escaping (html.escape: no xml module to import at cold start); an
    # attribute also its quotes
    callback = f' statusCallback="{escape(status_callback)}"' if status_callback else ""
    return f"{TWIML_PROLOG}<Response><Message{callback}>{escape(text, quote=False)}</Message></Response>"


def twiml_response(reply: str = "", status_callback: str = "") -> dict[str, Any]:
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "text/xml; charset=utf-8"},
        "body": twiml(reply, status_callback),
    }


def sibling_url(url: str, route: str) -> str:
    """Another route of the API that served `url`: https://host/Prod/sms?x -> https://host/Prod/status."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rpartition("/")[0] + "/" + route, "", ""))


def error_response(rejection: RequestRejected) -> dict[str, Any]:
    headers = {"Content-Type": "text/plain; charset=utf-8", **rejection.headers}
    return {"statusCode": rejection.status, "headers": headers, "body": rejection.reason + "\n"}
