"""API Gateway's side of the webhook: HTTP requests turned into Lambda proxy events, and back.

`http_api_event` builds the payload 2.0 event an HTTP API sends (what the deployed stack uses), and
`rest_api_event` the payload 1.0 event of a REST API; `GatewayServer` serves functions over real HTTP, one per
route path (the template's HttpApi events).
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from devtools.lambda_context import ACCOUNT_ID

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's own request limit
MAX_INVOCATIONS = 10  # at once in this process (see GatewayServer)


def _split(url: str) -> tuple[str, str, str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc, parts.path or "/", parts.query


def http_api_event(
    method: str, url: str, headers: dict[str, str], body: bytes, route_key: str = "ANY /sms"
) -> dict[str, Any]:
    scheme, host, path, query = _split(url)
    lowered = {name.lower(): value for name, value in headers.items()}
    lowered.setdefault("host", host)
    lowered.setdefault("x-forwarded-proto", scheme)
    lowered.setdefault("x-forwarded-port", str(urlsplit(url).port or (443 if scheme == "https" else 80)))
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": lowered,
        "queryStringParameters": {key: ",".join(values) for key, values in parse_qs(query).items()} or None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "domainName": host.split(":")[0],
            "domainPrefix": host.split(".")[0],
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": lowered.get("x-forwarded-for", "127.0.0.1").split(",")[0],
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        # HTTP APIs base64-encode form bodies; the handler must decode them.
        "body": base64.b64encode(body).decode("ascii"),
        "isBase64Encoded": True,
    }


def rest_api_url(url: str, stage: str = "Prod") -> str:
    """The URL a REST API serves the same route at: its stage leads the path (HTTP APIs' $default has none)."""
    parts = urlsplit(url)
    return parts._replace(path=f"/{stage}{parts.path}").geturl()


def rest_api_event(method: str, url: str, headers: dict[str, str], body: bytes, stage: str = "Prod") -> dict[str, Any]:
    """Payload 1.0 (REST API, `sam local generate-event apigateway aws-proxy`); the URL's path has the stage."""
    scheme, host, path, query = _split(url)
    resource_path = path.removeprefix(f"/{stage}") or "/"
    multi_query = parse_qs(query, keep_blank_values=True)
    all_headers = {"Host": host, "X-Forwarded-Proto": scheme, **headers}
    return {
        "resource": resource_path,
        "path": resource_path,
        "httpMethod": method.upper(),
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": {key: values[-1] for key, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "domainName": host,
            "httpMethod": method.upper(),
            "path": path,
            "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()),
            "resourcePath": resource_path,
            "stage": stage,
        },
        "body": body.decode("utf-8"),
        "isBase64Encoded": False,
    }


Invoke = Callable[[dict[str, Any]], Any]
_INVOCATION_ERRORS = {
    "RequestEntityTooLargeException": (413, "Request Entity Too Large"),
    "RequestEntityTooLarge": (502, "Internal Server Error"),
}


class _GatewayHandler(BaseHTTPRequestHandler):
    server: GatewayServer
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        if not self.server.begin_request():  # stopping: a kept-alive connection gets no new request in
            self._send(503, {"Content-Type": "application/json"}, b'{"message":"Service Unavailable"}')
            self.close_connection = True
            return
        try:
            self._answer()
        finally:
            self.server.end_request()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_PAYLOAD_BYTES:
            self._send(413, {"Content-Type": "application/json"}, b'{"message":"Request Entity Too Large"}')
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        invoke = self.server.routes.get(path)
        if invoke is None:
            self._send(404, {"Content-Type": "application/json"}, b'{"message":"Not Found"}')
            return
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        headers = {name.lower(): value for name, value in self.headers.items()}
        headers.setdefault("x-forwarded-for", self.client_address[0])
        event = http_api_event(self.command, f"http://{host}{self.path}", headers, body, route_key=f"ANY {path}")
        try:
            with self.server.invocations:
                result = invoke(event)
        except Exception as error:
            # What API Gateway answers when the invocation fails: Lambda refused an event over 6 MB (413), the
            # function's answer was over 6 MB (502), it raised or timed out (500).
            kind = getattr(error, "error_type", "")
            status, message = _INVOCATION_ERRORS.get(kind, (500, "Internal Server Error"))
            self.server.log_error_line(
                f"{self.command} {self.path}: the function raised {kind or type(error).__name__}"
            )
            self._send(status, {"Content-Type": "application/json"}, json.dumps({"message": message}).encode())
            return
        response_body = result.get("body") or ""
        data = base64.b64decode(response_body) if result.get("isBase64Encoded") else response_body.encode()
        self._send(int(result.get("statusCode", 200)), result.get("headers") or {}, data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's default of 5 resets connections when Twilio-like bursts arrive

    def __init__(
        self,
        address: tuple[str, int],
        routes: dict[str, Invoke],
        verbose: bool = False,
        max_invocations: int = MAX_INVOCATIONS,
    ):
        self.routes = routes  # path -> the function serving it (every method: the function answers 405 itself)
        self.verbose = verbose
        self._answering = 0  # requests being answered (not idle kept-alive connections)
        self._closing = False
        self._idle = threading.Condition()
        # Lambda gives each concurrent request a container of its own; here they share one process, one lock
        # and the functions' clients, whose pools hold 10 connections (botocore's default): past that, every
        # request opened and dropped a connection to the emulator. More at once only queues behind the lock.
        self.invocations = threading.BoundedSemaphore(max_invocations)
        super().__init__(address, _GatewayHandler)

    def begin_request(self) -> bool:
        with self._idle:
            if self._closing:
                return False
            self._answering += 1
            return True

    def end_request(self) -> None:
        with self._idle:
            self._answering -= 1
            self._idle.notify_all()

    def close(self, timeout: float) -> int:
        """Stops taking connections and requests, then waits (bounded) for the requests being answered to be
        answered; returns how many were not."""
        with self._idle:
            self._closing = True
        self.shutdown()
        self.server_close()
        with self._idle:
            self._idle.wait_for(lambda: self._answering == 0, timeout)
            return self._answering

    def log_error_line(self, line: str) -> None:
        print(json.dumps({"level": "ERROR", "message": line}), flush=True)
