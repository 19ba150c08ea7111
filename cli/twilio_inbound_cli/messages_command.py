"""`twilio-inbound messages ...`: read stored messages, decoded (an inbound item keeps its parameters in one
compressed field, so the console and `aws dynamodb get-item` show bytes). One JSON object per line; a number's
messages and a conversation oldest first:

twilio-inbound messages show SM… [SM…]                   the messages, as every function and event reads them
twilio-inbound messages number +15005550001 [--since T]   a number's messages (the ByNumber index, no scan)
twilio-inbound messages conversation +15005550001 +14155550100
                                                          one exchange, both directions (ByConversation)
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from twilio_inbound.messages_table import BY_CONVERSATION_INDEX, BY_NUMBER_INDEX, MessageStore
from twilio_inbound_cli.target import resolve
from twilio_inbound_cli.time_arguments import stored_time


def _store(args: argparse.Namespace) -> MessageStore:
    target = resolve(args.stack_name)
    return MessageStore(
        target.client("dynamodb"), target.output("MessagesTableName"), target.output("OptOutsTableName")
    )


def _print(messages: list[dict[str, Any]]) -> None:
    for message in messages:
        print(json.dumps(message, ensure_ascii=False, sort_keys=True, default=str))


def _show(args: argparse.Namespace) -> int:
    messages = _store(args).read_many(args.message_sid)
    _print(messages)
    missing = sorted(set(args.message_sid) - {message["messageSid"] for message in messages})
    if missing:
        print(json.dumps({"notStored": missing}))
        return 1
    return 0


def _indexed(index: str, partition: Callable[[argparse.Namespace], str]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        store = _store(args)
        _print(store.read_many(store.sids_between(index, partition(args), args.since or "", args.until or "")))
        return 0

    return run


def add_command(commands: Any) -> None:
    messages = commands.add_parser(
        "messages",
        help="read stored messages, decoded: by MessageSid, a number's, or one conversation",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = messages.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="messages by MessageSid (exit 1 when one is not stored)")
    show.add_argument("message_sid", nargs="+", metavar="SID")
    show.set_defaults(run=_show)
    number = actions.add_parser("number", help="a number's messages, oldest first")
    number.add_argument("number", help="the number called, as stored: +15005550001, whatsapp:+15005550001")
    number.set_defaults(run=_indexed(BY_NUMBER_INDEX, lambda args: args.number))
    conversation = actions.add_parser("conversation", help="one number's exchange with one sender, both directions")
    conversation.add_argument("number", help="the stack's number (inbound `to`)")
    conversation.add_argument("sender", help="the other party (inbound `from`)")
    conversation.set_defaults(run=_indexed(BY_CONVERSATION_INDEX, lambda args: f"{args.number}|{args.sender}"))
    for action in (show, number, conversation):
        action.add_argument("--stack-name", help="a deployed stack (default: the running local stack)")
    for action in (number, conversation):
        action.add_argument("--since", type=stored_time, help="received at or after this ISO 8601 time")
        action.add_argument("--until", type=stored_time, help="received at or before this ISO 8601 time")
