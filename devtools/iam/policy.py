"""AWS's evaluation logic for identity policies: does a set of policies allow `action` on `resource`?

An explicit Deny wins, else an Allow is needed (implicit deny). Statements match by Action/NotAction (case-
insensitive, `*` and `?` wildcards), Resource/NotResource (case-sensitive wildcards, policy variables such as
`${aws:username}` taken from the request context) and every Condition operator AWS documents, with the
`...IfExists` suffix and the `ForAllValues:`/`ForAnyValue:` set qualifiers. An operator AWS does not document
is an error, never a silent match.

Written here because no permissively licensed evaluator was found on PyPI (docs/IAM.md, "How calls are
checked"); the catalogue of actions and resource types comes from parliament (requests.py).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any

Context = Mapping[str, str | Sequence[str]]


class Decision(Enum):
    ALLOWED = "allowed"
    IMPLICIT_DENY = "implicitDeny"  # no statement allows it
    EXPLICIT_DENY = "explicitDeny"


class UnsupportedCondition(ValueError):
    """A condition operator AWS does not document."""


def decide(
    policies: Iterable[Mapping[str, Any]], action: str, resource: str, context: Context | None = None
) -> Decision:
    """The decision for one request, as AWS takes it for a principal whose identity policies are `policies`."""
    context = context or {}
    allowed = False
    for policy in policies:
        for statement in _listed(policy["Statement"]):
            if not _matches(statement, action, resource, context):
                continue
            if statement["Effect"] == "Deny":
                return Decision.EXPLICIT_DENY
            allowed = True
    return Decision.ALLOWED if allowed else Decision.IMPLICIT_DENY


def granting(
    policies: Mapping[str, Mapping[str, Any]], action: str, resource: str, context: Context | None = None
) -> list[tuple[str, int, int, int]]:
    """Which grants allow the request: (policy name, statement index, Action entry index, Resource entry index)
    of every Allow statement matching it (for least privilege: granted vs exercised)."""
    context = context or {}
    found = []
    for name, policy in policies.items():
        for index, statement in enumerate(_listed(policy["Statement"])):
            if statement["Effect"] != "Allow" or not _matches(statement, action, resource, context):
                continue
            actions = _listed(statement.get("Action", "*"))
            resources = _listed(statement.get("Resource", "*"))
            found += [
                (name, index, a, r)
                for a, pattern in enumerate(actions)
                if "Action" not in statement or _action_pattern(pattern).fullmatch(action)
                for r, resource_pattern in enumerate(resources)
                if "Resource" not in statement or _resource_matches(resource_pattern, resource, context)
            ]
    return found


def _matches(statement: Mapping[str, Any], action: str, resource: str, context: Context) -> bool:
    if "Action" in statement:
        if not any(_action_pattern(pattern).fullmatch(action) for pattern in _listed(statement["Action"])):
            return False
    elif any(_action_pattern(pattern).fullmatch(action) for pattern in _listed(statement["NotAction"])):
        return False
    if "Resource" in statement:
        if not any(_resource_matches(pattern, resource, context) for pattern in _listed(statement["Resource"])):
            return False
    elif "NotResource" in statement and any(
        _resource_matches(pattern, resource, context) for pattern in _listed(statement["NotResource"])
    ):
        return False
    return all(
        _condition_holds(operator, key, _listed(values), context)
        for operator, block in statement.get("Condition", {}).items()
        for key, values in block.items()
    )


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), flags)


@cache
def _action_pattern(pattern: str) -> re.Pattern[str]:
    return _glob(pattern, re.IGNORECASE | re.DOTALL)


_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def _resource_matches(pattern: str, resource: str, context: Context) -> bool:
    return _glob_with_variables(pattern, context).fullmatch(resource) is not None


def _glob_with_variables(pattern: str, context: Context) -> re.Pattern[str]:
    """A Resource (or a *Like condition value): `${key}` is the context's value, `${*}`, `${?}`, `${$}` the
    literal character, a key the request lacks matches nothing."""
    parts: list[str] = []
    position = 0
    for match in _VARIABLE.finditer(pattern):
        parts.append(_glob(pattern[position : match.start()], re.DOTALL).pattern)
        name = match.group(1)
        if name in ("*", "?", "$"):
            parts.append(re.escape(name))
        else:
            value = context.get(name)
            parts.append(re.escape(value) if isinstance(value, str) else "(?!)")
        position = match.end()
    parts.append(_glob(pattern[position:], re.DOTALL).pattern)
    return re.compile("".join(parts), re.DOTALL)


# ---------------------------------------------------------------------- conditions
def _string_like(policy: str, value: str, context: Context) -> bool:
    return _glob_with_variables(policy, context).fullmatch(value) is not None


def _number(text: str) -> float:
    return float(text)


def _date(text: str) -> datetime:
    return datetime.fromtimestamp(float(text)) if text.isdigit() else datetime.fromisoformat(text)


# Positive operators: (policy value, request value, context) -> bool. A negated operator is "not any".
_OPERATORS: dict[str, Callable[[str, str, Context], bool]] = {
    "StringEquals": lambda policy, value, _: policy == value,
    "StringEqualsIgnoreCase": lambda policy, value, _: policy.lower() == value.lower(),
    "StringLike": _string_like,
    "ArnEquals": _string_like,  # ARN operators compare component-wise with wildcards; a glob of the whole is that
    "ArnLike": _string_like,
    "Bool": lambda policy, value, _: str(policy).lower() == str(value).lower(),
    "NumericEquals": lambda policy, value, _: _number(value) == _number(policy),
    "NumericLessThan": lambda policy, value, _: _number(value) < _number(policy),
    "NumericLessThanEquals": lambda policy, value, _: _number(value) <= _number(policy),
    "NumericGreaterThan": lambda policy, value, _: _number(value) > _number(policy),
    "NumericGreaterThanEquals": lambda policy, value, _: _number(value) >= _number(policy),
    "DateEquals": lambda policy, value, _: _date(value) == _date(policy),
    "DateLessThan": lambda policy, value, _: _date(value) < _date(policy),
    "DateLessThanEquals": lambda policy, value, _: _date(value) <= _date(policy),
    "DateGreaterThan": lambda policy, value, _: _date(value) > _date(policy),
    "DateGreaterThanEquals": lambda policy, value, _: _date(value) >= _date(policy),
    "IpAddress": lambda policy, value, _: ipaddress.ip_address(value) in ipaddress.ip_network(policy, strict=False),
    "BinaryEquals": lambda policy, value, _: policy == value,
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
}


def _condition_holds(operator: str, key: str, policy_values: list[Any], context: Context) -> bool:
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists") and name != "IfExists"
    name = name.removesuffix("IfExists")
    present = key in context
    request_values = _listed(context[key]) if present else []
    if name == "Null":  # "true": the key is absent
        return any(str(policy).lower() == str(not present).lower() for policy in policy_values)
    positive = _NEGATED.get(name, name)
    compare = _OPERATORS.get(positive)
    if compare is None:
        raise UnsupportedCondition(f"condition operator {operator} is not an IAM condition operator")
    negated = positive != name
    if not present:  # AWS: a missing key fails a positive operator, passes a negated one or ForAllValues
        return if_exists or negated or qualifier == "ForAllValues"

    def matches(value: Any) -> bool:
        hit = any(compare(str(policy), str(value), context) for policy in policy_values)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(matches(value) for value in request_values)
    return any(matches(value) for value in request_values)  # ForAnyValue, and a single-valued key
