"""The API listener: Twilio's REST paths (2010-04-01 and messaging v1) and the admin API under /__standin/.

Order per request, as Twilio's edge behaves: injected faults (429/5xx) first, then HTTP Basic auth, then the
route (404 unknown, 405 wrong method), then the handler. With a `TwilioSpec` attached, every request's
parameters and every answer are checked against Twilio's description and disagreements recorded.
"""

from __future__ import annotations

import json
import logging
import secrets
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from devtools.twilio_api import errors
from devtools.twilio_api.admin import dispatch
from devtools.twilio_api.handlers import ROUTES
from devtools.twilio_api.models import FormPairs, RequestRecord
from devtools.twilio_api.routing import Call, Reply, Route, match

if TYPE_CHECKING:
    from devtools.twilio_api.standin import TwilioStandIn

logger = logging.getLogger(__name__)
ADMIN_PREFIX = "/__standin/"
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_BODY_BYTES = 1024 * 1024


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], standin: TwilioStandIn) -> None:
        self.standin = standin
        super().__init__(address, _ApiHandler)


class _ApiHandler(BaseHTTPRequestHandler):
    server: ApiServer
    protocol_version = "HTTP/1.1"
    server_version = "twilio-standin"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stall

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qsl(parts.query, keep_blank_values=True)
        body = self._read_body()
        if body is None:
            return
        if parts.path.startswith(ADMIN_PREFIX):
            status, document = dispatch(self.server.standin, self.command, parts.path[len(ADMIN_PREFIX) :], query, body)
            self._record("admin", parts.path, query, [], status)
            self._send(status, {"Content-Type": "application/json"}, json.dumps(document).encode())
            return
        is_form = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower() == FORM_TYPE
        form = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True) if is_form else []
        reply = self._answer(parts.path, query, form)
        payload = json.dumps(reply.body).encode() if reply.body is not None else b""
        headers = {"Twilio-Request-Id": "RQ" + secrets.token_hex(16), **reply.headers}
        if reply.body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        # Recorded before answering: a test that got its answer finds the request in the log.
        self._record("api", parts.path, query, form, reply.status)
        self._send(reply.status, headers, payload)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _handle

    def _answer(self, path: str, query: FormPairs, form: FormPairs) -> Reply:
        standin = self.server.standin
        store = standin.store
        route: Route | None = None
        try:
            fault = store.take_fault(self.command, path)
            if fault is not None:
                raise errors.fault(fault.status, fault.retry_after)
            principal = store.authenticate(self.headers.get("Authorization"))
            matches = match(ROUTES, path)
            if not matches:
                raise errors.not_found(path)
            found = [(candidate, params) for candidate, params in matches if candidate.method == self.command]
            if not found:
                raise errors.method_not_allowed(self.command, sorted({candidate.method for candidate, _ in matches}))
            route, params = found[0]
            pairs = form if self.command == "POST" else query
            self._check_request(route, pairs)
            reply = route.handler(Call(standin.engine, route, path, params, pairs, principal))
        except errors.TwilioApiError as error:
            reply = Reply(error.status, error.body(), error.headers)
        except Exception as error:  # a stand-in bug: answer like Twilio's 500, and make the tests see it
            logger.exception("stand-in failed on %s %s", self.command, path)
            store.record_violations([f"{self.command} {path}: stand-in error {error!r}"])
            reply = Reply(500, errors.server_error(500).body())
        self._check_response(route, reply)
        return reply

    def _check_request(self, route: Route, pairs: FormPairs) -> None:
        spec = self.server.standin.spec
        if spec is None or route.spec is None:
            return
        declared = spec.declared_params(route.spec, route.path, route.method)
        undeclared = sorted({name for name, _ in pairs} - declared)
        if undeclared:
            self.server.standin.store.record_violations(
                [f"{route.method} {route.path}: request parameters not in Twilio's description: {undeclared}"]
            )

    def _check_response(self, route: Route | None, reply: Reply) -> None:
        spec = self.server.standin.spec
        if spec is None or (route is not None and route.spec is None and reply.status < 400):
            return
        spec_name, path, method = (
            (route.spec or "api_v2010", route.path, route.method) if route else ("api_v2010", "", "")
        )
        problems = spec.check_response(spec_name, path, method, reply.status, reply.body)
        if problems:
            logger.warning("answer disagrees with Twilio's description: %s", problems)
            self.server.standin.store.record_violations(problems)

    def _read_body(self) -> bytes | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._send(413, {}, b"")
            return None
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _record(self, listener: str, path: str, query: FormPairs, form: FormPairs, status: int) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.standin.store.record_request(
            RequestRecord(listener, self.command, path, query, form, headers, status, datetime.now(UTC))
        )

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.standin.verbose:
            super().log_message(format, *args)
