"""AWS answered inside botocore with canned HTTP responses, chosen by service and operation.

Only the socket is skipped: serialization, signing, the retry handler's checks (DynamoDB's CRC32) and
response parsing all run, as they do against AWS. Answers depend on the operation, never on call order, so a
function that adds, drops or reorders calls still gets sensible ones: writes succeed; reads find the items the
benchmark seeded (a registered number, the messages a run compares, `BENCH_SEEDED_ITEMS`) and nothing else;
Secrets Manager returns the secret the benchmark events are signed with; SNS accepts every entry; S3 keeps what
was put (its size, metadata and checksum, not the bytes), so the read-back after a write finds it.

Stdlib imports are deferred to the first call: bench.sandbox loads this module before the clock starts.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from types import ModuleType
from typing import Any, cast

SECRET_ENV = "BENCH_SECRET_STRING"  # noqa: S105 (the name of a variable holding the fake token)  # nosec B105
SEEDED_ENV = "BENCH_SEEDED_ITEMS"  # a JSON file: {table name: [typed items]}
REQUEST_ID = "00000000-0000-4000-8000-000000000000"
SNS_NAMESPACE = "http://sns.amazonaws.com/doc/2010-03-31/"

calls: dict[str, int] = {}  # "dynamodb.PutItem" -> requests answered
_seeded: dict[str, list[dict[str, Any]]] = {}  # table name -> items, read from SEEDED_ENV at the first read
_by_key: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}  # (table, key names) -> key -> item
_objects: dict[str, dict[str, str]] = {}  # S3 "bucket/key" -> the response headers of a HEAD


class _Raw:
    """The part of urllib3's response that botocore reads for a non-streaming body."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> list[bytes]:
        return [self._body]


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _table(name: str) -> list[dict[str, Any]]:
    path = os.environ.get(SEEDED_ENV, "")
    if path and not _seeded:
        import json

        with open(path, encoding="utf-8") as seeded:
            _seeded.update(json.load(seeded))
    return _seeded.get(name.rpartition("/")[2], [])


def _key_text(key: dict[str, Any]) -> str:
    import json

    return json.dumps(key, sort_keys=True)


def _seeded_item(table: str, key: dict[str, Any]) -> dict[str, Any] | None:
    names = ",".join(sorted(key))
    index = _by_key.get((table, names))
    if index is None:
        index = _by_key[(table, names)] = {
            _key_text({name: item[name] for name in key}): item
            for item in _table(table)
            if all(name in item for name in key)
        }
    return index.get(_key_text(key))


def _get_item(request: dict[str, Any]) -> dict[str, Any]:
    item = _seeded_item(request["TableName"], request["Key"])
    return {"Item": item} if item is not None else {}


def _batch_get_item(request: dict[str, Any]) -> dict[str, Any]:
    responses = {
        table: [item for key in asked["Keys"] if (item := _seeded_item(table, key)) is not None]
        for table, asked in request.get("RequestItems", {}).items()
    }
    return {"Responses": responses, "UnprocessedKeys": {}}


def _scan(request: dict[str, Any]) -> dict[str, Any]:
    items = _table(request["TableName"])
    return {"Items": items, "Count": len(items), "ScannedCount": len(items)}


_DYNAMODB_READS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "GetItem": _get_item,
    "BatchGetItem": _batch_get_item,
    "Scan": _scan,
    "Query": lambda _: {"Items": [], "Count": 0, "ScannedCount": 0},
    "TransactGetItems": lambda request: {"Responses": [{} for _ in request.get("TransactItems", [])]},
    "BatchWriteItem": lambda _: {"UnprocessedItems": {}},
}


def _dynamodb(operation: str, request: dict[str, Any]) -> dict[str, Any]:
    """Reads find the seeded items; PutItem, UpdateItem, DeleteItem, TransactWriteItems succeed."""
    read = _DYNAMODB_READS.get(operation)
    return read(request) if read is not None else {}


def _json_answer(service: str, operation: str, request: dict[str, Any]) -> dict[str, Any]:
    if service == "dynamodb":
        return _dynamodb(operation, request)
    if service == "secretsmanager" and operation == "GetSecretValue":
        secret_id = str(request.get("SecretId", "bench"))
        return {
            "ARN": secret_id,
            "Name": secret_id.rpartition(":")[2],
            "SecretString": os.environ.get(SECRET_ENV, ""),
            "VersionId": REQUEST_ID,
            "VersionStages": ["AWSCURRENT"],
            "CreatedDate": 1_767_225_600.0,
        }
    return {}


def _query_answer(operation: str, form: dict[str, list[str]]) -> str:
    if operation == "PublishBatch":
        ids = [values[0] for name, values in form.items() if name.endswith(".Id")]
        members = "".join(
            f"<member><Id>{entry_id}</Id><MessageId>{REQUEST_ID}</MessageId></member>" for entry_id in ids
        )
        result = f"<Successful>{members}</Successful><Failed/>"
    elif operation == "Publish":
        result = f"<MessageId>{REQUEST_ID}</MessageId>"
    else:
        result = ""
    return (
        f'<{operation}Response xmlns="{SNS_NAMESPACE}"><{operation}Result>{result}</{operation}Result>'
        f"<ResponseMetadata><RequestId>{REQUEST_ID}</RequestId></ResponseMetadata></{operation}Response>"
    )


def _s3(method: str, url: str, headers: Any) -> tuple[str, int, dict[str, str]]:
    """PutObject keeps the object's size, type, metadata and checksum; HeadObject finds what was put (404 else)."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    labels = (parts.hostname or "").split(".")
    name = unquote(labels[0] + parts.path if labels[1:2] == ["s3"] else parts.path.lstrip("/"))  # bucket/key
    if method == "PUT":
        kept = {
            key.lower(): _text(value)
            for key, value in headers.items()
            if key.lower().startswith("x-amz-meta-") or key.lower() in ("content-type", "x-amz-checksum-sha256")
        }
        _objects[name] = {**kept, "content-length": _text(headers.get("Content-Length")) or "0"}
        echoed = {"x-amz-checksum-sha256": kept["x-amz-checksum-sha256"]} if "x-amz-checksum-sha256" in kept else {}
        return "s3.PutObject", 200, {"ETag": '"0"', **echoed}
    if method == "HEAD":
        found = _objects.get(name)
        return "s3.HeadObject", (200 if found else 404), dict(found or {})
    return f"s3.{method}", 200, {}


def answer(url: str, headers: Any, body: bytes | str | None) -> tuple[str, dict[str, str], bytes]:
    """(service.Operation, response headers, response body) for one signed request."""
    import json
    import zlib
    from urllib.parse import parse_qs, urlsplit

    service = (urlsplit(url).hostname or "").partition(".")[0]
    target = _text(headers.get("X-Amz-Target"))
    if target:  # JSON protocols: DynamoDB, Secrets Manager, SQS, ...
        operation = target.rpartition(".")[2]
        request = json.loads(_text(body) or "{}")
        payload = json.dumps(_json_answer(service, operation, request)).encode("utf-8")
        response_headers = {
            "Content-Type": _text(headers.get("Content-Type")) or "application/x-amz-json-1.0",
            "x-amzn-RequestId": REQUEST_ID,
            "x-amz-crc32": str(zlib.crc32(payload) & 0xFFFFFFFF),
        }
    else:  # query protocol: SNS
        form = parse_qs(_text(body), keep_blank_values=True)
        operation = form.get("Action", ["Unknown"])[0]
        payload = _query_answer(operation, form).encode("utf-8")
        response_headers = {"Content-Type": "text/xml", "x-amzn-RequestId": REQUEST_ID}
    response_headers["Content-Length"] = str(len(payload))
    return f"{service}.{operation}", response_headers, payload


def send(_session: object, request: Any) -> Any:
    """Stands in for botocore.httpsession.URLLib3Session.send."""
    from urllib.parse import urlsplit

    from botocore.awsrequest import AWSResponse

    status = 200
    host = urlsplit(request.url).hostname or ""
    if host.startswith("s3.") or ".s3." in host:
        name, status, headers = _s3(request.method, request.url, request.headers)
        payload = b""
    else:
        name, headers, payload = answer(request.url, request.headers, request.body)
    calls[name] = calls.get(name, 0) + 1
    # botocore wraps the headers in its own case-insensitive dict, as it does urllib3's.
    return AWSResponse(request.url, status, cast(Any, headers), _Raw(payload))


def install(httpsession: ModuleType) -> None:
    httpsession.URLLib3Session.send = send
