"""DynamoDB's typed JSON for our records, both ways (the table write and the stream image)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_BATCH_KEYS = 100  # BatchGetItem's limit per call
MAX_UNPROCESSED_ROUNDS = 5  # calls for the keys DynamoDB leaves unprocessed (throttling) before giving up

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
# Ints DynamoDB stores exactly (38 significant digits); larger ones go through boto3, which rejects them.
_EXACT_INT = 10**38


def _typed(value: Any) -> dict[str, Any]:
    # The types our records hold, without boto3's generic (and, per message, costly) type dispatch;
    # anything else (Decimal, sets, bytes, floats to reject) takes boto3's path, with its checks.
    kind = type(value)
    typed: dict[str, Any]
    if kind is str:
        typed = {"S": value}
    elif kind is bool:
        typed = {"BOOL": value}
    elif kind is int and -_EXACT_INT < value < _EXACT_INT:
        typed = {"N": str(value)}
    elif value is None:
        typed = {"NULL": True}
    elif kind is list or kind is tuple:
        typed = {"L": [_typed(item) for item in value]}
    elif kind is dict:
        typed = {"M": {key: _typed(item) for key, item in value.items()}}
    else:
        typed = dict(_serializer.serialize(value))
    return typed


def webhook_client() -> DynamoDBClient:
    """The client of a function Twilio waits on (the webhook routes): bounded to 3 attempts of at most 1 s to
    connect and 2 s to read, so a struggling DynamoDB yields a 503 well inside Twilio's 15 s timeout (Twilio then
    retries or uses the fallback URL), instead of the SDK's default 10 attempts for DynamoDB."""
    config = Config(retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=1, read_timeout=2)
    return boto3.client("dynamodb", config=config)


def to_item(record: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _typed(value) for name, value in record.items()}


def _plain(value: Any) -> Any:
    # DynamoDB numbers come back as Decimal, which json cannot encode; ours are all whole numbers.
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | set):
        return [_plain(item) for item in value]
    return value


def _untyped(typed: Any) -> Any:
    # The inverse of _typed, with the same results as boto3's deserializer followed by _plain.
    if type(typed) is dict and len(typed) == 1:
        ((tag, value),) = typed.items()
        if tag in ("S", "BOOL"):
            return value
        if tag == "N":
            if type(value) is str and value.isascii() and value.removeprefix("-").isdigit():
                return int(value)  # a whole number; fractions and exponents take the Decimal path below
        elif tag == "NULL":
            return None
        elif tag == "L":
            return [_untyped(item) for item in value]
        elif tag == "M":
            return {key: _untyped(item) for key, item in value.items()}
    return _plain(_deserializer.deserialize(typed))


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _untyped(value) for name, value in item.items()}


def batch_get(
    client: DynamoDBClient,
    table_name: str,
    keys: Sequence[Mapping[str, Any]],
    options: Mapping[str, Any] | None = None,
) -> Iterator[dict[str, Any]]:
    """Every item found for `keys` (typed), 100 keys per BatchGetItem, retrying what DynamoDB leaves
    unprocessed a bounded number of times (then RuntimeError: the caller must not take "missing" for "absent").
    `options`: ConsistentRead, ProjectionExpression, ExpressionAttributeNames."""
    for start in range(0, len(keys), MAX_BATCH_KEYS):
        request: Any = {table_name: {"Keys": list(keys[start : start + MAX_BATCH_KEYS]), **(options or {})}}
        for _ in range(MAX_UNPROCESSED_ROUNDS):
            response = client.batch_get_item(RequestItems=request)
            yield from response["Responses"].get(table_name, [])
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
        else:
            raise RuntimeError("DynamoDB left keys unprocessed after retries")
