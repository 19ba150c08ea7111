"""`twilio-inbound send-sms ...`: send a message through the stack, as a downstream service does: a send command on
the stack's outbound queue (checked first with the sender's own rules), then, with --wait, its outcome and delivery
status as the stack records them, or with --wait-reply, the customer's answer.

Exit codes: 0 sent and delivered (--wait) or answered (--wait-reply, the answer printed); 1 not sent (refused,
failed, unknown outcome: the reason printed) or its delivery failed; 2 a malformed command; 3 timed out.

    twilio-inbound send-sms --from support-line --to +14155550100 --body "Your order shipped"
    twilio-inbound send-sms --in-reply-to SM... --body "Thanks!" --wait 30
    twilio-inbound send-sms --from support-line --to +14155550100 --body "Reply YES to confirm" --wait-reply 300
    twilio-inbound send-sms --from support-whatsapp --to whatsapp:+14155550100 --content-sid HX... \
        --content-variables '{"1": "12/1"}'
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from twilio_inbound.delivery_status import FINAL_RANK, rank
from twilio_inbound.messages_table import BY_CONVERSATION_INDEX, MessageStore
from twilio_inbound.outbound import OUTBOUND, MalformedCommand, parse_command
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
        "contentSid": args.content_sid,
    }
    command: dict[str, Any] = {name: value for name, value in fields.items() if value}
    if args.content_variables is not None:
        command["contentVariables"] = args.content_variables
    return command


def _variables(text: str) -> Any:
    """--content-variables' JSON object (parse_command checks what is in it)."""
    try:
        return json.loads(text)
    except ValueError as error:
        example = '{"1": "12/1"}'
        raise argparse.ArgumentTypeError(f"--content-variables takes a JSON object, e.g. '{example}'") from error


FAILED = ("failed", "undelivered", "canceled")
SENT, NOT_SENT_OR_FAILED, TIMED_OUT = 0, 1, 3  # exit codes (--help)


@dataclass
class Watch:
    """What send-sms --wait and --wait-reply read: the command's intent, then its message and thread."""

    intents: SendIntentStore
    messages: MessageStore
    key: str
    report: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, target: Target, key: str) -> Watch:
        dynamodb = target.client("dynamodb")
        return cls(
            SendIntentStore(dynamodb, target.output("SendsTableName")),
            MessageStore(dynamodb, target.output("MessagesTableName"), ""),
            key,
            {"idempotencyKey": key, "state": "queued"},
        )

    def message(self) -> tuple[dict[str, Any] | None, int | None]:
        """The sent message's item (None while there is none) and, when settled badly, the exit code."""
        intent = self.intents.get(self.key)
        if intent is not None and intent.state in NOT_SENT:
            self.report.update(state=intent.state, reason=intent.reason, errorCode=intent.error_code)
            return None, NOT_SENT_OR_FAILED
        if intent is None or intent.state != "sent":
            return None, None
        item = self.messages.get(intent.message_sid)
        status = str((item or {}).get("status", ""))
        self.report.update(state="sent", messageSid=intent.message_sid, status=status)
        if item and item.get("errorCode") is not None:
            self.report["errorCode"] = item["errorCode"]
        return item, NOT_SENT_OR_FAILED if status in FAILED else None

    def reply_to(self, sent: dict[str, Any]) -> dict[str, Any] | None:
        """The customer's first message in the thread after ours, unless another of ours came first (then it
        answers that one, as the inbound event's inReplyTo says)."""
        conversation = str(sent.get("conversation", ""))
        if not conversation:
            return None  # a Messaging Service has not picked the number yet
        sids = self.messages.sids_between(BY_CONVERSATION_INDEX, conversation, since=str(sent["receivedAt"]))
        for item in self.messages.read_many(sids):
            if item["messageSid"] == sent["messageSid"]:
                continue
            if item.get("direction") == OUTBOUND:
                return None
            return item
        return None


def _wait(watch: Watch, timeout: float, *, reply: bool) -> tuple[dict[str, Any], int]:
    """Polls until the outcome is settled: a final status (--wait), or the customer's answer (--wait-reply)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item, code = watch.message()
        if code is not None:
            return watch.report, code
        if item is not None and not reply and rank(str(item.get("status", ""))) >= FINAL_RANK:
            return watch.report, SENT
        answer = watch.reply_to(item) if item is not None and reply else None
        if answer is not None:
            fields = ("messageSid", "from", "body", "media", "receivedAt")
            return {**watch.report, "reply": {name: answer.get(name) for name in fields}}, SENT
        time.sleep(POLL_SECONDS)
    return {**watch.report, "timedOut": True}, TIMED_OUT


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
    if not (args.wait or args.wait_reply):
        return 0
    watch = Watch.of(target, command["idempotencyKey"])
    report, code = _wait(watch, args.wait_reply or args.wait, reply=bool(args.wait_reply))
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
        "--content-sid",
        metavar="HX…",
        help="a Content Template instead of a body (WhatsApp outside the customer's 24-hour window needs one)",
    )
    parser.add_argument(
        "--content-variables",
        type=_variables,
        metavar="JSON",
        help='the template\'s variables, e.g. \'{"1": "12/1", "2": "3pm"}\'',
    )
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
    parser.add_argument(
        "--wait-reply",
        type=float,
        default=0,
        metavar="SECONDS",
        help="send, then wait for the customer's answer (their next message in the thread) and print it; exit 0 "
        "answered, 1 not sent (refused, failed, unknown) or its delivery failed, 3 no answer in time",
    )
    parser.add_argument("--stack-name", help="a deployed stack (default: the running local stack)")
    parser.set_defaults(run=_run)
