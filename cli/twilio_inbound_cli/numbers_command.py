"""`twilio-inbound numbers ...`: manage the number registry of a deployed stack (--stack-name) or the local one.

Changes reach the ingest function within its registry cache time (60 s).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from typing import Any

from twilio_inbound.numbers import InvalidNumberConfig, NumberConfig
from twilio_inbound.numbers_table import NumberRegistry
from twilio_inbound_cli import connect_command
from twilio_inbound_cli.target import resolve
from twilio_inbound_cli.twilio_access import add_twilio_options


def _registry(args: argparse.Namespace) -> NumberRegistry:
    target = resolve(args.stack_name)
    return NumberRegistry(target.client("dynamodb"), target.output("NumbersTableName"))


def _keyword(value: str) -> tuple[str, str]:
    keyword, sep, reply = value.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--keyword takes KEYWORD=REPLY, not {value!r}")
    return keyword.strip().upper(), reply


def _describe(config: NumberConfig) -> dict[str, Any]:
    return {
        "enabled": config.enabled,
        **config.entry_point(),
        "autoReply": config.auto_reply,
        "keywords": config.keywords,
    }


def _print(config: NumberConfig) -> None:
    print(json.dumps(_describe(config), ensure_ascii=False))


def _save(registry: NumberRegistry, config: NumberConfig) -> int:
    try:
        registry.put(config)
    except InvalidNumberConfig as error:
        print(f"error: {error}")
        return 2
    _print(config)
    return 0


def _changes(args: argparse.Namespace, config: NumberConfig) -> NumberConfig:
    keywords = {**config.keywords, **dict(args.keyword)}
    for keyword in args.remove_keyword:
        keywords.pop(keyword.strip().upper(), None)
    return replace(
        config,
        name=config.name if args.name is None else args.name,
        route_key=config.route_key if args.route_key is None else args.route_key,
        tags=config.tags if args.tag is None else tuple(args.tag),
        auto_reply=config.auto_reply if args.auto_reply is None else args.auto_reply,
        language=config.language if args.language is None else args.language,
        keywords=keywords,
    )


def _add(args: argparse.Namespace) -> int:
    registry = _registry(args)
    if registry.get(args.number) is not None:
        print(f"error: {args.number} is already registered (use `numbers update`)")
        return 2
    config = _changes(args, NumberConfig(number=args.number, enabled=not args.disabled))
    if args.connect:
        # Connected first, registered once that worked: a refused connect leaves nothing half done.
        try:
            config.validate()
        except InvalidNumberConfig as error:
            print(f"error: {error}")
            return 2
        code = connect_command.connect_one(args, args.number)
        if code:
            return code
    return _save(registry, config)


def _update(args: argparse.Namespace) -> int:
    registry = _registry(args)
    config = registry.get(args.number)
    if config is None:
        print(f"error: {args.number} is not registered (use `numbers add`)")
        return 2
    return _save(registry, _changes(args, config))


def _set_enabled(args: argparse.Namespace, enabled: bool) -> int:
    registry = _registry(args)
    config = registry.get(args.number)
    if config is None:
        print(f"error: {args.number} is not registered")
        return 2
    return _save(registry, replace(config, enabled=enabled))


def _remove(args: argparse.Namespace) -> int:
    if not _registry(args).remove(args.number):
        print(f"error: {args.number} is not registered")
        return 2
    print(f"removed {args.number}")
    return 0


def _list(args: argparse.Namespace) -> int:
    for config in _registry(args).all():
        _print(config)
    return 0


def _show(args: argparse.Namespace) -> int:
    config = _registry(args).get(args.number)
    if config is None:
        print(f"error: {args.number} is not registered")
        return 2
    _print(config)
    return 0


def add_command(commands: Any) -> None:
    numbers = commands.add_parser("numbers", help="list, add, update, enable, disable and remove registered numbers")
    actions = numbers.add_subparsers(dest="action", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--stack-name", help="a deployed stack (default: the running local stack)")

    def with_number(name: str, help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = actions.add_parser(name, help=help_text, parents=[common])
        parser.add_argument("number", help="E.164 (+15005550001), whatsapp:+1..., or a Messaging Service SID (MG...)")
        return parser

    def with_fields(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--name", help="a name for the entry point, e.g. support-line")
        parser.add_argument("--route-key", help="what subscribers filter on, e.g. support")
        parser.add_argument("--tag", action="append", help="a tag (repeatable; replaces all tags)")
        parser.add_argument("--auto-reply", help="text answered to every message ('' for none)")
        parser.add_argument(
            "--keyword",
            action="append",
            default=[],
            type=_keyword,
            metavar="KEYWORD=REPLY",
            help="reply to a keyword such as HELP or HOURS (repeatable)",
        )
        parser.add_argument("--remove-keyword", action="append", default=[], metavar="KEYWORD")
        parser.add_argument("--language", help="language of the number's audience, e.g. en, es-MX")

    listing = actions.add_parser("list", help="every registered number, one JSON line each", parents=[common])
    listing.set_defaults(run=_list)
    with_number("show", "one number's settings").set_defaults(run=_show)
    add = with_number("add", "register a number")
    with_fields(add)
    add.add_argument("--disabled", action="store_true", help="register it switched off")
    add.add_argument("--connect", action="store_true", help="also point its Twilio webhook here (`connect`)")
    add_twilio_options(add, stack_name=False)
    connect_command.add_connect_options(add)
    add.set_defaults(run=_add)
    update = with_number("update", "change a registered number's settings")
    with_fields(update)
    update.set_defaults(run=_update)
    with_number("enable", "switch a number on").set_defaults(run=lambda args: _set_enabled(args, True))
    with_number("disable", "switch a number off: recorded, not published, no reply").set_defaults(
        run=lambda args: _set_enabled(args, False)
    )
    with_number("remove", "unregister a number").set_defaults(run=_remove)
