"""`twilio-inbound connect NUMBER|MG...|--registered`: point inbound webhooks at this stack, with POST.

Shows each change before making it. A number (or Messaging Service) that sends its messages to another URL is
left alone unless --force; one already connected is left unchanged (running it twice changes nothing).
Connection overrides (--retries, --retry-on, timeouts) ride in the URL's #fragment, which Twilio reads and
never sends, so signatures verify as before. A Messaging Service is set to use its own URL (not its numbers').
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag

from twilio_inbound_cli.twilio_access import (
    CommandError,
    StackTwilio,
    add_twilio_options,
    reporting,
    stack_twilio,
)
from twilio_inbound_cli.twilio_setup import AccountLookup, NumberSetup, ServiceSetup, Webhook, same_url

# Twilio's connection overrides (docs: "Webhooks connection overrides"): name -> (option, lowest, highest).
OVERRIDE_RANGES = {
    "ct": ("connect_timeout", 100, 10_000),
    "rt": ("read_timeout", 100, 15_000),
    "tt": ("total_timeout", 100, 15_000),
    "rc": ("retries", 0, 5),
}
RETRY_POLICIES = ("ct", "rt", "4xx", "5xx", "all")
# Twilio's parameter names, as the change is shown; and the SDK's update() argument for each.
NUMBER_FIELDS = ("SmsUrl", "SmsMethod", "SmsFallbackUrl", "SmsFallbackMethod")
SERVICE_FIELDS = ("InboundRequestUrl", "InboundMethod", "FallbackUrl", "FallbackMethod")
SDK_ARGUMENTS = {
    "SmsUrl": "sms_url",
    "SmsMethod": "sms_method",
    "SmsFallbackUrl": "sms_fallback_url",
    "SmsFallbackMethod": "sms_fallback_method",
    "InboundRequestUrl": "inbound_request_url",
    "InboundMethod": "inbound_method",
    "FallbackUrl": "fallback_url",
    "FallbackMethod": "fallback_method",
    "UseInboundWebhookOnNumber": "use_inbound_webhook_on_number",
}


@dataclass(frozen=True)
class Change:
    name: str  # Twilio's parameter name
    old: str
    new: str


@dataclass
class Plan:
    label: str
    changes: list[Change] = field(default_factory=list)
    refusal: str = ""


def overrides_of(args: argparse.Namespace) -> str:
    """The #fragment for the options given ("" for none), in Twilio's documented form."""
    pairs = []
    for name, (option, low, high) in OVERRIDE_RANGES.items():
        value = getattr(args, option, None)
        if value is None:
            continue
        if not low <= value <= high:
            raise CommandError(f"--{option.replace('_', '-')} must be between {low} and {high}")
        pairs.append(f"{name}={value}")
    if getattr(args, "retry_on", None):
        pairs.append("rp=" + ",".join(dict.fromkeys(args.retry_on)))
    return "&".join(pairs)


def desired_url(current: str, webhook_url: str, overrides: str) -> str:
    """This stack's URL with the overrides asked for, or (none asked) the ones it already carries."""
    if not overrides and same_url(current, webhook_url):
        overrides = urldefrag(current).fragment
    return f"{webhook_url}#{overrides}" if overrides else webhook_url


def plan_webhook(
    label: str, webhook: Webhook, names: tuple[str, str, str, str], webhook_url: str, args: argparse.Namespace
) -> Plan:
    url_name, method_name, fallback_name, fallback_method_name = names
    plan = Plan(label)
    if webhook.url and not same_url(webhook.url, webhook_url) and not args.force:
        plan.refusal = f"it sends its messages to {webhook.url}; pass --force to replace that URL"
        return plan
    fallback = args.fallback_url
    if fallback and webhook.fallback_url and webhook.fallback_url != fallback and not args.force:
        plan.refusal = f"its fallback URL is {webhook.fallback_url}; pass --force to replace it"
        return plan
    wanted = [(url_name, webhook.url, desired_url(webhook.url, webhook_url, overrides_of(args)))]
    wanted.append((method_name, webhook.method.upper(), "POST"))
    if fallback:
        wanted.append((fallback_name, webhook.fallback_url, fallback))
        wanted.append((fallback_method_name, webhook.fallback_method, "POST"))
    plan.changes = [Change(name, old, new) for name, old, new in wanted if old != new]
    return plan


def plan_number(number: NumberSetup, webhook_url: str, args: argparse.Namespace) -> Plan:
    label = f"{number.phone_number} ({number.sid}, account {number.account_sid})"
    return plan_webhook(label, number.webhook, NUMBER_FIELDS, webhook_url, args)


def plan_service(service: ServiceSetup, webhook_url: str, args: argparse.Namespace) -> Plan:
    label = f"{service.sid} ({service.friendly_name}, account {service.account_sid})"
    plan = plan_webhook(label, service.webhook, SERVICE_FIELDS, webhook_url, args)
    if not plan.refusal and service.defers_to_numbers:
        plan.changes.append(Change("UseInboundWebhookOnNumber", "true", "false"))
    return plan


def _show(plan: Plan) -> None:
    width = max(len(change.name) for change in plan.changes)
    print(f"{plan.label}:")
    for change in plan.changes:
        print(f"  {change.name.ljust(width)}  {change.old or '(none)'} -> {change.new}")


def _apply(resource: Any, plan: Plan) -> None:
    values: dict[str, Any] = {SDK_ARGUMENTS[change.name]: change.new for change in plan.changes}
    if "use_inbound_webhook_on_number" in values:
        values["use_inbound_webhook_on_number"] = False
    resource.update(**values)


@dataclass
class Connector:
    stack: StackTwilio
    args: argparse.Namespace
    _lookups: dict[str, AccountLookup] = field(default_factory=dict)

    def lookups(self) -> list[AccountLookup]:
        for sid in self.stack.accounts:
            if sid not in self._lookups:
                self._lookups[sid] = AccountLookup(self.stack.client(sid), sid)
        return list(self._lookups.values())

    def connect(self, address: str) -> int:
        """0: connected (or already); 1: refused, or connected but its messages still go elsewhere."""
        if ":" in address:
            raise CommandError(
                f"{address}: a channel sender's webhook (WhatsApp, ...) is set in Twilio's sender settings, "
                "not on a phone number: set it to this stack's URL there"
            )
        for lookup in self.lookups():
            if address.startswith("MG"):
                if service := lookup.service(address):
                    plan = plan_service(service, self.stack.webhook_url, self.args)
                    return self._carry_out(plan, lookup.client.messaging.v1.services(service.sid))
            elif number := lookup.number(address):
                plan = plan_number(number, self.stack.webhook_url, self.args)
                code = self._carry_out(plan, lookup.client.incoming_phone_numbers(number.sid))
                return code or self._still_elsewhere(lookup, number)
        accounts = ", ".join(self.stack.accounts)
        raise CommandError(f"{address} is not a phone number or Messaging Service of {accounts}")

    def _carry_out(self, plan: Plan, resource: Any) -> int:
        if plan.refusal:
            print(f"{plan.label}: refused: {plan.refusal}")
            return 1
        if not plan.changes:
            print(f"{plan.label}: already points at {self.stack.webhook_url} with POST, nothing to change")
            return 0
        _show(plan)
        if self.args.dry_run:
            print("  (dry run: nothing changed)")
            return 0
        _apply(resource, plan)
        print("  updated")
        return 0

    def _still_elsewhere(self, lookup: AccountLookup, number: NumberSetup) -> int:
        service = lookup.service_sending_elsewhere(number, self.stack.webhook_url)
        if service is not None:
            print(
                f"  but its messages go to its Messaging Service {service.sid}'s URL "
                f"({service.webhook.url}): run `twilio-inbound connect {service.sid}`, or set that "
                "service to defer to its numbers' webhooks"
            )
            return 1
        return 0


def connect_all(stack: StackTwilio, args: argparse.Namespace, addresses: Iterable[str]) -> int:
    connector = Connector(stack, args)
    worst = 0
    for address in addresses:
        try:
            worst = max(worst, connector.connect(address))
        except CommandError as error:
            print(f"error: {error}")
            worst = 2
    return worst


@reporting
def connect_one(args: argparse.Namespace, address: str) -> int:
    """`numbers add ... --connect`: the same as `connect ADDRESS` with the options given."""
    overrides_of(args)
    return connect_all(stack_twilio(args), args, [address])


@reporting
def _run(args: argparse.Namespace) -> int:
    if bool(args.targets) == args.registered:
        raise CommandError("name the numbers or Messaging Services to connect, or pass --registered (not both)")
    overrides_of(args)  # refuse bad values before anything is read or changed
    stack = stack_twilio(args)
    if args.registered:
        addresses = [config.number for config in stack.registry().all()]
        skipped = [address for address in addresses if ":" in address]
        for address in skipped:
            print(f"{address}: skipped: a channel sender's webhook is set in Twilio's sender settings")
        addresses = [address for address in addresses if ":" not in address]
        if not addresses:
            print("no registered numbers to connect (add some with `twilio-inbound numbers add`)")
            return 0
    else:
        addresses = args.targets
    return connect_all(stack, args, addresses)


def add_connect_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fallback-url", metavar="URL", help="where Twilio posts when this stack answers an error")
    parser.add_argument("--force", action="store_true", help="replace a webhook or fallback URL pointing elsewhere")
    parser.add_argument("--dry-run", action="store_true", help="show the changes, make none")
    overrides = parser.add_argument_group("connection overrides (Twilio's #fragment on the URL)")
    overrides.add_argument("--retries", type=int, metavar="0-5", help="rc: retries on a failed delivery")
    overrides.add_argument(
        "--retry-on",
        action="append",
        choices=RETRY_POLICIES,
        help="rp: which failures to retry (repeatable; 5xx covers the webhook's 503 when storage fails)",
    )
    overrides.add_argument("--connect-timeout", type=int, metavar="MS", help="ct: 100-10000 ms")
    overrides.add_argument("--read-timeout", type=int, metavar="MS", help="rt: 100-15000 ms")
    overrides.add_argument("--total-timeout", type=int, metavar="MS", help="tt: 100-15000 ms, retries included")


def add_command(commands: Any) -> None:
    parser = commands.add_parser(
        "connect",
        help="point numbers' or Messaging Services' inbound webhooks at this stack (POST)",
        description=__doc__,
    )
    parser.add_argument("targets", nargs="*", metavar="NUMBER|MG...", help="E.164 numbers or Messaging Service SIDs")
    parser.add_argument("--registered", action="store_true", help="every number in this stack's registry")
    add_twilio_options(parser)
    add_connect_options(parser)
    parser.set_defaults(run=_run)
