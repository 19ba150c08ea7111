"""Routes named by Twilio's own path templates, and the request a handler sees.

A route's `path` is the key of the operation in Twilio's OpenAPI description and `params` lists every query
or form parameter its handler reads: `Call.get` refuses any other name, and the contract tests check both
against the description, so the stand-in cannot quietly grow a parameter Twilio does not have.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from devtools.twilio_api.models import FormPairs

if TYPE_CHECKING:
    from devtools.twilio_api.engine import Engine
    from devtools.twilio_api.store import Principal

SpecName = Literal["api_v2010", "messaging_v1", "content_v1"]
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any] | None = None  # JSON; None for an empty answer
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # the path template exactly as in Twilio's description
    handler: Callable[[Call], Reply]
    params: tuple[str, ...] = ()
    spec: SpecName | None = "api_v2010"  # None: an address Twilio serves but does not describe
    accounts_resource: bool = False  # the Accounts resource itself (standard API keys may not use it)

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        parts = _PLACEHOLDER.split(self.path)
        regex = "".join(
            re.escape(part) if index % 2 == 0 else f"(?P<{part}>[^/.]+)" for index, part in enumerate(parts)
        )
        return re.compile(f"^{regex}$")


@dataclass
class Call:
    """One request to a route: path parameters, the parameters sent, and who sent it."""

    engine: Engine
    route: Route
    path: str
    path_params: dict[str, str]
    pairs: FormPairs  # the query string of a GET/DELETE, the form of a POST
    principal: Principal

    def get(self, name: str) -> str | None:
        values = self.get_all(name)
        return values[0] if values else None

    def get_all(self, name: str) -> list[str]:
        if name not in self.route.params:
            raise AssertionError(
                f"{self.route.method} {self.route.path} reads {name}, which its route does not declare"
            )
        return [value for key, value in self.pairs if key == name]

    def has(self, name: str) -> bool:
        return bool(self.get_all(name))


def match(routes: list[Route], path: str) -> list[tuple[Route, dict[str, str]]]:
    """Every route whose template matches the path, with its path parameters."""
    found = []
    for route in routes:
        matched = route.pattern.match(path)
        if matched:
            found.append((route, matched.groupdict()))
    return found
