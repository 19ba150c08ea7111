"""Powertools' parser and batch processor for the stack's events (the `powertools` extra).

Where each delivery puts the event, and what unwraps it (`@event_parser(model=..., envelope=...)`, or `parse`):

| a subscriber receives | envelope | record model (BatchProcessor) |
|---|---|---|
| SQS, SNS raw delivery | SqsEnvelope (Powertools) | EventSqsRecord |
| SQS, SNS without raw delivery (the body is SNS's JSON) | SnsSqsEnvelope (Powertools) | SnsEventSqsRecord |
| SNS -> Lambda | SnsEnvelope (Powertools) | - |
| EventBridge -> Lambda | EventBridgeEnvelope (Powertools) | - |
| EventBridge -> SQS, InputPath `$.detail` | SqsEnvelope (Powertools) | EventSqsRecord |
| EventBridge -> SQS, the whole event | SqsEventBridgeEnvelope (here) | EventBridgeEventSqsRecord |

`model` is `TwilioInboundEvent` (any event, by its type) or one event's model (`MessageReceived`, ...) when a
filter lets only that type through. Powertools' own envelopes are re-exported so that one import serves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.parser.envelopes import (
    EventBridgeEnvelope,
    SnsEnvelope,
    SnsSqsEnvelope,
    SqsEnvelope,
)
from aws_lambda_powertools.utilities.parser.envelopes.base import BaseEnvelope
from aws_lambda_powertools.utilities.parser.models import (
    EventBridgeModel,
    SnsNotificationModel,
    SqsModel,
    SqsRecordModel,
)
from pydantic import Json

from twilio_inbound_client.events import TwilioInboundEvent

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parser.types import T

__all__ = [
    "EventBridgeEnvelope",
    "EventBridgeEventSqsRecord",
    "EventSqsRecord",
    "SnsEnvelope",
    "SnsEventSqsRecord",
    "SnsSqsEnvelope",
    "SqsEnvelope",
    "SqsEventBridgeEnvelope",
]


class SqsEventBridgeEnvelope(BaseEnvelope):
    """SQS records whose bodies are whole EventBridge events (a rule's SQS target without InputPath): each
    record's `detail`, parsed with the model."""

    def parse(self, data: dict[str, Any] | Any | None, model: type[T]) -> list[T | None]:
        parsed_envelope = SqsModel.model_validate(data)
        return [
            self._parse(data=EventBridgeModel.model_validate_json(str(record.body)).detail, model=model)
            for record in parsed_envelope.Records
        ]


# ---------------------------------------------------------------- one SQS record each, for BatchProcessor(model=...)
class EventSqsRecord(SqsRecordModel):
    """The body is the event: SNS raw delivery, or EventBridge with InputPath `$.detail`."""

    body: Json[TwilioInboundEvent]


class _SnsNotification(SnsNotificationModel):
    Message: Json[TwilioInboundEvent]  # type: ignore[assignment]


class SnsEventSqsRecord(SqsRecordModel):
    """The body is SNS's JSON (no raw delivery): the event is `body.Message`."""

    body: Json[_SnsNotification]


class _EventBridgeEvent(EventBridgeModel):
    detail: TwilioInboundEvent


class EventBridgeEventSqsRecord(SqsRecordModel):
    """The body is a whole EventBridge event (a rule's SQS target without InputPath): the event is
    `body.detail`."""

    body: Json[_EventBridgeEvent]
