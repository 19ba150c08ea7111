"""The opt-outs table: per scope and sender, has the sender opted out (STOP) and not back in (START)?

Key layout: partition key `number`, the scope (our number, or a Messaging Service SID: OptOutChange.scopes),
sort key `sender`. Each item also keeps `changedBy`, the set of every MessageSid that changed it, so a STOP or
START is applied once, ever: a captured request replayed after its message expired (RetentionDays) cannot undo a
later change. Per sender, one more item, (`services-of:<sender>`, sender), holds `services`: the Messaging
Services the sender is opted out of, written in the same transaction, so that a send from a number named on its
own finds, in one consistent read, the services to check the number's membership of (opt_out_rule.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twilio_inbound.dynamo import batch_get, from_item, to_item
from twilio_inbound.numbers import OptOutChange
from twilio_inbound.opt_out_rule import SenderIdentity, refusal

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

SERVICES_OF = "services-of:"  # never a scope: scopes are E.164 numbers, channel addresses and MG… SIDs


def opt_out_key(scope: str, sender: str) -> dict[str, Any]:
    return to_item({"number": scope, "sender": sender})


def services_key(sender: str) -> dict[str, Any]:
    return opt_out_key(SERVICES_OF + sender, sender)


def opt_out_updates(table_name: str, change: OptOutChange) -> list[TransactWriteItemTypeDef]:
    """The Updates that apply `change` to each of its scopes unless its message already changed one of them once
    (then the transaction they are part of is cancelled: the message is not new), and to the sender's services."""
    values = to_item({":opted_out": change.opted_out, ":sid": change.message_sid, ":at": change.at})
    updates: list[TransactWriteItemTypeDef] = [
        {
            "Update": {
                "TableName": table_name,
                "Key": opt_out_key(scope, change.sender),
                "UpdateExpression": "SET optedOut = :opted_out, messageSid = :sid, updatedAt = :at ADD changedBy :sids",
                "ConditionExpression": "attribute_not_exists(changedBy) OR NOT contains(changedBy, :sid)",
                "ExpressionAttributeValues": {**values, ":sids": {"SS": [change.message_sid]}},
            }
        }
        for scope in change.scopes
    ]
    if change.service:
        updates.append(
            {
                "Update": {
                    "TableName": table_name,
                    "Key": services_key(change.sender),
                    "UpdateExpression": f"{'ADD' if change.opted_out else 'DELETE'} services :service",
                    "ExpressionAttributeValues": {":service": {"SS": [change.service]}},
                }
            }
        )
    return updates


@dataclass(frozen=True)
class OptOutState:
    opted_out: frozenset[str]  # the scopes asked about that the sender is opted out of
    services: frozenset[str]  # every Messaging Service the sender is opted out of (when asked)


class OptOutStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def is_opted_out(self, scope: str, sender: str) -> bool:
        response = self._client.get_item(
            TableName=self._table_name,
            Key=opt_out_key(scope, sender),
            ProjectionExpression="optedOut",
            ConsistentRead=True,
        )
        return bool(response.get("Item", {}).get("optedOut", {}).get("BOOL", False))

    def state(self, scopes: Iterable[str], sender: str, *, services: bool) -> OptOutState:
        """The sender's state for each scope, and (with `services`) the services they are opted out of: one
        consistent BatchGetItem."""
        keys = [opt_out_key(scope, sender) for scope in sorted(set(scopes))]
        keys += [services_key(sender)] if services else []
        projection = {
            "ProjectionExpression": "#n, optedOut, services",
            "ExpressionAttributeNames": {"#n": "number"},
            "ConsistentRead": True,
        }
        opted_out: set[str] = set()
        opted_out_services: set[str] = set()
        for item in batch_get(self._client, self._table_name, keys, projection):
            values = from_item(item)
            if values.get("optedOut"):
                opted_out.add(str(values["number"]))
            opted_out_services.update(str(service) for service in values.get("services", ()))
        return OptOutState(frozenset(opted_out), frozenset(opted_out_services))

    def refusal(
        self, identity: SenderIdentity, recipient: str, members: Callable[[str], frozenset[str]] | None = None
    ) -> str | None:
        """Why `recipient` may not be sent to from `identity` (opt_out_rule.refusal), or None. AWS errors and
        RuntimeError (keys left unprocessed) propagate: the caller sends nothing."""
        state = self.state(identity.scopes, recipient, services=not identity.services_known)
        return refusal(identity, state.opted_out, state.services, members)

    def changed_at(self, scopes: Iterable[str], sender: str) -> str | None:
        """When the sender's state for any of these scopes last changed (the receivedAt of the STOP/START), if
        ever."""
        keys = [opt_out_key(scope, sender) for scope in sorted(set(scopes))]
        projection = {"ProjectionExpression": "updatedAt", "ConsistentRead": True}
        times = [
            str(item["updatedAt"]["S"])
            for item in batch_get(self._client, self._table_name, keys, projection)
            if "updatedAt" in item
        ]
        return max(times, default=None)

    def opted_out(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (scope, sender) pairs are opted out, with one BatchGetItem per 100 pairs."""
        keys = [opt_out_key(number, sender) for number, sender in sorted(set(pairs))]
        projection = {"ProjectionExpression": "#n, sender, optedOut", "ExpressionAttributeNames": {"#n": "number"}}
        found: set[tuple[str, str]] = set()
        for item in batch_get(self._client, self._table_name, keys, projection):
            state = from_item(item)
            if state.get("optedOut"):
                found.add((str(state["number"]), str(state["sender"])))
        return found
