"""The numbers table: registered numbers (entry "config") and per-sender opt-out state ("optout#<sender>")."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from twilio_inbound.dynamo import from_item, to_item
from twilio_inbound.numbers import CONFIG_ENTRY, NumberConfig, opt_out_entry

MAX_BATCH_KEYS = 100  # BatchGetItem's limit
MAX_UNPROCESSED_ROUNDS = 5


class NumberRegistry:
    """Looks numbers up with a short per-container cache, so a change takes effect within `ttl` seconds."""

    def __init__(
        self, client: Any, table_name: str, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._table_name = table_name
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, NumberConfig | None]] = {}

    def _get(self, number: str) -> NumberConfig | None:
        now = self._clock()
        cached = self._cache.get(number)
        if cached is not None and cached[0] > now:
            return cached[1]
        response = self._client.get_item(
            TableName=self._table_name, Key=to_item({"number": number, "entry": CONFIG_ENTRY})
        )
        config = NumberConfig.from_item(from_item(response["Item"])) if "Item" in response else None
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

    # ---- management (CLI)
    def put(self, config: NumberConfig) -> None:
        self._client.put_item(TableName=self._table_name, Item=to_item(config.validate().to_item()))

    def remove(self, number: str) -> bool:
        response = self._client.delete_item(
            TableName=self._table_name,
            Key=to_item({"number": number, "entry": CONFIG_ENTRY}),
            ReturnValues="ALL_OLD",
        )
        return "Attributes" in response

    def get(self, number: str) -> NumberConfig | None:
        response = self._client.get_item(
            TableName=self._table_name, Key=to_item({"number": number, "entry": CONFIG_ENTRY}), ConsistentRead=True
        )
        return NumberConfig.from_item(from_item(response["Item"])) if "Item" in response else None

    def all(self) -> list[NumberConfig]:
        configs = []
        paginator = self._client.get_paginator("scan")
        pages = paginator.paginate(
            TableName=self._table_name,
            FilterExpression="entry = :config",
            ExpressionAttributeValues={":config": {"S": CONFIG_ENTRY}},
        )
        for page in pages:
            configs += [NumberConfig.from_item(from_item(item)) for item in page["Items"]]
        return sorted(configs, key=lambda config: config.number)


class OptOutStore:
    """Per number and sender: has the sender opted out (STOP) and not back in (START)?"""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def put_request(self, number: str, sender: str, opted_out: bool, message_sid: str, at: str) -> dict[str, Any]:
        """The Put for a TransactWriteItems, written together with the message that changed the state."""
        item = {
            "number": number,
            "entry": opt_out_entry(sender),
            "optedOut": opted_out,
            "messageSid": message_sid,
            "updatedAt": at,
        }
        return {"Put": {"TableName": self._table_name, "Item": to_item(item)}}

    def is_opted_out(self, number: str, sender: str) -> bool:
        response = self._client.get_item(
            TableName=self._table_name,
            Key=to_item({"number": number, "entry": opt_out_entry(sender)}),
            ProjectionExpression="optedOut",
            ConsistentRead=True,
        )
        return bool(response.get("Item", {}).get("optedOut", {}).get("BOOL", False))

    def opted_out(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (number, sender) pairs are opted out, with one BatchGetItem per 100 pairs."""
        wanted = sorted(set(pairs))
        found: set[tuple[str, str]] = set()
        for start in range(0, len(wanted), MAX_BATCH_KEYS):
            keys = [
                to_item({"number": n, "entry": opt_out_entry(s)}) for n, s in wanted[start : start + MAX_BATCH_KEYS]
            ]
            request: dict[str, Any] = {
                self._table_name: {
                    "Keys": keys,
                    "ProjectionExpression": "#n, entry, optedOut",
                    "ExpressionAttributeNames": {"#n": "number"},
                }
            }
            for _ in range(MAX_UNPROCESSED_ROUNDS):
                response = self._client.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self._table_name, []):
                    state = from_item(item)
                    if state.get("optedOut"):
                        sender = str(state["entry"]).removeprefix(opt_out_entry(""))
                        found.add((str(state["number"]), sender))
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise RuntimeError("DynamoDB left keys unprocessed after retries")
        return found
