"""python -m devtools.twilio_api: the Twilio REST API stand-in on its own, in the foreground until Ctrl-C/SIGTERM.

Seeds one account (the repository's documented test SID and token unless told otherwise) and its numbers,
checks every request and answer against Twilio's OpenAPI description, and prints where it listens. Seed more,
inspect logs and inject faults over the admin API (devtools/twilio_api/admin.py).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from devtools.twilio_api.spec import CLI_CORE_VERSION, SpecMissing, TwilioSpec, load_spec
from devtools.twilio_api.standin import TwilioStandIn
from twilio_inbound_cli.signing import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devtools.twilio_api", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=int(os.environ.get("TWILIO_API_PORT", "5010")), help="API port")
    parser.add_argument(
        "--cdn-port", type=int, default=int(os.environ.get("TWILIO_CDN_PORT", "5011")), help="media CDN port"
    )
    parser.add_argument("--account-sid", default=TEST_ACCOUNT_SID)
    parser.add_argument("--auth-token", default=TEST_AUTH_TOKEN, help="the seeded account's token (a test value)")
    parser.add_argument("--number", action="append", help="a number of the account, repeatable (default +15005550001)")
    parser.add_argument("--sms-url", help="the seeded numbers' SmsUrl (where inbound webhooks go)")
    parser.add_argument("--outputs", type=Path, help="write the URLs and seeded SIDs here as JSON")
    parser.add_argument(
        "--no-spec-check", action="store_true", help="do not check answers against Twilio's description"
    )
    parser.add_argument("--verbose", action="store_true", help="log every HTTP request")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    spec: TwilioSpec | None = None
    if not args.no_spec_check:
        try:
            spec = load_spec()
        except SpecMissing as error:
            print(f"error: {error} (or pass --no-spec-check)", file=sys.stderr)
            return 2
    try:
        standin = TwilioStandIn.start(
            host=args.host, port=args.port, cdn_port=args.cdn_port, spec=spec, verbose=args.verbose
        )
    except OSError as error:
        print(f"error: cannot listen on {args.host}:{args.port}/{args.cdn_port}: {error.strerror}", file=sys.stderr)
        return 2
    account = standin.add_account(friendly_name="Local account", sid=args.account_sid, auth_token=args.auth_token)
    numbers = [
        standin.add_number(account.sid, number, sms_url=args.sms_url) for number in args.number or ["+15005550001"]
    ]
    token_note = "(documented test token)" if args.auth_token == TEST_AUTH_TOKEN else "(as given)"
    print(f"twilio-api  {standin.base_url}  (stands in for https://api.twilio.com and https://messaging.twilio.com)")
    print(f"media-cdn   {standin.cdn_url}")
    print(f"admin       {standin.admin_url}")
    print(
        f"account     {account.sid}  token {args.auth_token if token_note.startswith('(doc') else '***'} {token_note}"
    )
    for number in numbers:
        print(f"number      {number.phone_number}  {number.sid}  SmsUrl {number.sms_url or '(none)'}")
    print(
        f"spec        {'checked against @twilio/cli-core ' + CLI_CORE_VERSION if spec else 'not checked'}", flush=True
    )
    if args.outputs:
        args.outputs.parent.mkdir(parents=True, exist_ok=True)
        outputs = {
            "BaseUrl": standin.base_url,
            "CdnUrl": standin.cdn_url,
            "AdminUrl": standin.admin_url,
            "AccountSid": account.sid,
            "Numbers": {number.phone_number: number.sid for number in numbers},
        }
        temporary = args.outputs.with_suffix(".tmp")
        temporary.write_text(json.dumps(outputs, indent=2) + "\n", encoding="utf-8")
        temporary.replace(args.outputs)  # readers never see a half-written file

    stopping = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    stopping.wait()
    standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
