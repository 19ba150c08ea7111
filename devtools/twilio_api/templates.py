"""Content Templates as Messages.create uses them: ContentSid names a template of the account, ContentVariables
(a JSON object in a string) fills its {{placeholders}}, a variable left out takes the template's default.

Twilio's answers to a bad request: 21654 ContentVariables without ContentSid, 21655 a ContentSid that is not a
template of the account, 21656 ContentVariables that is not a JSON object of non-empty strings, or leaves a
placeholder with no value (https://www.twilio.com/docs/api/errors/21655, /21656, /21654).
"""

from __future__ import annotations

import json
import re

from devtools.twilio_api.errors import TwilioApiError
from devtools.twilio_api.models import ContentTemplate

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


def _variables(raw: str) -> dict[str, str]:
    try:
        values = json.loads(raw) if raw else {}
    except ValueError as error:
        raise TwilioApiError(400, 21656, "The ContentVariables Parameter is invalid") from error
    if not isinstance(values, dict) or not all(isinstance(value, str) and value for value in values.values()):
        raise TwilioApiError(400, 21656, "The ContentVariables Parameter is invalid")
    return values


def render(template: ContentTemplate | None, account_sid: str, raw_variables: str) -> str:
    """The body a message created from the template carries."""
    if template is None or template.account_sid != account_sid:
        raise TwilioApiError(400, 21655, "The ContentSid is Invalid")
    values = {**template.variables, **_variables(raw_variables)}
    missing = sorted({name for name in PLACEHOLDER.findall(template.body) if not values.get(name)})
    if missing:
        raise TwilioApiError(400, 21656, "The ContentVariables Parameter is invalid")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], template.body)
