"""`twilio-inbound send ...`: POST a signed Twilio-style inbound message to a webhook and print the answer."""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request
from typing import Any

from twilio_inbound_cli.signing import (
    TEST_ACCOUNT_SID,
    encode_form,
    inbound_form,
    new_message_sid,
    signed_headers,
    signing_token,
)
from twilio_inbound_cli.target import NoStack, resolve

DEFAULT_LOCAL_URL = "http://127.0.0.1:3000/sms"
DEFAULT_SEEDED_BYTES = 100_000


def post_signed(url: str, pairs: list[tuple[str, str]], token: str, timeout: float = 15.0) -> tuple[int, str, str]:
    """POSTs the form as Twilio does; returns (status, content type, body)."""
    request = urllib.request.Request(  # noqa: S310 (the URL is the caller's choice, http or https)
        url,
        data=encode_form(pairs),
        method="POST",
        headers=signed_headers(url, pairs, token),
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read().decode()


def _param(value: str) -> tuple[str, str]:
    name, sep, text = value.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"--param takes NAME=VALUE, not {value!r}")
    return name, text


def _media(value: str) -> tuple[str, str]:
    url, _, content_type = value.partition(",")
    return url, content_type or "image/jpeg"


def _seed_media(value: str) -> tuple[str, int]:
    content_type, _, size = value.partition(",")
    if "/" not in content_type or (size and not size.isdigit()):
        raise argparse.ArgumentTypeError(f"--seed-media takes TYPE[,BYTES] (e.g. image/jpeg,300000), not {value!r}")
    return content_type.strip(), int(size or DEFAULT_SEEDED_BYTES)


def seed_standin_message(
    admin_url: str, *, sender: str, to: str, body: str, media: list[tuple[str, int]], message_sid: str | None
) -> tuple[str, list[tuple[str, str]]]:
    """A received message with media in the local stack's Twilio stand-in (its admin API), as Twilio would
    hold it: returns its MessageSid and its MediaUrls (on api.twilio.com, which the local stack's functions
    send to the stand-in)."""
    payload: dict[str, Any] = {
        "account_sid": TEST_ACCOUNT_SID,
        "sender": sender,
        "to": to,
        "body": body,
        "media": [{"content_type": content_type, "size": size} for content_type, size in media],
    }
    if message_sid:
        payload["sid"] = message_sid
    request = urllib.request.Request(  # noqa: S310 (the local stand-in's admin URL, from the outputs file)
        admin_url + "messages",
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310  # nosec B310
        document = json.loads(response.read())
    return str(document["sid"]), [(item["url"], item["content_type"]) for item in document["media"]]


def _standin_admin_url(stack_name: str | None) -> str:
    try:
        return resolve(stack_name).output("TwilioStandInAdminUrl")
    except NoStack as error:
        raise NoStack(f"--seed-media needs `make local` with its Twilio API stand-in ({error})") from error


def _local_standin_admin_url(args: argparse.Namespace) -> str:
    """The running local stack's Twilio stand-in (admin API), when the message goes to that stack's webhook signed
    with its own token; else "". There the stand-in holds each message as Twilio holds what it delivers: a WhatsApp
    customer's window is open at Twilio too, and reconcile finds the message. A request signed with --token (a
    forgery, say) is not one Twilio would hold."""
    if args.url or args.stack_name or args.token:
        return ""
    try:
        return resolve(None).outputs.get("TwilioStandInAdminUrl", "")
    except NoStack:
        return ""


def _run(args: argparse.Namespace) -> int:
    url = args.url
    if not url:
        try:
            url = resolve(args.stack_name).output("WebhookUrl")
        except NoStack:
            if args.stack_name:
                raise
            url = DEFAULT_LOCAL_URL
    sender, to = args.sender, args.to
    if args.whatsapp:
        sender, to = f"whatsapp:{sender}", f"whatsapp:{to}"
    media, message_sid = list(args.media), args.message_sid
    held_by = _local_standin_admin_url(args)
    if args.seed_media or held_by:
        message_sid, seeded = seed_standin_message(
            held_by or _standin_admin_url(args.stack_name),
            sender=sender,
            to=to,
            body=args.body,
            media=args.seed_media,
            message_sid=message_sid or new_message_sid(bool(media or args.seed_media)),
        )
        media += seeded
    pairs = inbound_form(
        body=args.body,
        sender=sender,
        to=to,
        media=media,
        message_sid=message_sid,
        extra=args.param,
    )
    sid = dict(pairs)["MessageSid"]
    status = 0
    for _ in range(args.repeat):
        status, content_type, body = post_signed(url, pairs, signing_token(args.token))
        print(f"{status} {content_type} {sid}\n{body.strip()}")
    return 0 if 200 <= status < 300 else 1


def add_command(commands: Any) -> None:
    send = commands.add_parser(
        "send", help="POST a signed Twilio-style inbound message and print the answer", description=__doc__
    )
    send.add_argument("--url", help=f"webhook URL (default: the local stack's, else {DEFAULT_LOCAL_URL})")
    send.add_argument("--stack-name", help="a deployed stack: send to its WebhookUrl output")
    send.add_argument(
        "--token",
        help="auth token to sign with (default: $TWILIO_AUTH_TOKEN, else the documented test token)",
    )
    send.add_argument("--body", default="Hello from twilio-inbound")
    send.add_argument("--from", dest="sender", default="+15005550006", help="sender (E.164)")
    send.add_argument("--to", default="+15005550001", help="your Twilio number (E.164)")
    send.add_argument("--whatsapp", action="store_true", help="send as WhatsApp (whatsapp: addresses)")
    send.add_argument(
        "--media", action="append", type=_media, default=[], metavar="URL[,TYPE]", help="attach media (repeatable)"
    )
    send.add_argument(
        "--seed-media",
        action="append",
        type=_seed_media,
        default=[],
        metavar="TYPE[,BYTES]",
        help="attach media held by the local stack's Twilio stand-in, e.g. image/jpeg,300000 (repeatable): "
        "the media function archives it",
    )
    send.add_argument("--message-sid", help="reuse a MessageSid (to try a repeat delivery)")
    send.add_argument(
        "--param", action="append", type=_param, default=[], metavar="NAME=VALUE", help="extra form parameter"
    )
    send.add_argument("--repeat", type=int, default=1, help="deliver the same message this many times")
    send.set_defaults(run=_run)
