"""The sends table: one item per send command, keyed by its idempotencyKey, written before Twilio is called.

It is how a command redelivered by SQS is recognised, so that it never sends twice:

    state      meaning                                                   a redelivery
    sending    Twilio is being called (or was, and the answer was lost)  is not sent again: `unknown`
    sent       Twilio created the message (messageSid)                   changes nothing
    pending    the last call failed in a way that sent nothing (429/5xx) claims it again and sends
    refused    the stack would not send it (reason)                      republishes the event if it
    failed     Twilio refused it for good (errorCode, reason)            was not published yet, and
    unknown    the call's outcome is unknown (reason)                    changes nothing else

`fingerprint` is the command's: a different command under the same key is refused, never taken for a repeat.
`reported` is False while the event for a refused, failed or unknown outcome has not been published. `draft` is
what will be stored for the message (outbound.OutboundDraft), written with the first "sending" intent, and
`created` what Twilio answered: so the message is stored with its body whoever learns its MessageSid first (the
sender, a redelivery of the command, or a status callback naming the command after an unknown outcome).
Items expire after RETENTION_DAYS (DynamoDB TTL), well after SQS would redeliver or redrive a command.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

from twilio_inbound.dynamo import from_item, to_item
from twilio_inbound.outbound import Created, OutboundDraft

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

IntentState = Literal["sending", "sent", "pending", "refused", "failed", "unknown"]
SettledState = Literal["refused", "failed", "unknown"]
RETENTION_DAYS = 30  # longer than the queue's and its DLQ's retention (4 and 14 days)
_CLAIMABLE = "attribute_not_exists(idempotencyKey) OR (#state = :pending AND fingerprint = :fingerprint)"


@dataclass(frozen=True)
class SendIntent:
    key: str
    state: IntentState
    fingerprint: str
    message_sid: str = ""
    error_code: int | None = None
    reason: str = ""
    reported: bool = True
    claimed_at: int = 0  # epoch seconds of the first write
    # What the outcome event needs when no message exists to build it from.
    to: str = ""
    sender: str = ""
    account_sid: str = ""
    in_reply_to: str = ""
    draft: OutboundDraft | None = None
    created: Created | None = None


def _created(values: dict[str, Any] | None, message_sid: str) -> Created | None:
    if not values:
        return None
    return Created(
        message_sid=message_sid,
        status=str(values["status"]),
        sender=str(values.get("from", "")),
        num_segments=int(values.get("numSegments", 1)),
        at=str(values["at"]),
        body=str(values.get("body", "")),
    )


def _intent(values: dict[str, Any]) -> SendIntent:
    return SendIntent(
        key=str(values["idempotencyKey"]),
        state=cast(IntentState, values["state"]),
        fingerprint=str(values.get("fingerprint", "")),
        message_sid=str(values.get("messageSid", "")),
        error_code=values.get("errorCode"),
        reason=str(values.get("reason", "")),
        reported=bool(values.get("reported", True)),
        claimed_at=int(values.get("claimedAt", 0)),
        to=str(values.get("to", "")),
        sender=str(values.get("from", "")),
        account_sid=str(values.get("accountSid", "")),
        in_reply_to=str(values.get("inReplyTo", "")),
        draft=cast(OutboundDraft, values["draft"]) if "draft" in values else None,
        created=_created(values.get("created"), str(values.get("messageSid", ""))),
    )


class SendIntentStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def _key(self, key: str) -> dict[str, Any]:
        return to_item({"idempotencyKey": key})

    def get(self, key: str) -> SendIntent | None:
        response = self._client.get_item(TableName=self._table_name, Key=self._key(key), ConsistentRead=True)
        return _intent(from_item(response["Item"])) if "Item" in response else None

    def claim(self, intent: SendIntent) -> SendIntent | None:
        """Writes the first intent of a command: "sending" (then call Twilio), or "refused" (nothing will be sent).
        Returns None when written, else the intent another delivery of the command wrote first."""
        values: dict[str, Any] = {
            "idempotencyKey": intent.key,
            "state": intent.state,
            "fingerprint": intent.fingerprint,
            "to": intent.to,
            "from": intent.sender,
            "accountSid": intent.account_sid,
            "inReplyTo": intent.in_reply_to,
            "reported": intent.reported,
            "claimedAt": intent.claimed_at,
            "expiresAt": intent.claimed_at + RETENTION_DAYS * 86_400,
        }
        if intent.reason:
            values["reason"] = intent.reason
        if intent.error_code is not None:
            values["errorCode"] = intent.error_code
        if intent.draft is not None:
            values["draft"] = intent.draft
        try:
            self._client.put_item(
                TableName=self._table_name,
                Item=to_item(values),
                ConditionExpression=_CLAIMABLE,
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=to_item({":pending": "pending", ":fingerprint": intent.fingerprint}),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._client.exceptions.ConditionalCheckFailedException as error:
            old = cast(dict[str, Any], error.response.get("Item", {}))  # ReturnValuesOnConditionCheckFailure
            if not old:
                raise RuntimeError("the intent's condition failed, but DynamoDB returned no item") from error
            return _intent(from_item(old))
        return None

    def _update(self, key: str, state: IntentState, expected: IntentState, **fields: Any) -> None:
        names = {"#state": "state"} | {f"#{name}": name for name in fields}
        values = {":state": state, ":expected": expected} | {f":{name}": value for name, value in fields.items()}
        self._client.update_item(
            TableName=self._table_name,
            Key=self._key(key),
            UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in ["state", *fields]),
            ConditionExpression="#state = :expected",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_item(values),
        )

    def sent(self, key: str, created: Created) -> None:
        """Twilio created the message: its SID and answer, before the message is stored (a redelivery stores it)."""
        answer = {"status": created.status, "from": created.sender, "numSegments": created.num_segments}
        if created.body:  # a template's body as Twilio rendered it (a plain command's draft has its body)
            answer["body"] = created.body
        self._update(key, "sent", "sending", messageSid=created.message_sid, created={**answer, "at": created.at})

    def found(self, key: str, message_sid: str) -> bool:
        """A status callback showed that a command of unknown outcome was sent: unknown -> sent, with its SID.
        False when the intent is not unknown (any more)."""
        try:
            self._update(key, "sent", "unknown", messageSid=message_sid)
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release(self, key: str) -> None:
        """The call failed in a way that sent nothing (429, 5xx, no connection): a later delivery may send."""
        self._update(key, "pending", "sending")

    def settle(self, key: str, state: SettledState, reason: str, error_code: int | None = None) -> None:
        """The call ended without a message (failed) or without knowing (unknown); its event is still to publish."""
        fields: dict[str, Any] = {"reason": reason, "reported": False}
        if error_code is not None:
            fields["errorCode"] = error_code
        self._update(key, state, "sending", **fields)

    def mark_reported(self, key: str) -> None:
        self._client.update_item(
            TableName=self._table_name,
            Key=self._key(key),
            UpdateExpression="SET reported = :true",
            ExpressionAttributeValues=to_item({":true": True}),
        )
