"""The number registry as the console edits it: a form in, a NumberConfig out, saved by the CLI's own code
(NumberRegistry, which checks it); and the opt-out state, read from its table."""

from __future__ import annotations

from collections.abc import Mapping

from twilio_inbound.numbers import InvalidNumberConfig, NumberConfig
from twilio_inbound.opt_outs_table import OptOutEntry, OptOutStore
from twilio_inbound_cli.target import Target


def keywords_from_text(text: str) -> dict[str, str]:
    """One KEYWORD=reply per line, as `numbers add --keyword` takes them."""
    keywords = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        keyword, sep, reply = line.partition("=")
        if not sep:
            raise InvalidNumberConfig(f"keyword line {line.strip()!r} must be KEYWORD=reply")
        keywords[keyword.strip().upper()] = reply.strip()
    return keywords


def config_from_form(form: Mapping[str, str]) -> NumberConfig:
    """The number's whole configuration as the form gives it (the form shows every field, so it replaces them)."""
    return NumberConfig(
        number=form.get("number", "").strip(),
        name=form.get("name", "").strip(),
        enabled=form.get("enabled") == "on",
        route_key=form.get("route_key", "").strip(),
        tags=tuple(tag.strip() for tag in form.get("tags", "").split(",") if tag.strip()),
        auto_reply=form.get("auto_reply", "").strip(),
        keywords=keywords_from_text(form.get("keywords", "")),
        language=form.get("language", "").strip(),
    )


def keywords_text(config: NumberConfig) -> str:
    return "\n".join(f"{keyword}={reply}" for keyword, reply in config.keywords.items())


def opt_outs(target: Target) -> list[OptOutEntry]:
    """Every sender's opt-out state, per number or service, as `twilio-inbound opt-outs list --all` reads it."""
    return OptOutStore(target.client("dynamodb"), target.output("OptOutsTableName")).entries()
