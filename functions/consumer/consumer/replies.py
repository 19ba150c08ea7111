"""Which inbound messages the example consumer answers, and how many per conversation.

An auto-reply answering another auto-responder would ping-pong forever (each reply is an inbound message to the
other side, and the other side's reply one to us). So replies are bounded: at most `limit` per conversation (our
number and theirs) per `window_seconds`, counted in a DynamoDB item per conversation and window with one
conditional update (so concurrent consumers share the bound, and a redelivered event is counted once). A message
reconcile recovered (`recovered: true`) more than `max_age_seconds` after it was sent is not answered as if it had
just arrived.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True)
class ReplyPolicy:
    limit: int = 3  # replies per conversation per window
    window_seconds: int = 3600
    max_age_seconds: int = 3600  # a recovered message older than this is not answered

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> ReplyPolicy:
        return cls(
            limit=int(env.get("AUTO_REPLY_LIMIT") or cls.limit),
            window_seconds=int(env.get("AUTO_REPLY_WINDOW_SECONDS") or cls.window_seconds),
            max_age_seconds=int(env.get("AUTO_REPLY_MAX_AGE_SECONDS") or cls.max_age_seconds),
        )


def too_old(recovered: bool, sent_at: str, policy: ReplyPolicy, now: datetime | None = None) -> str:
    """Why a message reconcile recovered is not answered ("" when it may be): it was sent too long ago."""
    if not recovered:
        return ""
    age = ((now or datetime.now(UTC)) - datetime.fromisoformat(sent_at)).total_seconds()
    return f"recovered {age / 60:.0f} minutes after it was sent" if age > policy.max_age_seconds else ""


class ReplyBudget:
    """The bound, one conditional UpdateItem per reply: the item of a conversation's window holds the MessageSids
    answered in it, and expires with it."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        policy: ReplyPolicy,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client = client
        self._table_name = table_name
        self._policy = policy
        self._now = now

    def withheld(self, conversation: str, message_sid: str) -> str:
        """Why `message_sid` is not answered ("" when it may be, again for an event delivered twice)."""
        if self._take(conversation, message_sid):
            return ""
        return f"more than {self._policy.limit} replies in this conversation within {self._policy.window_seconds} s"

    def _take(self, conversation: str, message_sid: str) -> bool:
        window = int(self._now().timestamp()) // self._policy.window_seconds * self._policy.window_seconds
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key={"window": {"S": f"{conversation}#{window}"}},
                UpdateExpression="ADD replied :sid SET expiresAt = :expires",
                ConditionExpression=(
                    "attribute_not_exists(replied) OR size(replied) < :limit OR contains(replied, :one)"
                ),
                ExpressionAttributeValues={
                    ":sid": {"SS": [message_sid]},
                    ":one": {"S": message_sid},
                    ":limit": {"N": str(self._policy.limit)},
                    ":expires": {"N": str(window + 2 * self._policy.window_seconds)},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True
