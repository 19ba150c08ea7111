"""`python -m bench.media_rss [--files 10] [--megabytes 100]` (`make bench-media`): the media function's peak
memory while it archives one message of ten 100 MB attachments (WhatsApp's largest document size).

The media function's handler runs in a fresh process on one SQS record (the secret, Twilio's redirect, streaming,
SHA-256, the S3 write and read-back, the media.archived event) against the Twilio API stand-in and moto's
server, both in this process, so only the function's own memory is measured (Linux VmHWM, as bench/memory.py).
Exits 1 when a file is not archived or the peak passes the function's MemorySize in template.yaml.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import subprocess
import sys
import time
from typing import Any

from bench.memory import peak_rss_mb

CHILD_FLAG = "--measure"
BUCKET = "bench-media"
ACCOUNT_SID = "AC" + "0" * 32
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",  # fake, for the emulator  # nosec B105
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


# ---------------------------------------------------------------- inside the measuring process
def _measure(event: dict[str, Any]) -> dict[str, Any]:
    """The media function's handler on one SQS record, as Lambda would run it (its environment is ours)."""
    from bench import invoke

    real_stdout = invoke.quiet_stdout()
    handler = invoke.load_handler("media.handler.handler")
    baseline = peak_rss_mb()  # the interpreter, boto3, Powertools and the function, before any media
    started, cpu = time.perf_counter(), time.process_time()
    result = handler(event, invoke.lambda_context("MediaFunction"))
    measured = {
        "peak_rss_mb": peak_rss_mb(),
        "baseline_rss_mb": baseline,
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
        "failures": result["batchItemFailures"],
    }
    print(json.dumps(measured), file=real_stdout)
    return measured


# ---------------------------------------------------------------- the driver
def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _memory_size() -> int:
    from devtools.template import load_template

    return int(load_template()["Resources"]["MediaFunction"]["Properties"]["MemorySize"])


def run(files: int, size: int) -> dict[str, Any]:
    """Starts the emulator and the stand-in here, then measures the function in a fresh process."""
    from moto.server import ThreadedMotoServer

    from devtools.twilio_api import MediaSpec, TwilioStandIn
    from twilio_inbound.cloudevent import EVENT_TYPE

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = _free_port()
    os.environ.update({**AWS_ENV, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"})
    emulator = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    emulator.start()
    try:
        import boto3

        boto3.client("s3").create_bucket(Bucket=BUCKET)
        with TwilioStandIn.start() as twilio:
            account = twilio.add_account(sid=ACCOUNT_SID)
            environment = {
                **os.environ,
                "POWERTOOLS_SERVICE_NAME": "media",
                "POWERTOOLS_METRICS_NAMESPACE": "TwilioInboundBench",
                "MEDIA_BUCKET_NAME": BUCKET,
                "TOPIC_ARN": boto3.client("sns").create_topic(Name="bench-messages")["TopicArn"],
                "MEDIA_QUEUE_URL": boto3.client("sqs").create_queue(QueueName="bench-media")["QueueUrl"],
                "TWILIO_AUTH_TOKEN_SECRET_ARN": boto3.client("secretsmanager").create_secret(
                    Name="bench/twilio", SecretString=account.auth_token
                )["ARN"],
                "TWILIO_API_URL": twilio.base_url,
            }
            specs = [MediaSpec(content_type="application/pdf", size=size) for _ in range(files)]
            message = twilio.add_inbound_message(
                account.sid, sender="whatsapp:+15005550006", to="whatsapp:+15005550001", media=specs
            )
            media = [
                {"url": twilio.media_url(item), "contentType": item.content_type}
                for item in twilio.media_of(message.sid)
            ]
            data = {"messageSid": message.sid, "accountSid": account.sid, "from": message.from_, "to": message.to}
            body = json.dumps({"type": EVENT_TYPE, "data": {**data, "channel": "whatsapp", "media": media}})
            record = {"messageId": "bench", "receiptHandle": "bench", "body": body, "attributes": {}}
            event = {"Records": [{**record, "eventSource": "aws:sqs", "messageAttributes": {}, "md5OfBody": ""}]}
            done = subprocess.run(
                [sys.executable, "-m", "bench.media_rss", CHILD_FLAG, json.dumps(event)],
                env=environment,
                capture_output=True,
                text=True,
                check=False,
                timeout=1800,
            )
    finally:
        emulator.stop()
    if done.returncode != 0 or not done.stdout.strip():
        raise SystemExit(f"the measuring process failed:\n{done.stderr[-3000:]}")
    measured: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return measured


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) == 3 and sys.argv[1] == CHILD_FLAG:
        _measure(json.loads(sys.argv[2]))
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.media_rss", description=__doc__)
    parser.add_argument("--files", type=int, default=10, help="attachments in the message (Twilio allows 10)")
    parser.add_argument("--megabytes", type=int, default=100, help="size of each, in MB (10^6 bytes)")
    args = parser.parse_args(argv)
    measured = run(args.files, args.megabytes * 1000 * 1000)
    limit = _memory_size()
    gigabytes = args.files * args.megabytes / 1000
    print(
        f"archived {args.files} x {args.megabytes} MB ({gigabytes:.2f} GB) in {measured['seconds']:.1f} s, "
        f"{measured['cpu_seconds']:.1f} s CPU ({measured['cpu_seconds'] / gigabytes:.1f} s CPU per GB)\n"
        f"peak RSS {measured['peak_rss_mb']:.1f} MB (after imports, before any media: "
        f"{measured['baseline_rss_mb']:.1f} MB); MemorySize {limit} MB"
    )
    ok = measured["failures"] == [] and measured["peak_rss_mb"] <= limit
    print("ok" if ok else f"MISSED: failures {measured['failures']}, or the peak is over MemorySize")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
