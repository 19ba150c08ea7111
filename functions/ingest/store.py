"""The messages table: one conditional put per message, the commit point of the pipeline."""

from __future__ import annotations

from typing import Any

from twilio_inbound.dynamo import to_item


class MessageStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def put_new(self, record: dict[str, Any]) -> bool:
        """Stores the record unless its MessageSid is already there. True when stored, False for a repeat.

        AWS failures propagate: the caller answers 5xx so Twilio retries, and nothing partial exists
        (a single PutItem either happens or not).
        """
        try:
            self._client.put_item(
                TableName=self._table_name,
                Item=to_item(record),
                ConditionExpression="attribute_not_exists(messageSid)",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True
