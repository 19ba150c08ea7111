"""AWS answered inside botocore with canned HTTP responses, chosen by service and operation.

Only the socket is skipped: serialization, signing, the retry handler's checks (DynamoDB's CRC32) and
response parsing all run, as they do against AWS. Answers depend on the operation, never on call order, so a
function that adds, drops or reorders calls still gets sensible ones: writes succeed, reads find nothing,
Secrets Manager returns the token the benchmark events are signed with, SNS accepts every entry.

Stdlib imports are deferred to the first call: bench.sandbox loads this module before the clock starts.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any, cast

SECRET_ENV = "BENCH_SECRET_STRING"  # noqa: S105 (the name of a variable holding the fake token)  # nosec B105
REQUEST_ID = "00000000-0000-4000-8000-000000000000"
SNS_NAMESPACE = "http://sns.amazonaws.com/doc/2010-03-31/"

calls: dict[str, int] = {}  # "dynamodb.PutItem" -> requests answered


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


def _dynamodb(operation: str, request: dict[str, Any]) -> dict[str, Any]:
    if operation == "BatchGetItem":
        return {"Responses": {table: [] for table in request.get("RequestItems", {})}, "UnprocessedKeys": {}}
    if operation == "BatchWriteItem":
        return {"UnprocessedItems": {}}
    if operation in ("Query", "Scan"):
        return {"Items": [], "Count": 0, "ScannedCount": 0}
    if operation == "TransactGetItems":
        return {"Responses": [{} for _ in request.get("TransactItems", [])]}
    return {}  # PutItem, UpdateItem, DeleteItem, TransactWriteItems succeed; GetItem finds no item


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
    from botocore.awsrequest import AWSResponse

    name, headers, payload = answer(request.url, request.headers, request.body)
    calls[name] = calls.get(name, 0) + 1
    # botocore wraps the headers in its own case-insensitive dict, as it does urllib3's.
    return AWSResponse(request.url, 200, cast(Any, headers), _Raw(payload))


def install(httpsession: ModuleType) -> None:
    httpsession.URLLib3Session.send = send
