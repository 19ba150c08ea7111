"""twilio-inbound: operate a deployed stack (--stack-name NAME, your AWS credentials) or the local one.

  twilio-inbound send --body "hello"                          # a signed test message to the local stack
  twilio-inbound send --stack-name twilio-inbound --body hi   # a deployed stack, found by its Outputs
  twilio-inbound numbers add +15005550001 --name support-line --route-key support
  twilio-inbound replay --from-dlq --stack-name twilio-inbound
  twilio-inbound messages conversation +15005550001 +14155550100   # one exchange, both directions, decoded
  twilio-inbound send-sms --from support-line --to +14155550100 --body "Your order shipped" --wait 30
  twilio-inbound media url MM0123… 0                        # a presigned URL for an archived attachment
  twilio-inbound verify                                       # the stack's Twilio credentials work
  twilio-inbound connect +15005550001 --retries 2 --retry-on 5xx   # point the number's webhook here
  twilio-inbound doctor                                       # what makes inbound fail silently, and the fix
  twilio-inbound reconcile --since 2026-11-23T08:00:00Z --backfill  # messages the webhook never got
  twilio-inbound opt-outs list                                # who opted out of what, and when (import, export)

Every command has --help.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import version

from twilio_inbound_cli import (
    connect_command,
    doctor_command,
    media_command,
    messages_command,
    numbers_command,
    opt_outs_command,
    reconcile_command,
    replay_command,
    send_command,
    send_sms_command,
    twilio_numbers_command,
    verify_command,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twilio-inbound", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('twilio-inbound')}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    send_command.add_command(commands)
    numbers_command.add_command(commands)
    replay_command.add_command(commands)
    messages_command.add_command(commands)
    send_sms_command.add_command(commands)
    media_command.add_command(commands)
    verify_command.add_command(commands)
    twilio_numbers_command.add_command(commands)
    connect_command.add_command(commands)
    doctor_command.add_command(commands)
    reconcile_command.add_command(commands)
    opt_outs_command.add_command(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
