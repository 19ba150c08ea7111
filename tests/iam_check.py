"""Every AWS call a function makes in a test is checked against that function's role in template.yaml.

devtools/iam records each call (who made it, what AWS authorizes for it) in this process and in the local
stacks the integration tests start. After each test, every request a function made is evaluated against its
role, resources included; a request the role does not allow fails the test, naming the function, the action
and the resource. The requests that were allowed are what the suite exercises: at the end of a full run,
every grant no test exercised must be listed in docs/IAM.md with the reason it stays (report.py).
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from devtools.iam.acting import Attribution, function_folders
from devtools.iam.policy import Decision, decide, granting
from devtools.iam.record import Recorded, install
from devtools.iam.report import Exercised, names_of
from devtools.iam.requests import Request, with_key_use
from devtools.iam.roles import customer_keys, function_roles
from devtools.template import ON_PROVISION, Stack, load_template

_recorded: list[Recorded] = []
_FOLDERS = function_folders(load_template())
install(Attribution(_FOLDERS), _recorded.append)
exercised = Exercised()
_STACK_ROLES: weakref.WeakKeyDictionary[Stack, Any] = weakref.WeakKeyDictionary()  # resolved once per stack
# The stacks whose roles calls are checked against: those provisioned since this test's setup began (held until
# its check: a stack local to the test function is gone when the function returns), and any still alive.
_this_test: list[Stack] = []
_alive: weakref.WeakSet[Stack] = weakref.WeakSet()


def _provisioned(stack: Stack) -> None:
    _this_test.append(stack)
    _alive.add(stack)


ON_PROVISION.append(_provisioned)


class RoleViolation(AssertionError):
    pass


# Per stack: function -> its policies; function -> policy -> the template index of each resolved statement; the
# stack's physical names.
Roles = list[tuple[dict[str, Any], dict[str, dict[str, list[int]]], dict[str, str]]]


def _remote_calls(item: pytest.Item) -> list[Recorded]:
    """The calls the test's local stacks made since the last check."""
    sources = [getattr(value, "iam_source", None) for value in getattr(item, "funcargs", {}).values()]
    return [recorded for source in sources if source is not None for recorded in source.new_calls()]


def _roles(item: pytest.Item) -> tuple[Roles, dict[str, str]]:
    """The roles in play (the test's stacks, in moto or local stacks) and the customer managed keys of the
    stacks' topics and queues."""
    roles: Roles = []
    keys: dict[str, str] = {}
    for stack in [*_this_test, *(stack for stack in list(_alive) if stack not in _this_test)]:
        if stack not in _STACK_ROLES:
            resolved = function_roles(stack)
            policies = {name: role.policies for name, role in resolved.items()}
            origins = {name: role.origins for name, role in resolved.items()}
            _STACK_ROLES[stack] = ((policies, origins, names_of(stack)), customer_keys(stack))
        stack_roles, stack_keys = _STACK_ROLES[stack]
        roles.append(stack_roles)
        keys.update(stack_keys)
    for value in getattr(item, "funcargs", {}).values():
        source = getattr(value, "iam_source", None)
        if source is not None:
            roles.append(source.roles())
    return roles, keys


def check(item: pytest.Item) -> None:
    """Evaluates the calls recorded since the last check; raises RoleViolation for what a role does not allow."""
    calls, _recorded[:] = [*_recorded, *_remote_calls(item)], []
    calls = [recorded for recorded in calls if recorded.caller]
    if not calls:  # only the test's own calls
        return
    roles, keys = _roles(item)
    problems: list[str] = []
    for recorded in calls:
        if recorded.error and recorded.caller:
            problems.append(f"{recorded.caller or 'a test'}: {recorded.error}")
            continue
        if recorded.caller.startswith("operator:"):
            exercised.operator(recorded, [names for _, _, names in roles])
            continue
        function = recorded.function
        if function is None or function not in _FOLDERS.values():  # the test itself, or a test's own function
            continue
        for request in with_key_use(recorded.requests, keys):
            problem = _evaluate(function, request, roles)
            if problem:
                problems.append(problem)
    if problems:
        raise RoleViolation("calls their roles do not allow:\n  " + "\n  ".join(dict.fromkeys(problems)))


def _evaluate(function: str, request: Request, roles: Roles) -> str:
    action, resource, context = request.action, request.resource, dict(request.context)
    if not roles:
        return f"{function}: {action} on {resource}: no stack in this test to find the function's role in"
    for policies, origins, _ in roles:
        role = policies.get(function)
        if role is not None and decide(role.values(), action, resource, context) is Decision.ALLOWED:
            granted = granting(role, action, resource, context)
            exercised.grants(function, [(name, origins[function][name][index], a, r) for name, index, a, r in granted])
            return ""
    keys = "".join(f", {key}={value}" for key, value in request.context)
    return f"{function} is not allowed {action} on {resource}{keys} (its role in template.yaml)"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    _recorded.clear()
    _this_test.clear()
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield
    check(item)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    result = yield
    check(item)
    return result


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller adds it up
        workeroutput["iam_exercised"] = json.dumps(exercised.to_json())
        return
    exercised.finish(session)


def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist's controller: a worker's exercised grants and operator calls."""
    if "iam_exercised" in getattr(node, "workeroutput", {}):
        exercised.merge(json.loads(node.workeroutput["iam_exercised"]))
