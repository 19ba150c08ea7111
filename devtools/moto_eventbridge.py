"""EventBridge's SQS targets in moto as EventBridge delivers to them (moto 5.2.5 does not, in two ways):

- a target with InputPath gets only what the path selects (moto ignores InputPath and sends the whole event):
  with `$.detail`, the stack's rules (PublishTo=EventBridge) give their queues the CloudEvent alone, as SNS raw
  delivery does;
- a target without one gets the whole event with every field EventBridge sends (moto's leaves out `account`, so
  Powertools' EventBridgeModel refuses it), time as EventBridge writes it, and `replay-name` on a replayed event.

Targets with an InputTransformer, and every other kind of target, are left to moto. Paths are JSONPath's dotted
form ($, $.a, $.a.b), the only form the templates use.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from typing import Any

_ENVELOPE = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")


def _selected(event: Any, path: str) -> Any:
    if path != "$" and not path.startswith("$."):
        raise NotImplementedError(f"InputPath {path!r}: only $ and dotted paths are emulated")
    for name in path.split(".")[1:]:
        event = event[name]
    return event


def _as_delivered(event: dict[str, Any]) -> dict[str, Any]:
    """The whole event as EventBridge sends it to a target (moto keeps its time as epoch seconds)."""
    from moto.core.utils import iso_8601_datetime_without_milliseconds, utcfromtimestamp

    delivered = {name: event[name] for name in _ENVELOPE if name in event}
    if isinstance(delivered.get("time"), int | float):
        delivered["time"] = iso_8601_datetime_without_milliseconds(utcfromtimestamp(delivered["time"]))
    if "replay-name" in event:
        delivered["replay-name"] = event["replay-name"]
    return delivered


def _body(target: dict[str, Any], event: dict[str, Any]) -> str:
    path = target.get("InputPath")
    return json.dumps(_selected(event, path) if path else _as_delivered(event))


def _delivering_to_sqs(send_to_targets: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(send_to_targets)
    def send(rule: Any, event: Any, transform_input: bool = True) -> None:
        from moto.sqs.models import sqs_backends

        ours = [t for t in rule.targets if t["Arn"].split(":")[2] == "sqs" and "InputTransformer" not in t]
        if ours and rule.event_pattern.matches_event(event):
            for target in ours:
                _, _, _, region, account, queue = target["Arn"].split(":")
                group = target.get("SqsParameters", {}).get("MessageGroupId")
                sqs_backends[account][region].send_message(
                    queue_name=queue, message_body=_body(target, event), group_id=group
                )
        rest = [target for target in rule.targets if target not in ours]
        if rest:
            view = copy.copy(rule)  # never the rule itself: other threads deliver through it meanwhile
            view.targets = rest
            send_to_targets(view, event, transform_input)

    send.as_eventbridge = True  # type: ignore[attr-defined]
    return send


def deliver_to_sqs_as_eventbridge() -> None:
    """Idempotent; affects every moto EventBridge backend of this process (in-process mocks and moto's server)."""
    from moto.events.models import Rule

    if not getattr(Rule.send_to_targets, "as_eventbridge", False):
        Rule.send_to_targets = _delivering_to_sqs(Rule.send_to_targets)  # type: ignore[method-assign]
