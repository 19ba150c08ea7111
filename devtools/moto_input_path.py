"""EventBridge's InputPath for SQS targets in moto, which ignores it (5.2.5 sends every SQS target the whole event).

With InputPath `$.detail`, EventBridge sends the queue only the event's detail: for the stack's rules
(PublishTo=EventBridge), the CloudEvent itself, as SNS raw delivery gives it. Without this, the local stack's
queues would get a body no deployed queue gets. Paths are JSONPath's dotted form ($, $.a, $.a.b), all ours use.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from typing import Any


def _selected(event: Any, path: str) -> Any:
    if path != "$" and not path.startswith("$."):
        raise NotImplementedError(f"InputPath {path!r}: only $ and dotted paths are emulated")
    for name in path.split(".")[1:]:
        event = event[name]
    return event


def _with_input_path(send_to_targets: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(send_to_targets)
    def send(rule: Any, event: Any, transform_input: bool = True) -> None:
        from moto.sqs.models import sqs_backends

        selecting = [t for t in rule.targets if "InputPath" in t and t["Arn"].split(":")[2] == "sqs"]
        if selecting and rule.event_pattern.matches_event(event):
            for target in selecting:
                _, _, _, region, account, queue = target["Arn"].split(":")
                body = json.dumps(_selected(event, target["InputPath"]))
                group = target.get("SqsParameters", {}).get("MessageGroupId")
                sqs_backends[account][region].send_message(queue_name=queue, message_body=body, group_id=group)
        rest = [target for target in rule.targets if target not in selecting]
        if rest:
            view = copy.copy(rule)  # never the rule itself: other threads deliver through it meanwhile
            view.targets = rest
            send_to_targets(view, event, transform_input)

    send.input_path = True  # type: ignore[attr-defined]
    return send


def honour_input_path() -> None:
    """Idempotent; affects every moto EventBridge backend of this process (in-process mocks and moto's server)."""
    from moto.events.models import Rule

    if not getattr(Rule.send_to_targets, "input_path", False):
        Rule.send_to_targets = _with_input_path(Rule.send_to_targets)  # type: ignore[method-assign]
