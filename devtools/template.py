"""Creates template.yaml's own resources in an AWS emulator (moto), so local runs and tests cannot drift
from what `sam deploy` creates.

Reads the template's tables, topics, queues, queue policies, subscriptions, buckets, bucket policies, managed
policies, log groups, alarms, dashboard and key, and its EventBridge bus, archive, rules, connections and API
destinations, and creates them with the same properties (skipping resources whose Condition is false); resolves Ref
(AWS::NoValue too), GetAtt, Sub, If, Equals, Not, Select and Split; and describes each function (handler, code
folder, environment, event sources) for the local stack to run. Functions and the HTTP API are served in process,
and the EventBridge schema registry is not emulated (moto has no `schemas` service): here they only have names.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3

from devtools.lambda_context import ACCOUNT_ID

ROOT = Path(__file__).resolve().parent.parent
# TWILIO_INBOUND_TEMPLATE: another template (a copy with a permission taken away, tests/unit/test_roles.py).
TEMPLATE_PATH = Path(os.environ.get("TWILIO_INBOUND_TEMPLATE") or ROOT / "template.yaml")
# Called with every stack provisioned in this process (the test suite checks each function's calls against its
# role in these: tests/iam_check.py).
ON_PROVISION: list[Callable[[Stack], None]] = []
# What `Ref: AWS::NoValue` resolves to: the property or list item is left out, as CloudFormation does.
_NO_VALUE = object()


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The template as cfn-lint reads it: short tags in their long form (!GetAtt A.B -> {"Fn::GetAtt": ["A", "B"]}).

    Mappings and strings are cfn-lint's dict and str subclasses (they remember their line): json and == see
    plain dicts and strings.
    """
    from cfnlint.decode import cfn_yaml  # half a second to import: only when a template is read

    document: dict[str, Any] = cfn_yaml.load(str(path))
    return document


def refers_to_resource(value: Any, resources: dict[str, Any]) -> bool:
    """Whether a template value names one of the resources (Ref, GetAtt, or ${X} / ${X.Attr} in a Sub):
    outside CloudFormation (sam local) such a value is only the logical id, or nothing."""
    if isinstance(value, list):
        return any(refers_to_resource(item, resources) for item in value)
    if not isinstance(value, dict):
        return False
    if "Ref" in value:
        return value["Ref"] in resources
    if "Fn::GetAtt" in value:
        return value["Fn::GetAtt"][0] in resources
    if "Fn::Sub" in value:
        text, variables = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
        named = {match.split(".")[0] for match in re.findall(r"\$\{([^!}][^}]*)\}", text)} - set(variables)
        return bool(named & set(resources)) or refers_to_resource(list(variables.values()), resources)
    return any(refers_to_resource(item, resources) for item in value.values())


@dataclass
class EventSource:
    kind: str  # "DynamoDB" or "SQS"
    arn: str
    properties: dict[str, Any]


@dataclass
class FunctionSpec:
    logical_id: str
    handler: str  # module.function, as in the template
    code_dir: Path
    environment: dict[str, str]
    events: list[EventSource] = field(default_factory=list)
    routes: list[str] = field(default_factory=list)  # the paths of its HttpApi events
    timeout: float = 3.0  # seconds, as Lambda gives it (Timeout, else Globals, else Lambda's default)


class Stack:
    """The template's resources, created in the emulator the session points at."""

    def __init__(
        self,
        session: boto3.session.Session,
        stack_name: str = "twilio-inbound-local",
        parameters: dict[str, str] | None = None,
        template: dict[str, Any] | None = None,
    ) -> None:
        self.session = session
        self.stack_name = stack_name
        self.template = template or load_template()
        self.region = session.region_name or "us-east-1"
        self.resources: dict[str, dict[str, Any]] = self.template["Resources"]
        self.parameters = {
            name: str(spec.get("Default", "")) for name, spec in self.template.get("Parameters", {}).items()
        }
        self.parameters.update(parameters or {})
        self.physical: dict[str, dict[str, str]] = {}  # logical id -> {"Ref": ..., "Arn": ..., ...}

    @cached_property
    def logs(self) -> Any:
        """One client for every log group (as for alarms)."""
        return self.session.client("logs")

    @cached_property
    def cloudwatch(self) -> Any:
        """One client for every alarm: creating a client costs more than creating an alarm in moto."""
        return self.session.client("cloudwatch")

    # ------------------------------------------------------------------ intrinsic functions
    def _condition(self, name: str | None) -> bool:
        """A resource's Condition (no Condition: always created)."""
        return name is None or bool(self.resolve(self.template["Conditions"][name]))

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self.resolve(item) for item in value) if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            intrinsic = _INTRINSICS.get(key)
            if intrinsic is not None:
                return intrinsic(self, argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}

    def _get_att(self, argument: list[str]) -> str:
        logical_id, attribute = argument
        return self.create(logical_id)[attribute]

    def _if(self, argument: list[Any]) -> Any:
        condition, when_true, when_false = argument
        return self.resolve(when_true if self._condition(condition) else when_false)

    def _equals(self, argument: list[Any]) -> bool:
        left, right = self.resolve(argument)
        return str(left) == str(right)

    def _not(self, argument: list[Any]) -> bool:
        return not self.resolve(argument[0])

    def _select(self, argument: list[Any]) -> Any:
        index, items = argument
        return self.resolve(items)[int(self.resolve(index))]

    def _split(self, argument: list[Any]) -> list[str]:
        delimiter, text = argument
        return str(self.resolve(text)).split(delimiter)

    def _pseudo(self) -> dict[str, str]:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": self.stack_name,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::Partition": "aws",
        }

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.parameters:
            if self.template["Parameters"].get(name, {}).get("Type") == "CommaDelimitedList":
                return [item.strip() for item in self.parameters[name].split(",")]
            return self.parameters[name]
        if name in self._pseudo():
            return self._pseudo()[name]
        return self.create(name)["Ref"]

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        result = str(text)
        for name, value in variables.items():
            result = result.replace("${" + name + "}", str(self.resolve(value)))
        while "${" in result:
            start = result.index("${")
            end = result.index("}", start)
            name = result[start + 2 : end]
            logical_id, _, attribute = name.partition(".")
            replacement = self.create(logical_id)[attribute] if attribute else str(self._ref(logical_id))
            result = result[:start] + replacement + result[end + 1 :]
        return result

    # ------------------------------------------------------------------ resources
    def physical_name(self, logical_id: str) -> str:
        return f"{self.stack_name}-{logical_id}"

    def create(self, logical_id: str) -> dict[str, str]:
        """Creates the resource (and what it refers to) once; returns its Ref and attributes."""
        if logical_id in self.physical:
            return self.physical[logical_id]
        resource = self.resources[logical_id]
        if resource["Type"] in _SERVED_IN_PROCESS:
            self.physical[logical_id] = _served_in_process(self, logical_id, resource["Type"])
            return self.physical[logical_id]
        creator = _CREATORS.get(resource["Type"]) or _WHEN_NAMED.get(resource["Type"])
        if creator is None:
            raise KeyError(f"{logical_id}: {resource['Type']} is not created locally")
        self.physical[logical_id] = creator(self, logical_id, self.resolve(resource.get("Properties", {})))
        return self.physical[logical_id]

    def provision(self) -> Stack:
        for logical_id, resource in self.resources.items():
            if resource["Type"] in _CREATORS and self._condition(resource.get("Condition")):
                self.create(logical_id)
        for observer in ON_PROVISION:
            observer(self)
        return self

    def outputs(self) -> dict[str, str]:
        return {
            name: str(self.resolve(spec["Value"]))
            for name, spec in self.template.get("Outputs", {}).items()
            if self._condition(spec.get("Condition"))
        }

    def functions(self) -> dict[str, FunctionSpec]:
        globals_ = self.template.get("Globals", {}).get("Function", {})
        base_env = globals_.get("Environment", {}).get("Variables", {})
        specs = {}
        for logical_id, resource in self.resources.items():
            if resource["Type"] != "AWS::Serverless::Function":
                continue
            properties = resource["Properties"]
            variables = {**base_env, **properties.get("Environment", {}).get("Variables", {})}
            events = [
                EventSource(event["Type"], self._event_arn(event), self.resolve(event.get("Properties", {})))
                for event in properties.get("Events", {}).values()
                if event["Type"] in ("DynamoDB", "SQS")
            ]
            specs[logical_id] = FunctionSpec(
                logical_id=logical_id,
                handler=properties["Handler"],
                code_dir=ROOT / properties["CodeUri"],
                environment={name: str(self.resolve(value)) for name, value in variables.items()},
                events=events,
                routes=[
                    str(event["Properties"]["Path"])
                    for event in properties.get("Events", {}).values()
                    if event["Type"] == "HttpApi"
                ],
                timeout=float(properties.get("Timeout", globals_.get("Timeout", 3))),
            )
        return specs

    def _event_arn(self, event: dict[str, Any]) -> str:
        properties = event["Properties"]
        return str(self.resolve(properties["Stream"] if event["Type"] == "DynamoDB" else properties["Queue"]))


# The intrinsic functions the template uses, by their long name.
_INTRINSICS: dict[str, Callable[[Stack, Any], Any]] = {
    "Ref": Stack._ref,
    "Fn::GetAtt": Stack._get_att,
    "Fn::Sub": Stack._sub,
    "Fn::If": Stack._if,
    "Fn::Equals": Stack._equals,
    "Fn::Not": Stack._not,
    "Fn::Select": Stack._select,
    "Fn::Split": Stack._split,
    "Condition": Stack._condition,
}


# ---------------------------------------------------------------------- one creator per resource type
def _create_table(stack: Stack, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
    client = stack.session.client("dynamodb")
    name = properties.get("TableName") or stack.physical_name(logical_id)
    arguments: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": properties.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if "GlobalSecondaryIndexes" in properties:
        arguments["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
    if "StreamSpecification" in properties:
        arguments["StreamSpecification"] = {"StreamEnabled": True, **properties["StreamSpecification"]}
    if "SSESpecification" in properties:
        arguments["SSESpecification"] = {"Enabled": properties["SSESpecification"]["SSEEnabled"]}
    description = client.create_table(**arguments)["TableDescription"]
    ttl = properties.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    return {"Ref": name, "Arn": description["TableArn"], "StreamArn": description.get("LatestStreamArn", "")}


def _create_topic(stack: Stack, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
    name = properties.get("TopicName") or stack.physical_name(logical_id)
    attributes = {"KmsMasterKeyId": properties["KmsMasterKeyId"]} if "KmsMasterKeyId" in properties else {}
    arn = stack.session.client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
    return {"Ref": arn, "TopicArn": arn, "TopicName": name}


_QUEUE_ATTRIBUTES = ("VisibilityTimeout", "MessageRetentionPeriod", "SqsManagedSseEnabled", "DelaySeconds")


def _create_queue(stack: Stack, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
    client = stack.session.client("sqs")
    name = properties.get("QueueName") or stack.physical_name(logical_id)
    attributes: dict[Any, str] = {
        key: str(properties[key]).lower() if isinstance(properties[key], bool) else str(properties[key])
        for key in _QUEUE_ATTRIBUTES
        if key in properties
    }
    if "RedrivePolicy" in properties:
        attributes["RedrivePolicy"] = json.dumps(properties["RedrivePolicy"])
    url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return {"Ref": url, "Arn": arn, "QueueName": name, "QueueUrl": url}


def _create_queue_policy(stack: Stack, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
    client = stack.session.client("sqs")
    for url in properties["Queues"]:
        client.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(properties["PolicyDocument"])})
    return {"Ref": stack.physical_name(logical_id)}


def _create_subscription(stack: Stack, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
    attributes: dict[Any, str] = {}
    for key in ("RawMessageDelivery", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy"):
        if key in properties:
            value = properties[key]
            attributes[key] = json.dumps(value) if isinstance(value, dict) else str(value).lower()
    arn = stack.session.client("sns").subscribe(
        TopicArn=properties["TopicArn"],
        Protocol=properties["Protocol"],
        Endpoint=properties["Endpoint"],
        Attributes=attributes,
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    return {"Ref": arn}


def _create_key(stack: Stack, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
    client = stack.session.client("kms")
    metadata = client.create_key(
        Description=properties.get("Description", logical_id),
        Policy=json.dumps(properties["KeyPolicy"]),
        Tags=[{"TagKey": tag["Key"], "TagValue": tag["Value"]} for tag in properties.get("Tags", [])],
    )["KeyMetadata"]
    if properties.get("EnableKeyRotation"):
        client.enable_key_rotation(KeyId=metadata["KeyId"])
    return {"Ref": metadata["KeyId"], "Arn": metadata["Arn"], "KeyId": metadata["KeyId"]}


def _create_alarm(stack: Stack, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
    name = properties.pop("AlarmName", None) or stack.physical_name(logical_id)
    stack.cloudwatch.put_metric_alarm(AlarmName=name, **properties)  # CloudFormation's names are the API's
    return {"Ref": name, "Arn": f"arn:aws:cloudwatch:{stack.region}:{ACCOUNT_ID}:alarm:{name}"}


def _create_dashboard(stack: Stack, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
    name = properties.get("DashboardName") or stack.physical_name(logical_id)
    stack.cloudwatch.put_dashboard(DashboardName=name, DashboardBody=properties["DashboardBody"])
    return {"Ref": name}


_SERVED_IN_PROCESS = (
    "AWS::Serverless::Function",
    "AWS::Serverless::HttpApi",
    "AWS::EventSchemas::Registry",
    "AWS::EventSchemas::Schema",
)


def _served_in_process(stack: Stack, logical_id: str, kind: str) -> dict[str, str]:
    """Names only: functions run in process under their logical id (the local context's function name), the
    local stack serves the HTTP API itself, and nothing stands in for the schema registry."""
    if kind == "AWS::Serverless::HttpApi":
        return {"Ref": "local"}
    if kind.startswith("AWS::EventSchemas::"):
        name = stack.physical_name(logical_id)
        return {"Ref": name, "RegistryName": name, "SchemaName": name}
    return {"Ref": logical_id, "Arn": f"arn:aws:lambda:{stack.region}:{ACCOUNT_ID}:function:{logical_id}"}


def _create_bucket(stack: Stack, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
    """The bucket with the template's encryption, public access block, ownership, versioning and lifecycle."""
    client = stack.session.client("s3")
    name = properties.get("BucketName") or stack.physical_name(logical_id).lower()
    client.create_bucket(Bucket=name)
    if "BucketEncryption" in properties:
        rules: list[Any] = [
            {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
            for rule in properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]
        client.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if "PublicAccessBlockConfiguration" in properties:
        client.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=properties["PublicAccessBlockConfiguration"]
        )
    if "OwnershipControls" in properties:
        client.put_bucket_ownership_controls(Bucket=name, OwnershipControls=properties["OwnershipControls"])
    if "VersioningConfiguration" in properties:
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration=properties["VersioningConfiguration"])
    if "LifecycleConfiguration" in properties:
        lifecycle: list[Any] = [_lifecycle_rule(rule) for rule in properties["LifecycleConfiguration"]["Rules"]]
        client.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": lifecycle})
    arn = f"arn:aws:s3:::{name}"
    return {"Ref": name, "Arn": arn, "DomainName": f"{name}.s3.amazonaws.com"}


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation lifecycle rule in the S3 API's shape."""
    api: dict[str, Any] = {"ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
    if "ExpirationInDays" in rule:
        api["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    elif rule.get("ExpiredObjectDeleteMarker"):
        api["Expiration"] = {"ExpiredObjectDeleteMarker": True}
    if "NoncurrentVersionExpiration" in rule:
        api["NoncurrentVersionExpiration"] = {
            "NoncurrentDays": int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])
        }
    if "AbortIncompleteMultipartUpload" in rule:
        days = int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        api["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
    return api


def _create_bucket_policy(stack: Stack, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
    """The policy without its conditioned statements: moto enforces bucket policies but ignores conditions
    (moto's put_bucket_policy: "Conditions are not taken into account"), so the TLS-only Deny would refuse every
    request, and the emulator speaks plain HTTP anyway. tests/unit/test_template.py checks those statements."""
    document = properties["PolicyDocument"]
    statements = [statement for statement in document["Statement"] if "Condition" not in statement]
    if statements:
        stack.session.client("s3").put_bucket_policy(
            Bucket=properties["Bucket"], Policy=json.dumps({**document, "Statement": statements})
        )
    return {"Ref": stack.physical_name(logical_id)}


def _create_managed_policy(stack: Stack, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
    arn = stack.session.client("iam").create_policy(
        PolicyName=stack.physical_name(logical_id),
        PolicyDocument=json.dumps(properties["PolicyDocument"]),
        Description=properties.get("Description", ""),
    )["Policy"]["Arn"]
    return {"Ref": arn, "PolicyArn": arn}


def _create_log_group(stack: Stack, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
    """The group the function's role lets Lambda write to (its Arn, as CloudFormation gives it, ends in :*)."""
    name = properties.get("LogGroupName") or stack.physical_name(logical_id)
    stack.logs.create_log_group(logGroupName=name)
    return {"Ref": name, "Arn": f"arn:aws:logs:{stack.region}:{ACCOUNT_ID}:log-group:{name}:*"}


# ---------------------------------------------------------------------- EventBridge
def _create_event_bus(stack: Stack, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
    client = stack.session.client("events")
    name = properties["Name"]
    arn = client.create_event_bus(Name=name, Tags=properties.get("Tags", []))["EventBusArn"]
    return {"Ref": name, "Arn": arn, "Name": name}


def _create_archive(stack: Stack, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
    name = properties.get("ArchiveName") or stack.physical_name(logical_id)[-48:]  # EventBridge's limit
    arn = stack.session.client("events").create_archive(
        ArchiveName=name,
        EventSourceArn=properties["SourceArn"],
        Description=properties.get("Description", ""),
        EventPattern=json.dumps(properties["EventPattern"]),
        RetentionDays=int(properties.get("RetentionDays", 0)),
    )["ArchiveArn"]
    return {"Ref": name, "Arn": arn, "ArchiveName": name}


def _create_rule(stack: Stack, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
    """The rule and its targets; its Ref is CloudFormation's: `bus|rule` on a custom bus."""
    client = stack.session.client("events")
    name = properties.get("Name") or stack.physical_name(logical_id)[:64]
    bus = properties.get("EventBusName", "default")
    arn = client.put_rule(
        Name=name,
        EventBusName=bus,
        EventPattern=json.dumps(properties["EventPattern"]),
        State=properties.get("State", "ENABLED"),
        Description=properties.get("Description", ""),
    )["RuleArn"]
    targets: list[Any] = [_target(target) for target in properties.get("Targets", [])]
    if targets:
        client.put_targets(Rule=name, EventBusName=bus, Targets=targets)
    return {"Ref": name if bus == "default" else f"{bus}|{name}", "Arn": arn}


def _target(target: dict[str, Any]) -> dict[str, Any]:
    """A rule's target with its numbers as numbers (a Number parameter resolves to text, which CloudFormation
    converts)."""
    retry = target.get("RetryPolicy")
    return {**target, "RetryPolicy": {key: int(value) for key, value in retry.items()}} if retry else target


def _create_connection(stack: Stack, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
    name = properties.get("Name") or stack.physical_name(logical_id)[:64]
    connection = stack.session.client("events").create_connection(
        Name=name,
        AuthorizationType=properties["AuthorizationType"],
        AuthParameters=properties["AuthParameters"],
        Description=properties.get("Description", ""),
    )
    return {"Ref": name, "Arn": connection["ConnectionArn"]}


def _create_api_destination(stack: Stack, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
    name = properties.get("Name") or stack.physical_name(logical_id)[:64]
    destination = stack.session.client("events").create_api_destination(
        Name=name,
        ConnectionArn=properties["ConnectionArn"],
        InvocationEndpoint=properties["InvocationEndpoint"],
        HttpMethod=properties["HttpMethod"],
        InvocationRateLimitPerSecond=int(properties.get("InvocationRateLimitPerSecond", 300)),
        Description=properties.get("Description", ""),
    )
    return {"Ref": name, "Arn": destination["ApiDestinationArn"]}


def _create_role(stack: Stack, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
    """The role with its inline policies."""
    client = stack.session.client("iam")
    name = properties.get("RoleName") or stack.physical_name(logical_id)[:64]
    arn = client.create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(properties["AssumeRolePolicyDocument"])
    )["Role"]["Arn"]
    for policy in properties.get("Policies", []):
        client.put_role_policy(
            RoleName=name, PolicyName=policy["PolicyName"], PolicyDocument=json.dumps(policy["PolicyDocument"])
        )
    return {"Ref": name, "Arn": arn, "RoleId": name}


_CREATORS = {
    "AWS::Logs::LogGroup": _create_log_group,
    "AWS::Events::EventBus": _create_event_bus,
    "AWS::Events::Archive": _create_archive,
    "AWS::Events::Rule": _create_rule,
    "AWS::Events::Connection": _create_connection,
    "AWS::Events::ApiDestination": _create_api_destination,
    "AWS::S3::Bucket": _create_bucket,
    "AWS::S3::BucketPolicy": _create_bucket_policy,
    "AWS::IAM::ManagedPolicy": _create_managed_policy,
    "AWS::DynamoDB::Table": _create_table,
    "AWS::SNS::Topic": _create_topic,
    "AWS::SQS::Queue": _create_queue,
    "AWS::SQS::QueuePolicy": _create_queue_policy,
    "AWS::SNS::Subscription": _create_subscription,
    "AWS::KMS::Key": _create_key,
    "AWS::CloudWatch::Alarm": _create_alarm,
    "AWS::CloudWatch::Dashboard": _create_dashboard,
}
# Created only when another resource names them: an EventBridge target's role (the functions' roles name log
# groups, which the local stack does not create).
_WHEN_NAMED = {"AWS::IAM::Role": _create_role}
