"""Each function's environment as template.yaml gives it, with made-up resource names and fake credentials.

Derived from the template (not hand-written) so a variable added there reaches the benchmark too.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace

import boto3

from bench.fakeaws import SECRET_ENV
from devtools.lambda_context import ACCOUNT_ID
from devtools.template import Stack
from twilio_inbound_cli.signing import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN

REGION = "us-east-1"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:twilio-inbound/auth-token-AbCdEf"
# What Lambda and the tests set; never real credentials.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",  # fake, for the emulator  # nosec B105
    "AWS_SESSION_TOKEN": "bench",  # fake, for the emulator  # nosec B105
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "AWS_EC2_METADATA_DISABLED": "true",
    # The stack's secret as a deployed stack that sends holds it: the token the events are signed with, and the
    # account the sender and reconcile act on.
    SECRET_ENV: json.dumps({"primary": TEST_AUTH_TOKEN, "accountSid": TEST_ACCOUNT_SID}),
}
# Variables of this shell that would change what the SDK or the functions do.
_DROPPED_PREFIXES = ("AWS_", "POWERTOOLS_", "BENCH_")


class _OfflineStack(Stack):
    """The template's intrinsic functions resolved against made-up physical resources (no emulator)."""

    def create(self, logical_id: str) -> dict[str, str]:
        kind = self.resources[logical_id]["Type"]
        name = self.physical_name(logical_id)
        arn = f"arn:aws:{kind.split('::')[1].lower()}:{self.region}:{ACCOUNT_ID}:{name}"
        if kind == "AWS::DynamoDB::Table":
            arn = f"arn:aws:dynamodb:{self.region}:{ACCOUNT_ID}:table/{name}"
            return {"Ref": name, "Arn": arn, "StreamArn": f"{arn}/stream/2026-01-01T00:00:00.000"}
        if kind == "AWS::SNS::Topic":
            arn = f"arn:aws:sns:{self.region}:{ACCOUNT_ID}:{name}"
            return {"Ref": arn, "TopicArn": arn, "TopicName": name}
        if kind == "AWS::SQS::Queue":
            url = f"https://sqs.{self.region}.amazonaws.com/{ACCOUNT_ID}/{name}"
            return {"Ref": url, "Arn": f"arn:aws:sqs:{self.region}:{ACCOUNT_ID}:{name}", "QueueUrl": url}
        return {"Ref": name, "Arn": arn}


@dataclass(frozen=True)
class Deployed:
    handler: str  # module.function, as in the template
    environment: dict[str, str]  # the whole process environment

    @property
    def module(self) -> str:
        return self.handler.rpartition(".")[0]

    def with_environment(self, extra: dict[str, str]) -> Deployed:
        return replace(self, environment={**self.environment, **extra})


def deployed_functions() -> dict[str, Deployed]:
    """Logical id -> handler and process environment: the template's variables with deployed settings
    (the token from Secrets Manager), over this shell's environment minus anything AWS- or bench-related."""
    session = boto3.session.Session(region_name=REGION)
    stack = _OfflineStack(session, stack_name="bench", parameters={"TwilioAuthTokenSecretArn": SECRET_ARN})
    base = {name: value for name, value in os.environ.items() if not name.startswith(_DROPPED_PREFIXES)}
    return {
        logical_id: Deployed(spec.handler, {**base, **AWS_ENV, **spec.environment})
        for logical_id, spec in stack.functions().items()
    }
