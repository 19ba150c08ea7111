"""Which stack a command talks to: a deployed one (by stack name) or the running local stack."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from devtools.template import ROOT

LOCAL_OUTPUTS = ROOT / ".local" / "stack-outputs.json"


class NoStack(SystemExit):
    pass


@dataclass
class Target:
    outputs: dict[str, str]
    session: boto3.session.Session
    endpoint_url: str | None  # the emulator, for the local stack

    def client(self, service: Any) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint_url)

    def output(self, key: str) -> str:
        if key not in self.outputs:
            raise NoStack(f"the stack has no output {key}")
        return self.outputs[key]


def resolve(stack_name: str | None, outputs_file: Path | None = None) -> Target:
    """A deployed stack's Outputs (CloudFormation, your AWS credentials), else the local stack's outputs file."""
    outputs_file = outputs_file or LOCAL_OUTPUTS
    if stack_name:
        session = boto3.session.Session()
        stacks = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
        outputs = {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}
        return Target(outputs, session, None)
    if not outputs_file.exists():
        raise NoStack(
            f"no local stack is running ({outputs_file} is missing): start `make local`, or pass --stack-name"
        )
    outputs = json.loads(outputs_file.read_text(encoding="utf-8"))
    # The emulator accepts any credentials; these keep a developer's real ones out of local calls.
    session = boto3.session.Session(
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 (the emulator's, not a secret)  # nosec B106
        region_name=outputs["Region"],
    )
    return Target(outputs, session, outputs["EmulatorEndpoint"])


def subscribe_queue(
    sqs: Any, sns: Any, topic_arn: str, queue_name: str, filter_policy: dict[str, Any] | None = None
) -> tuple[str, str]:
    """A queue of a downstream service on the topic, as the README tells subscribers to set one up: raw
    delivery, and a queue policy that admits only this topic. Returns (queue URL, subscription ARN)."""
    url = str(sqs.create_queue(QueueName=queue_name)["QueueUrl"])
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    attributes = {"RawMessageDelivery": "true"}
    if filter_policy:
        attributes["FilterPolicy"] = json.dumps(filter_policy)
    subscription = sns.subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes, ReturnSubscriptionArn=True
    )["SubscriptionArn"]
    return url, str(subscription)
