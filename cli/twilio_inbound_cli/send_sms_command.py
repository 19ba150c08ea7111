"""`twilio-inbound send-sms ...`: send a message through the stack, as a downstream service does: a send command on
the stack's outbound queue (checked first with the sender's own rules), then, with --wait, its outcome and delivery
status as the stack records them.

    twilio-inbound send-sms --from support-line --to +14155550100 --body "Your order shipped"
    twilio-inbound send-sms --in-reply-to SM... --body "Thanks!" --wait 30
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from typing import Any

from twilio_inbound.delivery_status import FINAL_RANK, rank
from twilio_inbound.messages_table import MessageStore
from twilio_inbound.outbound import MalformedCommand, parse_command
from twilio_inbound.sends_table import SendIntentStore
from twilio_inbound_cli.target import Target, resolve

POLL_SECONDS = 0.5
NOT_SENT = ("refused", "failed", "unknown")


def build_command(args: argparse.Namespace) -> dict[str, Any]:
    fields = {
        "idempotencyKey": args.key or f"cli:{uuid.uuid4()}",
        "to": args.to,
        "from": args.sender,
        "body": args.body,
        "mediaUrls": args.media,
        "inReplyTo": args.in_reply_to,
        "accountSid": args.account_sid,
    }
    return {name: value for name, value in fields.items() if value}


def _outcome(target: Target, key: str, timeout: float) -> tuple[dict[str, Any], int]:
    """Polls the sends table, then the message's status, until it is final or `timeout` passes."""
    intents = SendIntentStore(target.client("dynamodb"), target.output("SendsTableName"))
    messages = MessageStore(target.client("dynamodb"), target.output("MessagesTableName"), "")
    deadline = time.monotonic() + timeout
    report: dict[str, Any] = {"idempotencyKey": key, "state": "queued"}
    while time.monotonic() < deadline:
        intent = intents.get(key)
        if intent is not None and intent.state in NOT_SENT:
            return {**report, "state": intent.state, "reason": intent.reason, "errorCode": intent.error_code}, 1
        if intent is not None and intent.state == "sent":
            item = messages.get(intent.message_sid) or {}
            status = str(item.get("status", ""))
            report = {**report, "state": "sent", "messageSid": intent.message_sid, "status": status}
            if item.get("errorCode") is not None:
                report["errorCode"] = item["errorCode"]
            if rank(status) >= FINAL_RANK:
                return report, 1 if status in ("failed", "undelivered", "canceled") else 0
        time.sleep(POLL_SECONDS)
    return {**report, "timedOut": True}, 3


def checked_command(command: dict[str, Any]) -> str:
    """The command as the outbound queue carries it, checked with the sender's own rules (MalformedCommand says
    what is wrong)."""
    text = json.dumps(command, ensure_ascii=False)
    parse_command(text)
    return text


def queue_command(target: Target, text: str) -> str:
    """Puts a checked command on the stack's outbound queue, as a sending service does; the queue's MessageId."""
    queued = target.client("sqs").send_message(QueueUrl=target.output("OutboundQueueUrl"), MessageBody=text)
    return str(queued["MessageId"])


def _run(args: argparse.Namespace) -> int:
    command = build_command(args)
    try:
        text = checked_command(command)
    except MalformedCommand as error:
        print(f"error: {error}")
        return 2
    target = resolve(args.stack_name)
    queued = queue_command(target, text)
    print(json.dumps({"idempotencyKey": command["idempotencyKey"], "queued": queued}), flush=True)
    if not args.wait:
        return 0
    report, code = _outcome(target, command["idempotencyKey"], args.wait)
    print(json.dumps(report, ensure_ascii=False))
    return code


def add_command(commands: Any) -> None:
    parser = commands.add_parser(
        "send-sms",
        help="send a message through the stack (a send command on its outbound queue)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--to", help="the recipient: +14155550100, whatsapp:+14155550100")
    parser.add_argument(
        "--from", dest="sender", help="a registered number, an entry point's name, or a Messaging Service SID"
    )
    parser.add_argument("--in-reply-to", help="an inbound MessageSid: sender, recipient and channel come from it")
    parser.add_argument("--body", default="", help="the text (at most 1,600 characters)")
    parser.add_argument(
        "--media", action="append", default=[], metavar="URL", help="an https:// media URL (repeatable)"
    )
    parser.add_argument("--key", help="the idempotencyKey (default: a new one): the same key never sends twice")
    parser.add_argument("--account-sid", help="the sending account, when the stack's secret holds several")
    parser.add_argument(
        "--wait",
        type=float,
        default=0,
        metavar="SECONDS",
        help="wait for the outcome and a final delivery status; exit 0 delivered, 1 not sent or failed, 3 timed out",
    )
    parser.add_argument("--stack-name", help="a deployed stack (default: the running local stack)")
    parser.set_defaults(run=_run)
