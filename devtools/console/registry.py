"""The number registry as the console edits it: a form in, a NumberConfig out, saved by the CLI's own code
(NumberRegistry, which checks it); and the opt-out state, read from its table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from twilio_inbound.dynamo import from_item
from twilio_inbound.numbers import InvalidNumberConfig, NumberConfig
from twilio_inbound_cli.target import Target


@dataclass(frozen=True)
class OptOut:
    number: str
    sender: str
    opted_out: bool
    updated_at: str
    message_sid: str  # the STOP or START that set it


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


def opt_outs(target: Target) -> list[OptOut]:
    """Every sender's opt-out state, per number (a scan: the local table is small)."""
    pages = target.client("dynamodb").get_paginator("scan").paginate(TableName=target.output("OptOutsTableName"))
    states: list[dict[str, Any]] = [from_item(item) for page in pages for item in page["Items"]]
    return sorted(
        (
            OptOut(
                number=str(state["number"]),
                sender=str(state["sender"]),
                opted_out=bool(state.get("optedOut")),
                updated_at=str(state.get("updatedAt", "")),
                message_sid=str(state.get("messageSid", "")),
            )
            for state in states
        ),
        key=lambda state: (state.number, state.sender),
    )
