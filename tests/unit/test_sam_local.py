"""`sam local invoke` with events/: every function sees the local stack's resources, and answers each event.

The environment is resolved by SAM CLI's own code (the template provider, then the runner that merges the
template's variables with `--env-vars`), with samconfig.toml's `local_invoke` settings. There is no Docker
engine here, so the functions then run in process against moto with exactly that environment.
"""

from __future__ import annotations

import base64
import json
import sys
import tomllib
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import boto3
import pytest
from samcli.cli.types import CfnParameterOverridesType
from samcli.commands.local.cli_common.invoke_context import InvokeContext
from samcli.commands.local.lib.local_lambda import LocalLambdaRunner
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

from devtools.lambda_runtime import load_function
from devtools.make_events import SAM_LOCAL_EMULATOR
from devtools.template import ROOT, TEMPLATE_PATH, Stack, load_template, refers_to_resource
from tests.unit.helpers import EVENTS, load_event
from twilio_inbound_cli.signing import TEST_AUTH_TOKEN

TEMPLATE = load_template()
SAM_LOCAL = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))["default"]["local_invoke"][
    "parameters"
]
ENV_VARS_FILE = ROOT / SAM_LOCAL["env_vars"]
# What events/env.json changes on purpose: the emulator's address, and the token the events are signed with
# instead of the secret. Every other variable must be what the local stack (`make local`) gives the function.
LOCAL_ONLY = {"AWS_ENDPOINT_URL": SAM_LOCAL_EMULATOR, "TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN}
# Which function each sample event is for.
EVENT_TARGETS = {"http-api-": "IngestFunction", "rest-api-": "IngestFunction", "dynamodb-": "FanoutFunction"}
EVENT_TARGETS |= {"sqs-": "ConsumerFunction", "status-": "StatusFunction", "send-command-": "SenderFunction"}


def declared_variables(function: str) -> dict[str, Any]:
    """The function's environment as written in the template (Globals, then its own)."""
    global_variables = TEMPLATE["Globals"]["Function"].get("Environment", {}).get("Variables", {})
    own = TEMPLATE["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {})
    return {**global_variables, **own}


FUNCTIONS = sorted(name for name, r in TEMPLATE["Resources"].items() if r["Type"] == "AWS::Serverless::Function")


@pytest.fixture(scope="module")
def sam_local_environment() -> dict[str, dict[str, str]]:
    """Each function's variables as `sam local invoke <function>` would set them, in a clean shell."""
    with pytest.MonkeyPatch.context() as monkeypatch, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # SAM CLI's own, about its dependencies
        for function in FUNCTIONS:
            for name in declared_variables(function):
                monkeypatch.delenv(name, raising=False)  # the shell's value would win over the template's
        return resolve_sam_local_environment()


def resolve_sam_local_environment() -> dict[str, dict[str, str]]:
    parameters = CfnParameterOverridesType().convert(SAM_LOCAL["parameter_overrides"], None, None)
    stacks, _ = SamLocalStackProvider.get_stacks(
        str(TEMPLATE_PATH), parameter_overrides=parameters, global_parameter_overrides={"AWS::Region": "us-east-1"}
    )
    provider = SamFunctionProvider(stacks)
    runner = LocalLambdaRunner(
        local_runtime=None,  # the Docker side, unused: only the invoke configuration is built
        function_provider=provider,
        cwd=str(ROOT),
        real_path=str(ROOT),
        aws_region="us-east-1",
        env_vars_values=InvokeContext._get_env_vars_value(str(ENV_VARS_FILE)),
    )
    environments = {}
    for function in FUNCTIONS:
        resolved = runner.get_invoke_config(provider.get(function)).env_vars.resolve()
        environments[function] = {name: resolved[name] for name in declared_variables(function)}
    return environments


@pytest.fixture
def local_stack(aws: boto3.session.Session) -> Stack:
    """The resources `make local` creates, under its default stack name (the names env.json uses)."""
    return Stack(aws).provision()


def test_env_json_overrides_every_variable_that_names_a_resource() -> None:
    # sam local turns `!Ref NumbersTable` into "NumbersTable": the function would call a table that is not there.
    overrides = json.loads(ENV_VARS_FILE.read_text(encoding="utf-8"))
    for function in FUNCTIONS:
        for name, value in declared_variables(function).items():
            if refers_to_resource(value, TEMPLATE["Resources"]):
                assert name in overrides.get(function, {}), f"{function}.{name} ({value}): add it to events/env.json"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_sam_local_gives_each_function_the_local_stacks_environment(
    sam_local_environment: dict[str, dict[str, str]], local_stack: Stack, function: str
) -> None:
    expected = {**local_stack.functions()[function].environment}
    expected |= {name: value for name, value in LOCAL_ONLY.items() if name in expected}
    resolved = sam_local_environment[function]
    for name, value in expected.items():
        assert resolved[name] == value, (
            f"sam local gives {function} {name}={resolved[name]!r}, the local stack {value!r}: "
            "fix devtools/make_events.py, then `make events`"
        )


# ---------------------------------------------------------------- invoking each function with each event
@pytest.fixture
def fresh_functions(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Handlers read their environment when imported: import them afresh, as a new sam local container does,
    and give the rest of the suite its own copies back afterwards."""
    functions_dir = ROOT / "functions"

    def imported_from_functions() -> list[str]:
        return [
            name
            for name, module in sys.modules.items()
            if functions_dir in Path(getattr(module, "__file__", None) or "/").resolve().parents
        ]

    for name in imported_from_functions():
        monkeypatch.delitem(sys.modules, name)  # put back when the test ends
    yield
    for name in imported_from_functions():
        del sys.modules[name]


@pytest.fixture
def sam_local_invoke(
    sam_local_environment: dict[str, dict[str, str]],
    local_stack: Stack,
    fresh_functions: None,
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    """invoke(function, event) with the environment sam local resolved; moto's in-process mock stands in for
    the emulator's address."""
    specs = local_stack.functions()
    loaded: dict[str, Any] = {}

    def invoke(function: str, event: dict[str, Any]) -> Any:
        if function not in loaded:
            environment = sam_local_environment[function] | {"AWS_ENDPOINT_URL": ""}
            for name, value in environment.items():
                monkeypatch.setenv(name, value)  # undone after the test
            loaded[function] = load_function(replace(specs[function], environment=environment))
        return loaded[function](event)

    return invoke


def target(event_file: Path) -> str:
    (function,) = (function for prefix, function in EVENT_TARGETS.items() if event_file.name.startswith(prefix))
    return function


def sample_events() -> list[Path]:
    return sorted(path for path in EVENTS.glob("*.json") if path != ENV_VARS_FILE)


def test_every_sample_event_has_a_function() -> None:
    for path in sample_events():
        assert target(path) in FUNCTIONS, path.name


def message_sid(api_event: dict[str, Any]) -> str:
    body = base64.b64decode(api_event["body"]).decode() if api_event["isBase64Encoded"] else api_event["body"]
    return str(parse_qs(body, keep_blank_values=True)["MessageSid"][0])


def test_ingest_answers_every_api_event_with_twiml_and_stores_it(sam_local_invoke: Any, local_stack: Stack) -> None:
    events = {path.name: load_event(path.name) for path in sample_events() if target(path) == "IngestFunction"}
    for name, event in events.items():
        response = sam_local_invoke("IngestFunction", event)
        assert response["statusCode"] == 200, (name, response)
        assert response["headers"]["Content-Type"].startswith("text/xml"), name
        assert "<Response" in response["body"], name
    table = local_stack.physical["MessagesTable"]["Ref"]
    stored = {item["messageSid"]["S"] for item in local_stack.session.client("dynamodb").scan(TableName=table)["Items"]}
    assert stored == {message_sid(event) for event in events.values()}


def test_fanout_publishes_the_stream_event(sam_local_invoke: Any, local_stack: Stack) -> None:
    sqs = local_stack.session.client("sqs")
    queue = local_stack.physical["SubscriberQueue"]["Ref"]
    stream = load_event("dynamodb-stream.json")
    assert sam_local_invoke("FanoutFunction", stream) == {"batchItemFailures": []}
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    published = {json.loads(message["Body"])["id"] for message in received}
    assert published == {record["dynamodb"]["Keys"]["messageSid"]["S"] for record in stream["Records"]}


def test_consumer_processes_the_sqs_event(sam_local_invoke: Any) -> None:
    assert sam_local_invoke("ConsumerFunction", load_event("sqs-subscriber.json")) == {"batchItemFailures": []}
