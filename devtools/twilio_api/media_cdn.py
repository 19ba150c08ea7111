"""The media "CDN": a listener of its own (another host:port, as Twilio's redirect leaves api.twilio.com).

It serves the bytes a media redirect points at WITHOUT authentication: the short-lived token in the URL is the
credential, as in Twilio's signed CDN links. It records every request with its headers, so tests can assert
that no Authorization header ever followed the redirect. Bytes are streamed in 64 KiB chunks made from the
item's seed, so a 100 MB item costs one chunk of memory.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from devtools.twilio_api.content import content_chunks
from devtools.twilio_api.models import RequestRecord

if TYPE_CHECKING:
    from devtools.twilio_api.standin import TwilioStandIn

_MEDIA_PATH = re.compile(r"^/media/(?P<token>[A-Za-z0-9_-]+)$")
_EXPIRED = b"<Error><Code>AccessDenied</Code><Message>Request has expired or is not valid</Message></Error>"


class CdnServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], standin: TwilioStandIn) -> None:
        self.standin = standin
        super().__init__(address, _CdnHandler)


class _CdnHandler(BaseHTTPRequestHandler):
    server: CdnServer
    protocol_version = "HTTP/1.1"
    server_version = "twilio-standin-cdn"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stall

    def _handle(self) -> None:
        engine = self.server.standin.engine
        path = urlsplit(self.path).path
        found = _MEDIA_PATH.match(path)
        media = engine.redeem(found["token"]) if found else None
        if media is None:
            self._record(path, 403)
            self._send_small(403, "application/xml", _EXPIRED)
            return
        with engine.store.lock:
            failing = media.cdn_errors_remaining > 0
            if failing:
                media.cdn_errors_remaining -= 1
        if failing:
            self._record(path, 503)
            self._send_small(503, "text/plain", b"Service Unavailable")
            return
        self._record(path, 200)
        self.send_response(200)
        self.send_header("Content-Type", media.content_type)
        self.send_header("Content-Length", str(media.size))
        self.send_header("Cache-Control", "private, max-age=0")
        self.end_headers()
        if self.command == "HEAD":
            return
        try:
            for chunk in content_chunks(media.seed, media.size, media.content):
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client stopped reading (a size cap, a timeout): nothing to do

    do_GET = do_HEAD = _handle

    def _send_small(self, status: int, content_type: str, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _record(self, path: str, status: int) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.standin.store.record_request(
            RequestRecord("cdn", self.command, path, [], [], headers, status, datetime.now(UTC))
        )

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.standin.verbose:
            super().log_message(format, *args)
