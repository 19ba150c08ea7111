"""`twilio-inbound media ...`: the archived media of a deployed stack (--stack-name) or the local one.

twilio-inbound media url MM… [INDEX]       a presigned GET URL for attachment INDEX (default 0), no Twilio
                                           credentials needed to read it
twilio-inbound media replay                move every message in the media dead-letter queue back to the
                                           media queue, where the media function archives it again
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.config import Config

from twilio_inbound.media_bucket import NoSuchMedia, content_disposition, find_media_key
from twilio_inbound_cli.progress import progress
from twilio_inbound_cli.target import Target, resolve

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef

DEFAULT_EXPIRES_SECONDS = 3600
MAX_EXPIRES_SECONDS = 7 * 24 * 3600  # SigV4's limit for presigned URLs


def move_dead_letters(
    sqs: SQSClient, dead_letter_url: str, queue_url: str, advance: Callable[[int], object] = lambda moved: None
) -> int:
    """Moves every dead letter back to the queue, attributes kept; each is deleted only once it is sent.
    Returns how many were moved, telling `advance` of each. (The media function is idempotent: a message moved
    twice is archived once.)"""
    moved = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=dead_letter_url, MaxNumberOfMessages=10, VisibilityTimeout=60, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return moved
        for message in messages:
            attributes: dict[str, MessageAttributeValueTypeDef] = {
                name: {"DataType": value["DataType"], "StringValue": value["StringValue"]}
                for name, value in message.get("MessageAttributes", {}).items()
                if "StringValue" in value
            }
            sqs.send_message(QueueUrl=queue_url, MessageBody=message["Body"], MessageAttributes=attributes)
            sqs.delete_message(QueueUrl=dead_letter_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
            advance(1)


def _url(args: argparse.Namespace) -> int:
    target = resolve(args.stack_name)
    # SigV4 (botocore may presign with SigV2, which S3 no longer accepts for new buckets).
    s3 = target.session.client("s3", endpoint_url=target.endpoint_url or None, config=Config(signature_version="s3v4"))
    bucket = target.output("MediaBucketName")
    try:
        key = find_media_key(s3, bucket, args.message_sid, args.index)
    except (NoSuchMedia, ValueError) as error:
        print(f"error: {error}")
        return 1
    # Active content (HTML, SVG, ...) is a download whatever the object says: objects archived before they were
    # stored as attachments are served safely too.
    disposition = content_disposition(s3.head_object(Bucket=bucket, Key=key).get("ContentType", ""), key)
    params = {"Bucket": bucket, "Key": key, "ResponseContentDisposition": disposition}
    print(s3.generate_presigned_url("get_object", Params=params, ExpiresIn=args.expires))
    return 0


def replay_dead_letters(target: Target, advance: Callable[[int], object] = lambda moved: None) -> int:
    """The media dead-letter queue moved back to the media queue (`media replay`); how many were moved, telling
    `advance` of each."""
    return move_dead_letters(
        target.client("sqs"), target.output("MediaDeadLetterQueueUrl"), target.output("MediaQueueUrl"), advance
    )


def _replay(args: argparse.Namespace) -> int:
    with progress("media replay", "messages") as bar:
        moved = replay_dead_letters(resolve(args.stack_name), bar.update)
    print(json.dumps({"moved": moved}))
    return 0


def _index(value: str) -> int:
    if not value.isdigit() or int(value) > 9:
        raise argparse.ArgumentTypeError(f"INDEX is 0-9 (a message has at most 10 attachments), not {value!r}")
    return int(value)


def _expires(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_EXPIRES_SECONDS:
        raise argparse.ArgumentTypeError(f"--expires is 1 to {MAX_EXPIRES_SECONDS} seconds, not {value!r}")
    return int(value)


def add_command(commands: Any) -> None:
    media = commands.add_parser(
        "media",
        help="archived media: a presigned URL, or replay the media dead-letter queue",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = media.add_subparsers(dest="action", required=True, metavar="ACTION")
    url = actions.add_parser("url", help="print a presigned URL for an archived attachment")
    url.add_argument("message_sid", metavar="SID", help="the message's MessageSid")
    url.add_argument("index", metavar="INDEX", nargs="?", type=_index, default=0, help="attachment 0-9 (default 0)")
    url.add_argument(
        "--expires", type=_expires, default=DEFAULT_EXPIRES_SECONDS, help="seconds the URL works (default 3600)"
    )
    url.add_argument("--stack-name", help="a deployed stack (default: the running local stack)")
    url.set_defaults(run=_url)
    replay = actions.add_parser("replay", help="move the media dead-letter queue back to the media queue")
    replay.add_argument("--stack-name", help="a deployed stack (default: the running local stack)")
    replay.set_defaults(run=_replay)
