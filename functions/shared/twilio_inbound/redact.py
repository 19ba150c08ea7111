"""What logs may say about a message: phone numbers and bodies are masked unless full logging is on."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# A phone number in free text (Twilio's error messages, our refusals): E.164, or a channel address holding one.
_NUMBER_IN_TEXT = re.compile(r"(?:[a-z]+:)?\+[0-9]{7,15}")


def mask_address(address: str) -> str:
    """Keeps the channel prefix and the last 4 characters: whatsapp:+•••••••0199."""
    scheme, sep, rest = address.rpartition(":")
    value = rest if sep else address
    masked = ("+" if value.startswith("+") else "") + "•" * max(len(value) - 5, 3) + value[-4:]
    return f"{scheme}{sep}{masked}" if len(value) > 6 else f"{scheme}{sep}•••"


def message_fields(record: Mapping[str, Any], full: bool) -> dict[str, Any]:
    """Log fields for one message: a stored record or an event's data (the same field names)."""
    fields: dict[str, Any] = {
        "messageSid": record["messageSid"],
        "channel": record["channel"],
        "numMedia": record["numMedia"],
        "bodyChars": len(record["body"]),
    }
    if full:
        return {**fields, "from": record["from"], "to": record["to"], "body": record["body"]}
    return {**fields, "from": mask_address(record["from"]), "to": mask_address(record["to"])}


def mask_numbers(text: str, full: bool = False) -> str:
    """`text` (Twilio's error message, a refusal's reason) with every phone number masked, unless full logging."""
    return text if full else _NUMBER_IN_TEXT.sub(lambda found: mask_address(found.group()), text)
