"""The numbers table: the registry of numbers as entry points, and its key layout.

Key layout: partition key `number` (the Twilio number, channel address or Messaging Service SID); sort key
`entry`: "config" for the number's registration. Opt-out state lives in its own table (opt_outs_table.py),
so that the ingest function, which writes opt-out state, cannot write the registry.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from twilio_inbound.dynamo import from_item, to_item
from twilio_inbound.numbers import NumberConfig

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CONFIG_ENTRY = "config"


def config_key(number: str) -> dict[str, Any]:
    return to_item({"number": number, "entry": CONFIG_ENTRY})


def config_item(config: NumberConfig) -> dict[str, Any]:
    return to_item(
        {
            "number": config.number,
            "entry": CONFIG_ENTRY,
            "name": config.name,
            "enabled": config.enabled,
            "routeKey": config.route_key,
            "tags": list(config.tags),
            "autoReply": config.auto_reply,
            "keywords": dict(config.keywords),
            "language": config.language,
        }
    )


def config_from_item(item: dict[str, Any]) -> NumberConfig:
    values = from_item(item)
    return NumberConfig(
        number=str(values["number"]),
        name=str(values.get("name", "")),
        enabled=bool(values.get("enabled", True)),
        route_key=str(values.get("routeKey", "")),
        tags=tuple(str(tag) for tag in values.get("tags", [])),
        auto_reply=str(values.get("autoReply", "")),
        keywords={str(key): str(value) for key, value in (values.get("keywords") or {}).items()},
        language=str(values.get("language", "")),
    )


class NumberRegistry:
    """Looks numbers up with a short per-container cache, so a change takes effect within `ttl` seconds."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._table_name = table_name
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, NumberConfig | None]] = {}
        self._names: tuple[float, dict[str, list[NumberConfig]]] = (0.0, {})

    def _get(self, number: str) -> NumberConfig | None:
        now = self._clock()
        cached = self._cache.get(number)
        if cached is not None and cached[0] > now:
            return cached[1]
        response = self._client.get_item(TableName=self._table_name, Key=config_key(number))
        config = config_from_item(response["Item"]) if "Item" in response else None
        self._cache[number] = (now + self._ttl, config)  # unknown numbers are cached too
        return config

    def lookup(self, to: str, messaging_service_sid: str = "") -> NumberConfig | None:
        """The entry for the number called, else for its Messaging Service, else None."""
        for key in (to, messaging_service_sid):
            if key:
                config = self._get(key)
                if config is not None:
                    return config
        return None

    def named(self, name: str) -> list[NumberConfig]:
        """The entries called `name` (entry point names are not unique: the caller decides what several mean),
        from a scan of the registry cached for `ttl` seconds."""
        now = self._clock()
        expires, by_name = self._names
        if expires <= now:
            by_name = {}
            for config in self.all():
                by_name.setdefault(config.name, []).append(config)
            self._names = (now + self._ttl, by_name)
        return list(by_name.get(name, [])) if name else []

    # ---- management (CLI)
    def put(self, config: NumberConfig) -> None:
        self._client.put_item(TableName=self._table_name, Item=config_item(config.validate()))

    def remove(self, number: str) -> bool:
        response = self._client.delete_item(TableName=self._table_name, Key=config_key(number), ReturnValues="ALL_OLD")
        return "Attributes" in response

    def get(self, number: str) -> NumberConfig | None:
        response = self._client.get_item(TableName=self._table_name, Key=config_key(number), ConsistentRead=True)
        return config_from_item(response["Item"]) if "Item" in response else None

    def all(self) -> list[NumberConfig]:
        pages = self._client.get_paginator("scan").paginate(
            TableName=self._table_name,
            FilterExpression="entry = :config",
            ExpressionAttributeValues={":config": {"S": CONFIG_ENTRY}},
        )
        configs = [config_from_item(item) for page in pages for item in page["Items"]]
        return sorted(configs, key=lambda config: config.number)
