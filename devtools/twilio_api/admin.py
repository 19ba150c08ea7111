"""The admin API under /__standin/: the Python API of `TwilioStandIn` over HTTP+JSON, for another process
(the local stack, a shell). No authentication: the stand-in listens on loopback, and this is not a Twilio path.

    POST   accounts                 {"friendly_name"?, "status"?, "owner_account_sid"?, "sid"?, "auth_token"?}
    POST   accounts/<AC>/status     {"status": "suspended"}
    POST   accounts/<AC>/keys       {"key_type"?: "standard" | "main"}
    POST   numbers                  {"account_sid", "phone_number", "sms_url"?, "sms_method"?, ...}
    POST   services                 {"account_sid", "friendly_name"?, "number_sids"?: [...], "inbound_request_url"?...}
    POST   contents                 {"account_sid", "body", "friendly_name"?, "variables"?}: a Content Template
    POST   senders                  {"account_sid", "address"}: a sender that is no phone number (rcs:<agent id>)
    POST   messages                 {"account_sid", "sender", "to", "body"?, "media"?: [{"content_type", "size",
                                     "seed", "not_found_first", "server_errors", "cdn_errors", "redirect_status"}],
                                     "messaging_service_sid"?, "date_sent"? (ISO 8601), "sid"?}
    GET    messages/<SM>            the message, its media (with sha256 of their bytes) and callbacks
    GET    messages/<SM>/webhook-form   the form Twilio would post for it
    POST   messages/<SM>/deliver    send the signed inbound webhook
    POST   messages/<SM>/status     {"status", "error_code"?, "callback"?: true}
    POST   messages/<SM>/callbacks  {"status"?, "error_code"?, "url"?}: a status callback, any order
    POST   outcomes                 {"to", "statuses": [...], "error_code"?}
    POST   faults                   {"path_pattern", "status"?: 429, "count"?: 1, "method"?, "retry_after"?: 1}
    GET    requests?listener=api|cdn|admin,  GET callbacks?message_sid=,  GET violations
    DELETE logs                     forget requests, callbacks and violations
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from devtools.twilio_api.content import content_sha256
from devtools.twilio_api.models import FormPairs, MediaSpec

if TYPE_CHECKING:
    from devtools.twilio_api.standin import TwilioStandIn

Document = dict[str, Any] | list[Any]


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def jsonable(value: Any) -> Any:
    """Records as JSON: dataclasses as objects, datetimes as ISO 8601, bytes left out (they can be huge)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "content"}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    return value


def _describe_message(standin: TwilioStandIn, sid: str) -> dict[str, Any]:
    message = standin.message(sid)
    media = [
        {
            **jsonable(item),
            "url": standin.media_url(item),
            "local_url": standin.media_url(item, local=True),
            "sha256": content_sha256(item.seed, item.size, item.content),
        }
        for item in standin.media_of(sid)
    ]
    return {**jsonable(message), "media": media, "callbacks": jsonable(standin.callbacks(sid))}


def _add_message(standin: TwilioStandIn, body: dict[str, Any]) -> Document:
    media = [MediaSpec(**item) for item in body.pop("media", [])]
    raw_date = body.pop("date_sent", None)
    date_sent = datetime.fromisoformat(raw_date) if raw_date else None
    message = standin.add_inbound_message(body.pop("account_sid"), media=media, date_sent=date_sent, **body)
    return _describe_message(standin, message.sid)


def _set_status(standin: TwilioStandIn, sid: str, body: dict[str, Any]) -> Document:
    record = standin.set_status(sid, body["status"], body.get("error_code"), callback=body.get("callback", True))
    return {"callback": jsonable(record)}


def _send_callback(standin: TwilioStandIn, sid: str, body: dict[str, Any]) -> Document:
    record = standin.send_status_callback(sid, body.get("status"), body.get("error_code"), url=body.get("url"))
    return {"callback": jsonable(record)}


def _set_outcome(standin: TwilioStandIn, body: dict[str, Any]) -> Document:
    standin.set_outcome(body["to"], body["statuses"], body.get("error_code"))
    return {}


def _clear_logs(standin: TwilioStandIn) -> Document:
    standin.clear_logs()
    return {}


# (method, path with "*" for a SID) -> operation(stand-in, the SIDs, query, body)
Operation = Callable[["TwilioStandIn", list[str], dict[str, str], dict[str, Any]], Document]
OPERATIONS: dict[tuple[str, str], Operation] = {
    ("POST", "accounts"): lambda s, ids, q, b: jsonable(s.add_account(**b)),
    ("POST", "accounts/*/status"): lambda s, ids, q, b: jsonable(s.set_account_status(ids[0], b["status"])),
    ("POST", "accounts/*/keys"): lambda s, ids, q, b: jsonable(s.add_api_key(ids[0], b.get("key_type", "standard"))),
    ("POST", "numbers"): lambda s, ids, q, b: jsonable(s.add_number(b.pop("account_sid"), b.pop("phone_number"), **b)),
    ("POST", "services"): lambda s, ids, q, b: jsonable(s.add_service(b.pop("account_sid"), **b)),
    ("POST", "contents"): lambda s, ids, q, b: jsonable(s.add_content(b.pop("account_sid"), b.pop("body"), **b)),
    ("POST", "senders"): lambda s, ids, q, b: {"address": s.add_sender(b["account_sid"], b["address"])},
    ("POST", "messages"): lambda s, ids, q, b: _add_message(s, b),
    ("GET", "messages/*"): lambda s, ids, q, b: _describe_message(s, ids[0]),
    ("GET", "messages/*/webhook-form"): lambda s, ids, q, b: [list(pair) for pair in s.webhook_form(ids[0])],
    ("POST", "messages/*/deliver"): lambda s, ids, q, b: jsonable(s.deliver_inbound(ids[0])),
    ("POST", "messages/*/status"): lambda s, ids, q, b: _set_status(s, ids[0], b),
    ("POST", "messages/*/callbacks"): lambda s, ids, q, b: _send_callback(s, ids[0], b),
    ("POST", "outcomes"): lambda s, ids, q, b: _set_outcome(s, b),
    ("POST", "faults"): lambda s, ids, q, b: jsonable(s.fail_next(b.pop("path_pattern"), **b)),
    ("GET", "requests"): lambda s, ids, q, b: jsonable(s.requests(q.get("listener"))),
    ("GET", "callbacks"): lambda s, ids, q, b: jsonable(s.callbacks(q.get("message_sid"))),
    ("GET", "violations"): lambda s, ids, q, b: s.violations,
    ("DELETE", "logs"): lambda s, ids, q, b: _clear_logs(s),
}
_SID = re.compile(r"^[A-Z]{2}[0-9a-f]{32}$")


def _route(standin: TwilioStandIn, method: str, path: str, query: dict[str, str], body: dict[str, Any]) -> Document:
    parts = path.strip("/").split("/")
    ids = [part for part in parts if _SID.match(part)]
    shape = "/".join("*" if _SID.match(part) else part for part in parts)
    operation = OPERATIONS.get((method, shape))
    if operation is None:
        raise AdminError(404, f"no admin operation {method} /__standin/{path}")
    return operation(standin, ids, query, body)


def dispatch(standin: TwilioStandIn, method: str, path: str, query: FormPairs, raw: bytes) -> tuple[int, Document]:
    """(status, JSON document) for an admin request; mistakes answer 400/404 with {"error": ...}."""
    try:
        body = json.loads(raw) if raw.strip() else {}
        if not isinstance(body, dict):
            raise AdminError(400, "the body must be a JSON object")
        return 200, _route(standin, method, path, dict(query), body)
    except AdminError as error:
        return error.status, {"error": str(error)}
    except KeyError as error:  # a SID the stand-in does not hold, or a field the body lacks
        return 404 if re.fullmatch(r"'[A-Z]{2}[0-9a-f]{32}'", str(error)) else 400, {
            "error": f"unknown or missing {error}"
        }
    except LookupError as error:  # e.g. no webhook configured for the number
        return 409, {"error": str(error)}
    except (TypeError, ValueError) as error:
        return 400, {"error": str(error)}
