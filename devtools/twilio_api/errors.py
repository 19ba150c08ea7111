"""Twilio's REST errors: the JSON body {"code", "message", "more_info", "status"} and the codes we answer with.

The codes the magic test numbers produce are Twilio's documented ones; the generic ones (bad paging values,
unknown parameters) follow Twilio's error dictionary as closely as we know it.
"""

from __future__ import annotations

from typing import Any

MORE_INFO = "https://www.twilio.com/docs/errors/{code}"


class TwilioApiError(Exception):
    """An error answer: HTTP status, Twilio error code and message; `headers` rides along (Retry-After)."""

    def __init__(self, status: int, code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": MORE_INFO.format(code=self.code),
            "status": self.status,
        }


def authenticate() -> TwilioApiError:
    return TwilioApiError(401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="Twilio API"'})


def account_not_active(account_sid: str) -> TwilioApiError:
    return TwilioApiError(401, 20005, f"Account {account_sid} is not active")


def not_found(path: str) -> TwilioApiError:
    return TwilioApiError(404, 20404, f"The requested resource {path} was not found")


def method_not_allowed(method: str, allowed: list[str]) -> TwilioApiError:
    return TwilioApiError(405, 20004, f"Method {method} not allowed", {"Allow": ", ".join(allowed)})


def invalid_parameter(message: str, code: int = 20001) -> TwilioApiError:
    return TwilioApiError(400, code, message)


def too_many_requests(retry_after: int | None) -> TwilioApiError:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return TwilioApiError(429, 20429, "Too Many Requests", headers)


def server_error(status: int = 500) -> TwilioApiError:
    messages = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
    return TwilioApiError(status, 20000 + status, messages.get(status, "Server Error"))


def fault(status: int, retry_after: int | None) -> TwilioApiError:
    """The answer an injected fault gives: 429 with Retry-After, or a 5xx."""
    return too_many_requests(retry_after) if status == 429 else server_error(status)
