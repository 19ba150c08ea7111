"""twilio-inbound: operate a deployed stack (--stack-name NAME, your AWS credentials) or the local one.

  twilio-inbound send --body "hello"                          # a signed test message to the local stack
  twilio-inbound send --stack-name twilio-inbound --body hi   # a deployed stack, found by its Outputs
  twilio-inbound numbers add +15005550001 --name support-line --route-key support
  twilio-inbound replay --from-dlq --stack-name twilio-inbound
  twilio-inbound media url MM0123… 0                        # a presigned URL for an archived attachment

Every command has --help.
"""

from __future__ import annotations

import argparse
import sys

from twilio_inbound_cli import media_command, numbers_command, replay_command, send_command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twilio-inbound", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    send_command.add_command(commands)
    numbers_command.add_command(commands)
    replay_command.add_command(commands)
    media_command.add_command(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
