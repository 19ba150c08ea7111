"""The opt-outs table: per number and sender, has the sender opted out (STOP) and not back in (START)?

Key layout: partition key `number`, sort key `sender`. Each item also keeps `changedBy`, the set of every
MessageSid that changed it, so a STOP or START is applied once, ever: a captured request replayed after its
message expired (RetentionDays) cannot undo a later change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from twilio_inbound.dynamo import batch_get, from_item, to_item
from twilio_inbound.numbers import OptOutChange

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


def opt_out_key(number: str, sender: str) -> dict[str, Any]:
    return to_item({"number": number, "sender": sender})


def opt_out_update(table_name: str, change: OptOutChange) -> TransactWriteItemTypeDef:
    """The Update that applies `change` unless its message already changed the state once (then the
    transaction it is part of is cancelled: the message is not new)."""
    return {
        "Update": {
            "TableName": table_name,
            "Key": opt_out_key(change.number, change.sender),
            "UpdateExpression": "SET optedOut = :opted_out, messageSid = :sid, updatedAt = :at ADD changedBy :sids",
            "ConditionExpression": "attribute_not_exists(changedBy) OR NOT contains(changedBy, :sid)",
            "ExpressionAttributeValues": {
                **to_item({":opted_out": change.opted_out, ":sid": change.message_sid, ":at": change.at}),
                ":sids": {"SS": [change.message_sid]},
            },
        }
    }


class OptOutStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def is_opted_out(self, number: str, sender: str) -> bool:
        response = self._client.get_item(
            TableName=self._table_name,
            Key=opt_out_key(number, sender),
            ProjectionExpression="optedOut",
            ConsistentRead=True,
        )
        return bool(response.get("Item", {}).get("optedOut", {}).get("BOOL", False))

    def changed_at(self, number: str, sender: str) -> str | None:
        """When the sender's state on this number last changed (the receivedAt of the STOP/START), if ever."""
        response = self._client.get_item(
            TableName=self._table_name,
            Key=opt_out_key(number, sender),
            ProjectionExpression="updatedAt",
            ConsistentRead=True,
        )
        value = response.get("Item", {}).get("updatedAt", {}).get("S")
        return str(value) if value else None

    def opted_out(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (number, sender) pairs are opted out, with one BatchGetItem per 100 pairs."""
        keys = [opt_out_key(number, sender) for number, sender in sorted(set(pairs))]
        projection = {"ProjectionExpression": "#n, sender, optedOut", "ExpressionAttributeNames": {"#n": "number"}}
        found: set[tuple[str, str]] = set()
        for item in batch_get(self._client, self._table_name, keys, projection):
            state = from_item(item)
            if state.get("optedOut"):
                found.add((str(state["number"]), str(state["sender"])))
        return found
