"""Which stack a command talks to: a deployed one (by stack name) or the running local stack."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

# Where `make local` writes its outputs, relative to the checkout it runs in. Commands read it from the
# current directory unless TWILIO_INBOUND_OUTPUTS names the file.
LOCAL_OUTPUTS = Path(".local") / "stack-outputs.json"


class NoStack(SystemExit):
    pass


@dataclass
class Target:
    outputs: dict[str, str]
    session: boto3.session.Session
    endpoint_url: str | None  # the emulator, for the local stack
    parameters: dict[str, str] = field(default_factory=dict)  # a deployed stack's template parameters

    def parameter(self, key: str) -> str:
        """A template parameter's value (a deployed stack's, or one the local stack writes to its outputs)."""
        return self.parameters.get(key) or self.outputs.get(key, "")

    def client(self, service: Any) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint_url)

    def output(self, key: str) -> str:
        if key not in self.outputs:
            raise NoStack(f"the stack has no output {key}")
        return self.outputs[key]


def _local_outputs() -> Path:
    """$TWILIO_INBOUND_OUTPUTS, else the running local stack's outputs file in this folder or the nearest parent
    that has one (as git finds .git: a command works from any folder of the checkout)."""
    if os.environ.get("TWILIO_INBOUND_OUTPUTS"):
        return Path(os.environ["TWILIO_INBOUND_OUTPUTS"])
    here = Path.cwd()
    found = (folder / LOCAL_OUTPUTS for folder in (here, *here.parents))
    return next((path for path in found if path.is_file()), LOCAL_OUTPUTS)


def resolve(stack_name: str | None, outputs_file: Path | None = None) -> Target:
    """A deployed stack's Outputs (CloudFormation, your AWS credentials), else the local stack's outputs file."""
    outputs_file = outputs_file or _local_outputs()
    if stack_name:
        session = boto3.session.Session()
        try:
            stacks = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
        except (BotoCoreError, ClientError) as error:
            raise NoStack(f"cannot read stack {stack_name}: {error}") from error
        outputs = {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}
        parameters = {item["ParameterKey"]: item.get("ParameterValue", "") for item in stacks[0].get("Parameters", [])}
        return Target(outputs, session, None, parameters)
    if not outputs_file.exists():
        raise NoStack(
            f"no local stack is running ({outputs_file} is missing): start `make local`, or pass --stack-name"
        )
    return local_target(json.loads(outputs_file.read_text(encoding="utf-8")))


def local_target(outputs: dict[str, str]) -> Target:
    """The local stack from its outputs (the emulator's endpoint, region and operator credentials)."""
    # The emulator's own IAM user (it enforces identity policies): a developer's real keys never reach it.
    session = boto3.session.Session(
        aws_access_key_id=outputs.get("EmulatorAccessKeyId", "local"),
        aws_secret_access_key=outputs.get("EmulatorSecretAccessKey", "local"),
        region_name=outputs["Region"],
    )
    return Target(outputs, session, outputs["EmulatorEndpoint"])
