"""The messages table: one conditional write per message (the commit point of the pipeline), and its layout.

Key layout: partition key `messageSid`. Indexes: ByNumber (`to`, `receivedAt`): a number's messages in time
order; ByConversation (`conversation` = "to|from", `receivedAt`): one exchange in time order. Both project
KEYS_ONLY (an entry is ~100 bytes, one write unit whatever the message): a query gives MessageSids in order, and
the items are fetched by key. An inbound item's layout: message_item.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

from twilio_inbound.dynamo import batch_get, from_item, to_item
from twilio_inbound.message import MessageRecord
from twilio_inbound.message_item import item_values, message_item
from twilio_inbound.numbers import OptOutChange
from twilio_inbound.opt_outs_table import opt_out_updates

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

NEW_MESSAGE_ONLY = "attribute_not_exists(messageSid)"
BY_NUMBER_INDEX = "ByNumber"
BY_CONVERSATION_INDEX = "ByConversation"
# What a stream record must carry to be published (older or foreign items are refused, not guessed at).
REQUIRED_FIELDS = frozenset({"messageSid", "to", "from", "receivedAt", "channel", "accountSid"})
# Reading a thread back newest first: index keys a page at a time, then just these fields of each item (an inbound
# item has no `direction` attribute: it is in its document; an outbound item says "outbound").
_THREAD_PAGE = 25
_THREAD_READ = {  # eventually consistent, as the index itself is: half a read unit per item
    "ProjectionExpression": "messageSid, #d, receivedAt, idempotencyKey",
    "ExpressionAttributeNames": {"#d": "direction"},
}
Direction = Literal["inbound", "outbound"]


@dataclass(frozen=True)
class ThreadMessage:
    """One message of a conversation, as much as reading a thread needs."""

    message_sid: str
    direction: Direction
    at: str  # receivedAt: when it came in, or when the stack handed it to Twilio
    idempotency_key: str = ""  # an outbound message's command, "" for a reply sent through TwiML


def record_from_item(item: dict[str, Any]) -> MessageRecord:
    """A stored item (or stream image) of either format as a record; KeyError names the fields it lacks."""
    return _as_record(item_values(item))


def _as_record(values: dict[str, Any]) -> MessageRecord:
    missing = REQUIRED_FIELDS - set(values)
    if missing:
        raise KeyError(", ".join(sorted(missing)))
    return cast(MessageRecord, values)


class MessageStore:
    def __init__(self, client: DynamoDBClient, table_name: str, opt_outs_table_name: str) -> None:
        self._client = client
        self._table_name = table_name
        self._opt_outs_table_name = opt_outs_table_name

    def put_new(self, record: MessageRecord, opt_out: OptOutChange | None = None) -> bool:
        """Stores the record unless its MessageSid is already there. True when stored, False for a repeat.

        An opt-out change is written in the same transaction, so a repeat delivery changes nothing and nothing
        is ever half-written; a STOP/START whose MessageSid already changed the state once (a replay after the
        message expired) is a repeat too. AWS failures propagate: the caller answers 5xx so Twilio retries.
        """
        item = message_item(record)
        if opt_out is None:
            try:
                self._client.put_item(TableName=self._table_name, Item=item, ConditionExpression=NEW_MESSAGE_ONLY)
            except self._client.exceptions.ConditionalCheckFailedException:
                return False
            return True
        message: Any = {"Put": {"TableName": self._table_name, "Item": item, "ConditionExpression": NEW_MESSAGE_ONLY}}
        try:
            self._client.transact_write_items(
                TransactItems=[message, *opt_out_updates(self._opt_outs_table_name, opt_out)]
            )
        except self._client.exceptions.TransactionCanceledException as error:
            reasons = error.response.get("CancellationReasons", [])
            if any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons):
                return False
            raise
        return True

    # ---- reading back (replay, replies)
    def get(self, message_sid: str) -> dict[str, Any] | None:
        """The stored item of either direction (plain values), or None."""
        response = self._client.get_item(
            TableName=self._table_name, Key=to_item({"messageSid": message_sid}), ConsistentRead=True
        )
        return item_values(response["Item"]) if "Item" in response else None

    def get_many(self, message_sids: Iterable[str], *, consistent: bool = True) -> Iterator[MessageRecord]:
        """The stored records (what a stream record publishes); KeyError for an item that is not one."""
        for values in self.read_many(message_sids, consistent=consistent):
            yield _as_record(values)

    def read_many(self, message_sids: Iterable[str], *, consistent: bool = True) -> list[dict[str, Any]]:
        """The stored items of either direction (plain values), in the order of `message_sids`; absent ones left
        out (BatchGetItem answers in any order, and refuses a key asked twice). `consistent=False` halves the read
        units, for items written well before (a scheduled reconcile's window ends minutes ago)."""
        sids = list(message_sids)
        keys = [to_item({"messageSid": sid}) for sid in dict.fromkeys(sids)]
        items = batch_get(self._client, self._table_name, keys, {"ConsistentRead": consistent})
        found = {values["messageSid"]: values for values in map(item_values, items)}
        return [found[sid] for sid in sids if sid in found]

    def received_between(self, since: str, until: str, number: str = "") -> list[MessageRecord]:
        """Messages received in [since, until] (stored timestamps), oldest first; one number's via its index."""
        if number:
            # The index holds keys only: its MessageSids, then the items by key.
            records = list(self.get_many(self.sids_between(BY_NUMBER_INDEX, number, since, until)))
        else:
            # An operator's occasional replay across all numbers: a filtered scan is acceptable here.
            pages = self._client.get_paginator("scan").paginate(
                TableName=self._table_name,
                FilterExpression="receivedAt BETWEEN :since AND :until",
                ExpressionAttributeValues=to_item({":since": since, ":until": until}),
            )
            records = [record_from_item(item) for page in pages for item in page["Items"]]
        return sorted(records, key=lambda record: (record["receivedAt"], record["messageSid"]))

    def latest(self, conversation: str, direction: Direction, since: str, before: str = "~") -> ThreadMessage | None:
        """The conversation's latest message of `direction` received in [since, before) (stored timestamps; "~"
        sorts after any): the index's keys newest first, a page at a time, each page's items read in one
        BatchGetItem of a few fields, until one is found. Deterministic for a given `before`."""
        pages = self._client.get_paginator("query").paginate(
            TableName=self._table_name,
            IndexName=BY_CONVERSATION_INDEX,
            KeyConditionExpression="conversation = :c AND receivedAt BETWEEN :since AND :before",
            ExpressionAttributeValues=to_item({":c": conversation, ":since": since, ":before": before}),
            ScanIndexForward=False,
            PaginationConfig={"PageSize": _THREAD_PAGE},
        )
        for page in pages:
            sids = [str(item["messageSid"]["S"]) for item in page["Items"] if item["receivedAt"]["S"] < before]
            keys = [to_item({"messageSid": sid}) for sid in dict.fromkeys(sids)]
            found = {
                values["messageSid"]: values
                for values in map(from_item, batch_get(self._client, self._table_name, keys, _THREAD_READ))
            }
            for sid in sids:  # newest first, as the index gave them
                values = found.get(sid)
                if values is not None and values.get("direction", "inbound") == direction:
                    return ThreadMessage(
                        sid, direction, str(values["receivedAt"]), str(values.get("idempotencyKey", ""))
                    )
        return None

    def sids_between(self, index: str, partition: str, since: str = "", until: str = "") -> list[str]:
        """The MessageSids of one number's (ByNumber) or one conversation's (ByConversation) messages, all of them
        or those received in [since, until], in time order: a query of the index's keys, no scan."""
        partition_key = "to" if index == BY_NUMBER_INDEX else "conversation"
        condition, values = "#p = :p", {":p": partition}
        if since or until:
            condition += " AND receivedAt BETWEEN :since AND :until"
            values.update({":since": since or "0", ":until": until or "~"})  # both sort outside any timestamp
        pages = self._client.get_paginator("query").paginate(
            TableName=self._table_name,
            IndexName=index,
            KeyConditionExpression=condition,
            ExpressionAttributeNames={"#p": partition_key},
            ExpressionAttributeValues=to_item(values),
        )
        return [str(item["messageSid"]["S"]) for page in pages for item in page["Items"]]
