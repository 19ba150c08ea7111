"""The Twilio side of a stack, for operator commands: the stack's secret (read with your AWS credentials), the
accounts it knows, an SDK client for each, and failures reported as one line instead of a stack trace.

Where the API is: --twilio-api-url, else $TWILIO_API_URL, else the stack's TwilioApiUrl output (the local stack's
stand-in), else Twilio itself.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec

from botocore.exceptions import BotoCoreError, ClientError

from twilio_inbound.http_fields import check_api_base_url
from twilio_inbound.numbers_table import NumberRegistry
from twilio_inbound.secrets import AccountSecrets, TokensUnavailable, WebhookSecrets, secrets_from_text
from twilio_inbound.twilio_rest import TWILIO_FAILURES, account_client, describe_failure
from twilio_inbound_cli.target import NoStack, Target, resolve

TWILIO_API_URL_ENV = "TWILIO_API_URL"
ACCOUNT_SID_ENV = "TWILIO_ACCOUNT_SID"
CREDENTIALS_ARN_OUTPUT = "TwilioAuthTokenSecretArn"  # an output (the local stack, newer stacks) or a parameter
WEBHOOK_PATH = "/sms"
P = ParamSpec("P")


class CommandError(Exception):
    """A failure the command reports as one line, with what to do about it."""


def api_url_argument(text: str) -> str:
    """--twilio-api-url's value: empty (Twilio itself), or an http(s) URL; else argparse's error says what is wrong
    with it (a request would only fail later with an error that reads like a credential problem)."""
    try:
        return check_api_base_url(text) if text.strip() else ""
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _api_url_from_env() -> str:
    """$TWILIO_API_URL, checked as --twilio-api-url is; read when used, never as a parser default (the reference
    page is generated from the parser and must not depend on who generates it)."""
    text = os.environ.get(TWILIO_API_URL_ENV, "")
    try:
        return check_api_base_url(text) if text.strip() else ""
    except ValueError as error:
        raise CommandError(f"${TWILIO_API_URL_ENV}: {error}") from error


def add_twilio_options(parser: argparse.ArgumentParser, *, stack_name: bool = True) -> None:
    if stack_name:
        parser.add_argument("--stack-name", help="a deployed stack (default: the running local stack)")
    parser.add_argument(
        "--account",
        metavar="AC...",
        help="only this account (default: every account the stack's secret knows); with a secret holding one "
        f"token and no accountSid, the account that token belongs to (default: ${ACCOUNT_SID_ENV})",
    )
    parser.add_argument(
        "--twilio-api-url",
        type=api_url_argument,
        metavar="URL",
        help=f"another server than Twilio's API, e.g. the stand-in (default: ${TWILIO_API_URL_ENV}, else the "
        "stack's TwilioApiUrl output, else Twilio)",
    )


@dataclass
class StackTwilio:
    """One stack as the Twilio side sees it: its webhook URL, its registry, its accounts and their clients."""

    target: Target
    accounts: dict[str, AccountSecrets]  # account SID -> the secret's entry that reaches it
    api_base_url: str
    _clients: dict[str, Any] = field(default_factory=dict)

    @property
    def webhook_url(self) -> str:
        """The URL Twilio must call: PublicBaseUrl + /sms when the stack has one, else the API's WebhookUrl."""
        public = self.target.parameter("PublicBaseUrl")
        return public.rstrip("/") + WEBHOOK_PATH if public else self.target.output("WebhookUrl")

    @property
    def api_webhook_url(self) -> str:
        return self.target.output("WebhookUrl")

    def client(self, account_sid: str) -> Any:
        if account_sid not in self._clients:
            try:
                self._clients[account_sid] = account_client(
                    self.accounts[account_sid], account_sid, api_base_url=self.api_base_url
                )
            except TokensUnavailable as error:
                raise CommandError(f"{account_sid}: {error}") from error
        return self._clients[account_sid]

    def registry(self) -> NumberRegistry:
        return NumberRegistry(self.target.client("dynamodb"), self.target.output("NumbersTableName"))


def _accounts(secrets: WebhookSecrets, wanted: str | None) -> dict[str, AccountSecrets]:
    if secrets.accounts:
        if wanted and wanted not in secrets.accounts:
            known = ", ".join(sorted(secrets.accounts))
            raise CommandError(f"the stack's secret has no entry for {wanted} (it has {known})")
        return {sid: entry for sid, entry in secrets.accounts.items() if not wanted or sid == wanted}
    single = secrets.single or AccountSecrets()
    # A secret holding one plain token (the local stack's) names no account: Twilio's own variable may.
    sid = wanted or single.account_sid or os.environ.get(ACCOUNT_SID_ENV, "")
    if not sid:
        raise CommandError(
            f"the stack's secret names no account: pass --account AC... (or set ${ACCOUNT_SID_ENV}), or add "
            "accountSid to the secret (docs/reference/secret.md)"
        )
    return {sid: single}


def stack_twilio(args: argparse.Namespace, target: Target | None = None) -> StackTwilio:
    target = target or resolve(args.stack_name)
    arn = target.outputs.get(CREDENTIALS_ARN_OUTPUT) or target.parameter(CREDENTIALS_ARN_OUTPUT)
    if not arn:
        raise CommandError(f"the stack has no {CREDENTIALS_ARN_OUTPUT} output or parameter")
    try:
        text = target.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    except (BotoCoreError, ClientError) as error:
        raise CommandError(f"cannot read the stack's Twilio secret {arn}: {error}") from error
    try:
        secrets = secrets_from_text(text)
    except TokensUnavailable as error:
        raise CommandError(f"the stack's Twilio secret is unusable: {error}") from error
    api_base_url = args.twilio_api_url or _api_url_from_env() or target.outputs.get("TwilioApiUrl", "")
    return StackTwilio(target, _accounts(secrets, args.account), api_base_url)


def reporting(run: Callable[P, int]) -> Callable[P, int]:
    """Runs a command; a bad credential, an unknown number, a network or AWS failure is one line, exit 2."""

    @functools.wraps(run)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> int:
        try:
            return run(*args, **kwargs)
        except NoStack:
            raise
        except CommandError as error:
            message = str(error)
        except TWILIO_FAILURES as error:
            message = describe_failure(error)
        except (BotoCoreError, ClientError) as error:
            message = f"AWS call failed: {error}"
        print(f"error: {message}", file=sys.stderr)
        return 2

    return wrapped
