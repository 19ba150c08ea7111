"""The messages table's outbound items: what the sender stored, and every status reported for it.

Same table, key and indexes as inbound messages (messages_table.py). An outbound item has `direction`
"outbound"; its `conversation` is "our number|theirs", the key of the inbound thread it answers; `receivedAt` is
when the stack handed it to Twilio (the indexes' sort key for both directions), so ByConversation returns both
directions in order.

Status attributes: `status` (the current one, never moved backwards), `statusRank`, `statusAt` (when it became
current), `errorCode` (kept once reported), `<status>At` (when each status was first reported; `at:<status>` for
a status Twilio adds later, delivery_status.history_attribute) and
`statusesSeen` (each reported status once). `lastChange` says what the write did, for the fanout reading the
stream: "status" (moved forward: publish a status event), "history" (a late status, recorded only), "message"
(the sender stored the message's own fields).

Every write is conditional, so it does not matter whether the sender's write or Twilio's first callback lands
first: a callback can arrive before the create call's answer is stored.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, cast

from twilio_inbound.delivery_status import StatusReport, history_attribute
from twilio_inbound.dynamo import from_item, to_item
from twilio_inbound.message import channel_of, conversation_key
from twilio_inbound.outbound import OUTBOUND, OutboundRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# moved: the status became current (a status event follows); history: a late status, recorded only; repeat: seen
# before; not-outbound: an inbound message; other-account: the message is another account's; unknown: no message
# (and the caller did not let this callback create one).
StatusOutcome = Literal["moved", "history", "repeat", "not-outbound", "other-account", "unknown"]
LastChange = Literal["status", "history", "message"]
# The sender's write and a first callback can race to create the item; each retries once the other has won.
_CREATE_ROUNDS = 3
FORWARD_ONLY = (
    "direction = :outbound AND accountSid = :account AND (attribute_not_exists(statusRank) OR statusRank < :rank)"
)


def expires_at(at: str, retention_days: int) -> int | None:
    if retention_days <= 0:
        return None
    return int(datetime.fromisoformat(at).timestamp()) + retention_days * 86_400


class OutboundStore:
    def __init__(self, client: DynamoDBClient, table_name: str, retention_days: int = 0) -> None:
        self._client = client
        self._table_name = table_name
        self._retention_days = retention_days

    def _put_new(self, values: dict[str, Any]) -> bool:
        try:
            self._client.put_item(
                TableName=self._table_name, Item=to_item(values), ConditionExpression="attribute_not_exists(messageSid)"
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # ---- the message's own fields
    def put_sent(self, record: OutboundRecord, first: StatusReport | None = None) -> bool:
        """Stores what was sent. After a callback that created the item first, adds the message's fields to it
        (never a From the callback knew and the record does not); an item that has them already is left as it is,
        but for an empty body a body fills: a template's, which only Twilio's answer carries, when the callback
        stored the message from the command alone. `first`, the create call's answer: a new item carries it as its
        first status (one write, not two). True when it did; else the caller records `first` (record_status)."""
        values: dict[str, Any] = {**record, "lastChange": "message"}
        expiry = expires_at(record["receivedAt"], self._retention_days)
        if expiry is not None:
            values["expiresAt"] = expiry
        if self._put_new({**values, **(_status_fields(first) if first else {})}):
            return first is not None
        # An empty From or service is what the sender did not know yet, never news to the callback's item.
        unknown = {name for name, value in values.items() if value == "" and name != "body"}
        fields = [(name, value) for name, value in values.items() if name != "messageSid" and name not in unknown]
        # Fails when stored with its fields already (by the sender, a redelivery, or a callback naming the command).
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._client.update_item(
                TableName=self._table_name,
                Key=to_item({"messageSid": record["messageSid"]}),
                UpdateExpression="SET " + ", ".join(f"#f{index} = :v{index}" for index in range(len(fields))),
                ConditionExpression="direction = :outbound AND "
                + ("(attribute_not_exists(body) OR body = :empty)" if record["body"] else "attribute_not_exists(body)"),
                ExpressionAttributeNames={f"#f{index}": name for index, (name, _) in enumerate(fields)},
                ExpressionAttributeValues=to_item(
                    {
                        **{f":v{index}": value for index, (_, value) in enumerate(fields)},
                        ":outbound": OUTBOUND,
                        **({":empty": ""} if record["body"] else {}),
                    }
                ),
            )
        return False

    # ---- each reported status
    def record_status(self, report: StatusReport, *, create: bool = True) -> StatusOutcome:
        """Records the status once: as the current one when it ranks higher, else in the history only; only for a
        message of the report's account. `create`: with no item yet (the callback came before the sender's write),
        create it; else the outcome is "unknown"."""
        for _ in range(_CREATE_ROUNDS):
            old = self._move_forward(report) if report.rank > 0 else self._get(report.message_sid)
            if old is None:
                return "moved"
            if old:
                return self._not_moved(report, old)
            if not create:
                return "unknown"
            if self._put_new(self._first_item(report)):
                return "moved" if report.rank > 0 else "history"
        raise RuntimeError("the message's item kept changing while its status was recorded")

    def _not_moved(self, report: StatusReport, old: dict[str, Any]) -> StatusOutcome:
        """The status did not become current: why, and its place in the history."""
        if old.get("direction") != OUTBOUND:
            return "not-outbound"
        if old.get("accountSid") != report.account_sid:
            return "other-account"
        if report.status in old.get("statusesSeen", ()):
            return "repeat"
        return self._record_history(report)

    def _get(self, message_sid: str) -> dict[str, Any]:
        response = self._client.get_item(
            TableName=self._table_name, Key=to_item({"messageSid": message_sid}), ConsistentRead=True
        )
        return from_item(response.get("Item", {}))

    def _move_forward(self, report: StatusReport) -> dict[str, Any] | None:
        """None when the status became current; else the item as it was ({} when there is none)."""
        assignments = [
            "#status = :status",
            "statusRank = :rank",
            "statusAt = :at",
            "lastChange = :change",
            "#seenAt = if_not_exists(#seenAt, :at)",
        ]
        values: dict[str, Any] = {":status": report.status, ":rank": report.rank, ":at": report.at}
        values.update({":change": "status", ":account": report.account_sid})
        if report.error_code is not None:
            assignments.append("errorCode = :code")
            values[":code"] = report.error_code
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key=to_item({"messageSid": report.message_sid}),
                UpdateExpression=f"SET {', '.join(assignments)} ADD statusesSeen :seen",
                ConditionExpression=FORWARD_ONLY,
                ExpressionAttributeNames={"#status": "status", "#seenAt": history_attribute(report.status)},
                ExpressionAttributeValues={
                    **to_item({**values, ":outbound": OUTBOUND}),
                    ":seen": {"SS": [report.status]},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._client.exceptions.ConditionalCheckFailedException as error:
            old = cast(dict[str, Any], error.response.get("Item", {}))  # ReturnValuesOnConditionCheckFailure
            return from_item(old)
        return None

    def _record_history(self, report: StatusReport) -> StatusOutcome:
        values: dict[str, Any] = {":at": report.at, ":change": "history", ":status": report.status}
        values[":account"] = report.account_sid
        code = ""
        if report.error_code is not None:
            code, values[":code"] = ", errorCode = if_not_exists(errorCode, :code)", report.error_code
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key=to_item({"messageSid": report.message_sid}),
                UpdateExpression=f"SET #seenAt = :at, lastChange = :change{code} ADD statusesSeen :seen",
                ConditionExpression=(
                    "direction = :outbound AND accountSid = :account AND NOT contains(statusesSeen, :status)"
                ),
                ExpressionAttributeNames={"#seenAt": history_attribute(report.status)},
                ExpressionAttributeValues={
                    **to_item({**values, ":outbound": OUTBOUND}),
                    ":seen": {"SS": [report.status]},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return "repeat"  # recorded meanwhile by a concurrent repeat
        return "history"

    def _first_item(self, report: StatusReport) -> dict[str, Any]:
        """The item a callback creates for a message whose sender's write has not landed (or never will: a message
        sent elsewhere with its StatusCallback pointed here)."""
        item: dict[str, Any] = {
            "messageSid": report.message_sid,
            "direction": OUTBOUND,
            "accountSid": report.account_sid,
            "messagingServiceSid": report.messaging_service_sid,
            "from": report.sender,
            "to": report.to,
            "channel": channel_of(report.sender, report.to, 0),
            "receivedAt": report.at,
            "idempotencyKey": report.idempotency_key,
            **_status_fields(report),
        }
        if report.sender:
            item["conversation"] = conversation_key(report.sender, report.to)
        expiry = expires_at(report.at, self._retention_days)
        if expiry is not None:
            item["expiresAt"] = expiry
        return item


def _status_fields(report: StatusReport) -> dict[str, Any]:
    """A new item's fields for its first status: current when it ranks (else in the history only)."""
    fields: dict[str, Any] = {
        history_attribute(report.status): report.at,
        "statusesSeen": {report.status},
        "lastChange": "status" if report.rank > 0 else "history",
    }
    if report.rank > 0:
        fields.update({"status": report.status, "statusRank": report.rank, "statusAt": report.at})
    if report.error_code is not None:
        fields["errorCode"] = report.error_code
    return fields
