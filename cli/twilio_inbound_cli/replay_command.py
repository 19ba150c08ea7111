"""`twilio-inbound replay ...`: republish stored messages (same event id, so subscribers dedupe)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any

from twilio_inbound.clock import iso_millis, utc_now
from twilio_inbound.messages_table import MessageStore
from twilio_inbound.opt_outs_table import OptOutStore
from twilio_inbound.publishing import Publisher, event_publisher
from twilio_inbound.reply_correlation import LastSent
from twilio_inbound_cli.progress import progress
from twilio_inbound_cli.replay import Replayer, ReplayResult
from twilio_inbound_cli.target import Target, resolve
from twilio_inbound_cli.time_arguments import stored_time


def stack_publisher(target: Target) -> Publisher:
    """Where the stack publishes (its PublishTo output; a stack deployed before it publishes to SNS)."""
    publish_to = target.outputs.get("PublishTo", "Sns")
    topic = target.output("MessagesTopicArn") if publish_to != "EventBridge" else ""
    bus = target.output("EventBusName") if publish_to != "Sns" else ""
    return event_publisher(topic, bus, target.client)


def replayer(target: Target) -> Replayer:
    dynamodb = target.client("dynamodb")
    opt_outs_table = target.output("OptOutsTableName")
    messages = MessageStore(dynamodb, target.output("MessagesTableName"), opt_outs_table)
    # The stack's ReplyWindowMinutes (a stack deployed before it has none, and never named a message answered).
    window = int(target.parameter("ReplyWindowMinutes") or 0)
    return Replayer(
        messages, stack_publisher(target), OptOutStore(dynamodb, opt_outs_table), LastSent(messages, window)
    )


def replay_dead_letters(target: Target) -> ReplayResult:
    """The stream batches the fanout function gave up on, republished from the table (`replay --from-dlq`)."""
    return replayer(target).from_dead_letters(
        target.client("sqs"), target.output("FanoutDeadLetterQueueUrl"), target.client("dynamodbstreams")
    )


def _run(args: argparse.Namespace) -> int:
    target = resolve(args.stack_name)
    if args.from_dlq:
        result = replay_dead_letters(target)
    elif args.message_sid:
        result = replayer(target).by_message_sids(args.message_sid)
    else:
        until = args.until or iso_millis(utc_now())
        with progress("replay", "messages") as bar:
            result = replayer(target).by_time_range(
                args.since, until, args.number or "", found=bar.reset, advance=bar.update
            )
    summary: dict[str, Any] = {key: value for key, value in asdict(result).items() if value}
    print(json.dumps(summary or {"published": []}, indent=2))
    return 1 if result.failed or result.dead_letters_kept else 0


def add_command(commands: Any) -> None:
    replay = commands.add_parser(
        "replay",
        help="republish stored messages by MessageSid, time range, or from the fanout dead-letter queue",
        description=__doc__,
    )
    replay.add_argument("--stack-name", help="a deployed stack (default: the running local stack)")
    what = replay.add_mutually_exclusive_group(required=True)
    what.add_argument("--message-sid", action="append", metavar="SID", help="a MessageSid (repeatable)")
    what.add_argument("--since", type=stored_time, help="received at or after this ISO 8601 time")
    what.add_argument("--from-dlq", action="store_true", help="the stream batches the fanout function gave up on")
    replay.add_argument("--until", type=stored_time, help="with --since: received at or before (default: now)")
    replay.add_argument("--number", help="with --since: only messages to this number (uses the ByNumber index)")
    replay.set_defaults(run=_run)
