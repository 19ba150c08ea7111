"""The opt-outs table: per scope and sender, has the sender opted out (STOP) and not back in (START)?

Key layout: partition key `number`, the scope (our number, or a Messaging Service SID: OptOutChange.scopes),
sort key `sender`. Each item also keeps `changedBy`, the set of every MessageSid that changed it, so a STOP or
START is applied once, ever: a captured request replayed after its message expired (RetentionDays) cannot undo a
later change. Per sender, one more item, (`services-of:<sender>`, sender), holds `services`: the Messaging
Services the sender is opted out of, written in the same transaction, so that a send from a number named on its
own finds, in one consistent read, the services to check the number's membership of (opt_out_rule.py).

Where the current state came from: `origin` is "text" (the customer's STOP/START, `messageSid`), "import" (a list
from a previous system) or "operator" (an opt-out received another way, or removed with a reason); the last two
keep who (`actor`: the caller's identity; `requestedBy`: on whose behalf), `reason`, `source`, and append each
change to `history`. `updatedAt` is when the state was set (the STOP's receivedAt, the import row's time, the
operator's): an import is written only over an older state and never clears an opt-out, so nothing a customer
did by text is overwritten by what an older list says.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

from twilio_inbound.dynamo import batch_get, from_item, to_item
from twilio_inbound.numbers import OptOutChange
from twilio_inbound.opt_out_rule import SenderIdentity, refusal

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

SERVICE_PREFIX = "MG"  # a Messaging Service SID as a scope (a number or address never starts so)
SERVICES_OF = "services-of:"  # never a scope: scopes are E.164 numbers, channel addresses and MG… SIDs
Origin = Literal["text", "import", "operator"]
# An operator's or an import's provenance, cleared when the customer's own text sets the state again.
_PROVENANCE = {"#actor": "actor", "#requestedBy": "requestedBy", "#reason": "reason", "#source": "source"}


def opt_out_key(scope: str, sender: str) -> dict[str, Any]:
    return to_item({"number": scope, "sender": sender})


def services_key(sender: str) -> dict[str, Any]:
    return opt_out_key(SERVICES_OF + sender, sender)


def opt_out_updates(table_name: str, change: OptOutChange) -> list[TransactWriteItemTypeDef]:
    """The Updates that apply `change` to each of its scopes unless its message already changed one of them once
    (then the transaction they are part of is cancelled: the message is not new), and to the sender's services."""
    values = to_item({":opted_out": change.opted_out, ":sid": change.message_sid, ":at": change.at, ":text": "text"})
    updates: list[TransactWriteItemTypeDef] = [
        {
            "Update": {
                "TableName": table_name,
                "Key": opt_out_key(scope, change.sender),
                "UpdateExpression": "SET optedOut = :opted_out, messageSid = :sid, updatedAt = :at, origin = :text "
                f"REMOVE {', '.join(_PROVENANCE)} ADD changedBy :sids",
                "ConditionExpression": "attribute_not_exists(changedBy) OR NOT contains(changedBy, :sid)",
                "ExpressionAttributeNames": _PROVENANCE,
                "ExpressionAttributeValues": {**values, ":sids": {"SS": [change.message_sid]}},
            }
        }
        for scope in change.scopes
    ]
    if change.service:
        updates.append(_services_update(table_name, change.sender, change.service, change.opted_out))
    return updates


def _services_update(table_name: str, sender: str, service: str, opted_out: bool) -> TransactWriteItemTypeDef:
    """The sender's set of Messaging Services they are opted out of, with `service` added or taken out."""
    return {
        "Update": {
            "TableName": table_name,
            "Key": services_key(sender),
            "UpdateExpression": f"{'ADD' if opted_out else 'DELETE'} services :service",
            "ExpressionAttributeValues": {":service": {"SS": [service]}},
        }
    }


@dataclass(frozen=True)
class OptOutEntry:
    """One sender's state for one scope, and where it came from."""

    scope: str
    sender: str
    opted_out: bool
    updated_at: str
    origin: Origin
    message_sid: str = ""  # the STOP or START that set it (origin "text")
    actor: str = ""  # the identity that made an import's or an operator's change
    requested_by: str = ""
    reason: str = ""
    source: str = ""
    history: tuple[dict[str, Any], ...] = ()  # every import and operator change, oldest first


def entry_from_item(item: dict[str, Any]) -> OptOutEntry:
    values = from_item(item)
    origin = cast(Origin, values.get("origin") or "text")  # items written before `origin` were all set by text
    return OptOutEntry(
        scope=str(values["number"]),
        sender=str(values["sender"]),
        opted_out=bool(values.get("optedOut")),
        updated_at=str(values.get("updatedAt", "")),
        origin=origin,
        message_sid=str(values.get("messageSid", "")),
        actor=str(values.get("actor", "")),
        requested_by=str(values.get("requestedBy", "")),
        reason=str(values.get("reason", "")),
        source=str(values.get("source", "")),
        history=tuple(values.get("history", ())),
    )


OperatorRule = Literal["import", "add", "remove"]


@dataclass(frozen=True)
class OperatorChange:
    """A change not made by the customer's text: a row of an import, or an operator's add or remove."""

    scope: str
    sender: str
    opted_out: bool
    at: str  # when it was so (an import row's time), else when the operator made it
    origin: Literal["import", "operator"]
    actor: str
    requested_by: str = ""
    reason: str = ""
    source: str = ""
    provenance: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        values = {"actor": self.actor, "requestedBy": self.requested_by, "reason": self.reason, "source": self.source}
        object.__setattr__(self, "provenance", {name: value for name, value in values.items() if value})


# When each kind of change is written: an import's opt-out only over no entry or an older opt-in (it never clears
# an opt-out, nor replaces a newer state); an operator's add only to someone not opted out, a remove only from
# someone who is.
_NOT_OPTED_OUT = "(attribute_not_exists(optedOut) OR optedOut = :false)"
_RULES: dict[OperatorRule, str] = {
    "import": f"(attribute_not_exists(updatedAt) OR updatedAt < :at) AND {_NOT_OPTED_OUT}",
    "add": _NOT_OPTED_OUT,
    "remove": "optedOut = :true",
}
_PLACEHOLDER = re.compile(r":\w+")


def operator_updates(table_name: str, change: OperatorChange, rule: OperatorRule) -> list[TransactWriteItemTypeDef]:
    """The conditional Update of the entry (and, for a Messaging Service, of the sender's services)."""
    record = {"at": change.at, "optedOut": change.opted_out, "origin": change.origin, **change.provenance}
    values: dict[str, Any] = {
        ":opted_out": change.opted_out,
        ":at": change.at,
        ":origin": change.origin,
        ":true": True,
        ":false": False,
        ":entry": [record],
        ":none": [],
    }
    assignments = ["optedOut = :opted_out", "updatedAt = :at", "origin = :origin"]
    assignments.append("history = list_append(if_not_exists(history, :none), :entry)")
    names = {f"#{name}": name for name in _PROVENANCE.values()}
    kept = {f"#{name}" for name in change.provenance}
    for name, value in change.provenance.items():
        assignments.append(f"#{name} = :{name}")
        values[f":{name}"] = value
    removed = [name for name in (*names, "messageSid") if name not in kept]
    condition = _RULES[rule]
    expression = f"SET {', '.join(assignments)} REMOVE {', '.join(removed)}"
    used = set(_PLACEHOLDER.findall(expression + " " + condition))  # DynamoDB refuses a value left unused
    updates: list[TransactWriteItemTypeDef] = [
        {
            "Update": {
                "TableName": table_name,
                "Key": opt_out_key(change.scope, change.sender),
                "UpdateExpression": expression,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": to_item({name: value for name, value in values.items() if name in used}),
            }
        }
    ]
    if change.scope.startswith(SERVICE_PREFIX):
        updates.append(_services_update(table_name, change.sender, change.scope, change.opted_out))
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

    # ---- the lists operators read and change (twilio-inbound opt-outs)
    def entries(self, scope: str = "", sender: str = "") -> list[OptOutEntry]:
        """Every entry (of one scope: a query; of one sender, or all: a scan), by scope and sender."""
        if scope:
            condition = "#n = :scope" + (" AND sender = :sender" if sender else "")
            values = {":scope": scope, **({":sender": sender} if sender else {})}
            request: dict[str, Any] = {"KeyConditionExpression": condition}
            operation = "query"
        else:
            values = {":prefix": SERVICES_OF, **({":sender": sender} if sender else {})}
            request = {"FilterExpression": "NOT begins_with(#n, :prefix)" + (" AND sender = :sender" if sender else "")}
            operation = "scan"
        pages = self._client.get_paginator(operation).paginate(  # type: ignore[call-overload]
            TableName=self._table_name,
            ExpressionAttributeNames={"#n": "number"},
            ExpressionAttributeValues=to_item(values),
            **request,
        )
        found = [entry_from_item(item) for page in pages for item in page["Items"]]
        return sorted(found, key=lambda entry: (entry.scope, entry.sender))

    def entry(self, scope: str, sender: str) -> OptOutEntry | None:
        response = self._client.get_item(
            TableName=self._table_name, Key=opt_out_key(scope, sender), ConsistentRead=True
        )
        return entry_from_item(response["Item"]) if "Item" in response else None

    def apply(self, change: OperatorChange, rule: OperatorRule) -> tuple[bool, OptOutEntry | None]:
        """Writes the change if its rule holds: (True, None) when written, else (False, the entry as it is, or
        None when there is none)."""
        try:
            self._client.transact_write_items(TransactItems=operator_updates(self._table_name, change, rule))
        except self._client.exceptions.TransactionCanceledException as error:
            reasons = error.response.get("CancellationReasons", [])
            if not any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons):
                raise
            return False, self.entry(change.scope, change.sender)
        return True, None

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
