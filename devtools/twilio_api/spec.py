"""Twilio's OpenAPI description of the operations the stand-in serves, and checks against it.

The description ships in the npm package @twilio/cli-core (`make twilio-openapi` fetches the pinned version
into .venv/twilio-openapi/; it is never committed). A `TwilioSpec` answers, for a route: does the operation
exist, which parameters does it declare, and does an answer match the declared schema, field for field
(everything declared present, nothing undeclared). Error answers are checked against the one error schema the
description gives (on POST /2010-04-01/Accounts/{Sid}.json, status 409): the other operations declare no
error responses at all.
"""

from __future__ import annotations

import json
import os
import re
from email.utils import parsedate_to_datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import FormatChecker
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from devtools.template import ROOT

CLI_CORE_VERSION = "9.0.0"
SPEC_DIR = Path(os.environ.get("TWILIO_OPENAPI_DIR") or ROOT / ".venv" / "twilio-openapi")
FILES = {
    "api_v2010": "twilio_api_v2010.json",
    "messaging_v1": "twilio_messaging_v1.json",
    "content_v1": "twilio_content_v1.json",  # Content Templates: the ContentSid a message may name
}
_ERROR_OPERATION = ("api_v2010", "/2010-04-01/Accounts/{Sid}.json", "post", "409")
# E.164, short codes, alphanumeric sender IDs, and channel addresses: the description's "phone-number" To and From
# are "[E.164] (for SMS/MMS) or [channel address], e.g. whatsapp:+15552229999"; a channel's address after its
# prefix is the channel's (a WhatsApp business-scoped user ID US.134912…, an RCS sender's id).
_ADDRESS = re.compile(r"^(?:\+?[0-9A-Za-z]{3,20}|[a-z]+:\S{1,160})$")


class SpecMissing(RuntimeError):
    pass


def _rfc2822(value: object) -> bool:
    return not isinstance(value, str) or parsedate_to_datetime(value) is not None


def _phone_number(value: object) -> bool:
    return not isinstance(value, str) or bool(_ADDRESS.match(value))


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    checker.checkers.update(oas30_format_checker.checkers)
    checker.checks("date-time-rfc-2822", raises=(TypeError, ValueError))(_rfc2822)
    checker.checks("phone-number")(_phone_number)
    return checker


class TwilioSpec:
    def __init__(self, directory: Path = SPEC_DIR) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        for name, file_name in FILES.items():
            path = directory / file_name
            if not path.is_file():
                raise SpecMissing(
                    f"Twilio's OpenAPI description is missing ({path}): run `make twilio-openapi` "
                    f"(it needs Node.js/npm and fetches @twilio/cli-core@{CLI_CORE_VERSION})"
                )
            self.documents[name] = json.loads(path.read_text(encoding="utf-8"))
        self._registries = {
            name: Registry().with_resource(
                f"urn:twilio:{name}", Resource.from_contents(doc, default_specification=DRAFT4)
            )
            for name, doc in self.documents.items()
        }
        self._checker = _format_checker()

    def operation(self, spec: str, path: str, method: str) -> dict[str, Any] | None:
        item = self.documents[spec]["paths"].get(path, {})
        operation = item.get(method.lower())
        return operation if isinstance(operation, dict) else None

    def declared_params(self, spec: str, path: str, method: str) -> set[str]:
        """Path and query parameters, and the form fields of the request body."""
        operation = self.operation(spec, path, method) or {}
        names = {param["name"] for param in operation.get("parameters", []) if "name" in param}
        form = operation.get("requestBody", {}).get("content", {}).get("application/x-www-form-urlencoded", {})
        return names | set(form.get("schema", {}).get("properties", {}))

    def response_pointer(self, spec: str, path: str, method: str, status: int) -> str | None:
        """A JSON pointer to the schema declared for this status, None if it declares no JSON body."""
        operation = self.operation(spec, path, method) or {}
        response = operation.get("responses", {}).get(str(status))
        if response is None or "application/json" not in response.get("content", {}):
            return None
        escaped = path.replace("~", "~0").replace("/", "~1")
        return (
            f"urn:twilio:{spec}#/paths/{escaped}/{method.lower()}/responses/{status}/content/application~1json/schema"
        )

    def declares_status(self, spec: str, path: str, method: str, status: int) -> bool:
        operation = self.operation(spec, path, method) or {}
        return str(status) in operation.get("responses", {})

    def check_response(self, spec: str, path: str, method: str, status: int, body: Any) -> list[str]:
        """What is wrong with an answer, by the description (an empty list: nothing)."""
        where = f"{method} {path} -> {status}"
        if status >= 400:
            spec_name, error_path, error_method, error_status = _ERROR_OPERATION
            pointer = self.response_pointer(spec_name, error_path, error_method, int(error_status))
            problems = self._validate(spec_name, pointer, body, where)
            missing = {"code", "message", "more_info", "status"} - set(body if isinstance(body, dict) else {})
            return problems + ([f"{where}: error body lacks {sorted(missing)}"] if missing else [])
        if not self.declares_status(spec, path, method, status):
            return [f"{where}: status {status} is not declared"]
        pointer = self.response_pointer(spec, path, method, status)
        if pointer is None:
            return [] if body is None else [f"{where}: a body where none is declared"]
        return self._validate(spec, pointer, body, where)

    def _validate(self, spec: str, pointer: str | None, body: Any, where: str) -> list[str]:
        if pointer is None:
            return [f"{where}: no schema"]
        validator = OAS30Validator({"$ref": pointer}, registry=self._registries[spec], format_checker=self._checker)
        problems = [
            f"{where}: {'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in validator.iter_errors(body)
        ]
        schema = self._resolve(spec, pointer.split("#", 1)[1])
        return problems + [f"{where}: {problem}" for problem in self._fields(spec, body, schema, "")]

    def _resolve(self, spec: str, pointer: str) -> dict[str, Any]:
        node: Any = self.documents[spec]
        for part in pointer.lstrip("/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        resolved: dict[str, Any] = node
        return resolved

    def _fields(self, spec: str, instance: Any, schema: dict[str, Any], at: str) -> list[str]:
        """Every declared property present and none undeclared, recursively (the description never says
        additionalProperties: false, so the schema check alone would let a stray field through)."""
        if "$ref" in schema:
            return self._fields(spec, instance, self._resolve(spec, schema["$ref"].split("#", 1)[1]), at)
        problems: list[str] = []
        properties = schema.get("properties")
        if isinstance(instance, dict) and properties:
            undeclared, missing = set(instance) - set(properties), set(properties) - set(instance)
            problems += [f"{at}/{name}: not declared" for name in sorted(undeclared)]
            problems += [f"{at}/{name}: declared but missing" for name in sorted(missing)]
            for name in set(instance) & set(properties):
                problems += self._fields(spec, instance[name], properties[name], f"{at}/{name}")
        if isinstance(instance, list) and isinstance(schema.get("items"), dict):
            for index, item in enumerate(instance):
                problems += self._fields(spec, item, schema["items"], f"{at}/{index}")
        return problems


@cache
def load_spec(directory: Path = SPEC_DIR) -> TwilioSpec:
    return TwilioSpec(directory)
