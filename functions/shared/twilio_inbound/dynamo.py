"""DynamoDB's typed JSON for our records, both ways (the table write and the stream image)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(record: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in record.items()}


def _plain(value: Any) -> Any:
    # DynamoDB numbers come back as Decimal, which json cannot encode; ours are all whole numbers.
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | set):
        return [_plain(item) for item in value]
    return value


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _plain(_deserializer.deserialize(value)) for name, value in item.items()}
