"""The messages table: one conditional write per message, the commit point of the pipeline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from twilio_inbound.dynamo import to_item

NEW_MESSAGE_ONLY = "attribute_not_exists(messageSid)"


class MessageStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def put_new(self, record: dict[str, Any], together_with: Sequence[dict[str, Any]] = ()) -> bool:
        """Stores the record unless its MessageSid is already there. True when stored, False for a repeat.

        `together_with` (TransactWriteItems entries, e.g. an opt-out state change) is written in the same
        transaction, so a repeat delivery changes nothing and nothing is ever half-written. AWS failures
        propagate: the caller answers 5xx so Twilio retries.
        """
        item = to_item(record)
        if not together_with:
            try:
                self._client.put_item(TableName=self._table_name, Item=item, ConditionExpression=NEW_MESSAGE_ONLY)
            except self._client.exceptions.ConditionalCheckFailedException:
                return False
            return True
        message = {"Put": {"TableName": self._table_name, "Item": item, "ConditionExpression": NEW_MESSAGE_ONLY}}
        try:
            self._client.transact_write_items(TransactItems=[message, *together_with])
        except self._client.exceptions.TransactionCanceledException as error:
            reasons = error.response.get("CancellationReasons", [])
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return False
            raise
        return True
