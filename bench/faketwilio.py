"""Twilio answered inside the process, as bench/fakeaws answers AWS: canned answers chosen by method and path,
never by call order, with only the socket skipped.

- The twilio SDK (requests' HTTPAdapter.send, below which urllib3 would open a connection): the Session, the
  SDK's request building and authentication, and its parsing of the answer all run.
  POST .../Messages.json          the message created: a SID derived from the request, status queued
  GET  .../Messages.json          a page of the messages in BENCH_TWILIO_MESSAGES ("listed"), To filter and paging
- The media function's http.client connections (their socket; TLS is skipped as AWS's is by bench/fakeaws):
  http.client writes the request and parses the answer.
  GET  api.twilio.com/.../Media/ME...   307 to the CDN, which answers BENCH_MEDIA_BYTES bytes (image/jpeg)
  DELETE                                204

Stdlib imports are deferred to the first call: bench.sandbox loads this module before the clock starts.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any

MESSAGES_ENV = "BENCH_TWILIO_MESSAGES"  # a JSON file: {"created": a message's JSON, "listed": [messages' JSON]}
MEDIA_BYTES_ENV = "BENCH_MEDIA_BYTES"
CDN_HOST = "media.twiliocdn.com"

calls: dict[str, int] = {}  # "twilio.Messages.create" -> requests answered
_canned: dict[str, Any] = {}
_media: list[bytes] = []


def _messages() -> dict[str, Any]:
    if not _canned:
        import json

        with open(os.environ[MESSAGES_ENV], encoding="utf-8") as canned:
            _canned.update(json.load(canned))
    return _canned


def _count(name: str) -> None:
    calls[name] = calls.get(name, 0) + 1


def _created(path: str, form: dict[str, list[str]]) -> dict[str, Any]:
    import hashlib

    def field(name: str) -> str | None:
        return form.get(name, [None])[0]

    digest = hashlib.sha1(repr(sorted(form.items())).encode(), usedforsecurity=False).hexdigest()
    service = field("MessagingServiceSid")
    return {
        **_messages()["created"],
        "account_sid": path.split("/")[3],
        "sid": "SM" + digest[:32],
        "to": field("To"),
        "from": field("From"),
        "body": field("Body") or "",
        "messaging_service_sid": service,
        "status": "accepted" if service and not field("From") else "queued",
        "num_media": str(len(form.get("MediaUrl", []))),
    }


def _page(path: str, query: dict[str, list[str]]) -> dict[str, Any]:
    from urllib.parse import urlencode

    to = query.get("To", [""])[0]
    size = int(query.get("PageSize", ["50"])[0])
    number = int(query.get("Page", ["0"])[0])
    listed = [message for message in _messages()["listed"] if not to or message["to"] == to]
    records = listed[number * size : (number + 1) * size]
    filters = [(name, values[0]) for name, values in query.items() if name not in ("PageSize", "Page", "PageToken")]

    def uri(page: int) -> str:
        token = [("PageToken", f"PA{listed[page * size - 1]['sid']}")] if page else []
        return f"{path}?{urlencode([*filters, ('PageSize', size), ('Page', page), *token])}"

    return {
        "messages": records,
        "start": number * size,
        "end": number * size + max(len(records) - 1, 0),
        "page": number,
        "page_size": size,
        "uri": uri(number),
        "first_page_uri": uri(0),
        "next_page_uri": uri(number + 1) if len(listed) > (number + 1) * size else None,
        "previous_page_uri": uri(number - 1) if number else None,
    }


def api_answer(method: str, url: str, body: bytes | str | None) -> tuple[str, int, dict[str, Any]]:
    """(name, status, JSON) for one request of the SDK."""
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(url)
    if parts.path.endswith("/Messages.json") and method == "POST":
        text = body.decode() if isinstance(body, bytes) else body or ""
        return "twilio.Messages.create", 201, _created(parts.path, parse_qs(text, keep_blank_values=True))
    if parts.path.endswith("/Messages.json") and method == "GET":
        return "twilio.Messages.list", 200, _page(parts.path, parse_qs(parts.query, keep_blank_values=True))
    return f"twilio.{method} {parts.path}", 404, {"code": 20404, "message": "not in the benchmark's answers"}


def send(_adapter: object, request: Any, *_: Any, **__: Any) -> Any:
    """Stands in for requests.adapters.HTTPAdapter.send."""
    import json

    from requests.models import Response
    from requests.structures import CaseInsensitiveDict

    name, status, document = api_answer(request.method, request.url, request.body)
    _count(name)
    response = Response()
    response.status_code = status
    response._content = json.dumps(document).encode()
    response.headers = CaseInsensitiveDict({"Content-Type": "application/json"})
    response.encoding = "utf-8"
    response.url = request.url
    response.request = request
    return response


# ---------------------------------------------------------------- the media function's plain HTTP
def media_bytes() -> bytes:
    if not _media:
        import random

        _media.append(random.Random(0).randbytes(int(os.environ.get(MEDIA_BYTES_ENV) or 0)))  # nosec B311
    return _media[0]


def _http_answer(host: str, request: bytes) -> bytes:
    method, path = request.split(b" ", 2)[:2]
    if method == b"DELETE":
        _count("twilio.Media.delete")
        return b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"
    if host == CDN_HOST:
        _count("twilio.cdn GET")
        content = media_bytes()
        head = f"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {len(content)}\r\n\r\n"
        return head.encode() + content
    _count("twilio.Media.fetch")
    location = f"https://{CDN_HOST}{path.decode()}"
    return f"HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n".encode()


class _Socket:
    """What http.client uses of a connected socket: it writes the request, then reads the answer from a file."""

    def __init__(self, host: str) -> None:
        self._host = host
        self._sent = bytearray()

    def sendall(self, data: bytes) -> None:
        self._sent += data

    def makefile(self, *_: Any, **__: Any) -> Any:
        import io

        return io.BytesIO(_http_answer(self._host, bytes(self._sent)))

    def close(self) -> None:
        self._sent.clear()


def _connect(connection: Any) -> None:
    connection.sock = _Socket(connection.host)


def install_requests(adapters: ModuleType) -> None:
    adapters.HTTPAdapter.send = send


def install_http_client(client: ModuleType) -> None:
    client.HTTPConnection.connect = _connect
    client.HTTPSConnection.connect = _connect
