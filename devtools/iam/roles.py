"""Each function's IAM role as `sam deploy` creates it from template.yaml, and that role in the emulator.

The template goes through SAM's own translator (samtranslator, as `sam validate` and `sam deploy` run it), so a
role is what CloudFormation gets: an explicit `AWS::IAM::Role`, or the role SAM generates from a function's
`Policies` (statements, SAM policy templates such as DynamoDBCrudPolicy, managed policy names). Its documents
are then resolved against the stack's own resources (devtools/template.py), so every ARN is the one the
function's calls name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from devtools.template import Stack

Document = dict[str, Any]


@dataclass(frozen=True)
class Role:
    logical_id: str  # IngestRole, or SAM's <Function>Role
    name: str  # its physical name
    trust_policy: Document
    policies: dict[str, Document]  # name (an inline policy's, a managed policy's ARN) -> resolved document
    # Per policy, the template's index of each resolved statement (a statement under a false Fn::If is gone).
    origins: dict[str, list[int]]


def function_roles(stack: Stack) -> dict[str, Role]:
    """Function logical id -> its role, resolved in `stack` (which must be provisioned)."""
    resources = _translated(json.dumps(stack.template, sort_keys=True), stack.region)["Resources"]
    roles: dict[str, Role] = {}
    for function_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        role_arn = resource["Properties"]["Role"]
        if not (isinstance(role_arn, dict) and "Fn::GetAtt" in role_arn):
            raise ValueError(f"{function_id}: a role from outside the template ({role_arn}) cannot be checked")
        role_id = role_arn["Fn::GetAtt"][0]
        properties = resources[role_id]["Properties"]
        written = {policy["PolicyName"]: policy["PolicyDocument"] for policy in properties.get("Policies", [])}
        written.update(_policies_naming(resources, role_id))
        resolved = {name: _resolved(stack, document) for name, document in written.items()}
        policies = {name: document for name, (document, _) in resolved.items()}
        origins = {name: indexes for name, (_, indexes) in resolved.items()}
        for arn in properties.get("ManagedPolicyArns", []):
            document = _managed_policy(stack, resources, stack.resolve(arn))
            policies[as_text(arn)] = document
            origins[as_text(arn)] = list(range(len(_listed(document["Statement"]))))
        trust = stack.resolve(properties["AssumeRolePolicyDocument"])
        roles[function_id] = Role(role_id, stack.physical_name(role_id), trust, policies, origins)
    return roles


def _resolved(stack: Stack, document: Document) -> tuple[Document, list[int]]:
    """A policy document resolved in the stack, and the template's index of each statement it keeps."""
    statements: list[Any] = []
    origins: list[int] = []
    for index, statement in enumerate(_listed(document["Statement"])):
        kept = stack.resolve([statement])  # empty when the statement is an Fn::If's AWS::NoValue
        statements += kept
        origins += [index] * len(kept)
    return {"Version": document.get("Version", "2012-10-17"), "Statement": statements}, origins


def template_grants(template: dict[str, Any], region: str) -> dict[str, list[Grant]]:
    """Function logical id -> every grant its role's Allow statements make, as the template writes them."""
    resources = _translated(json.dumps(template, sort_keys=True), region)["Resources"]
    grants: dict[str, list[Grant]] = {}
    for function_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        role_id = resource["Properties"]["Role"]["Fn::GetAtt"][0]
        properties = resources[role_id]["Properties"]
        documents = {policy["PolicyName"]: policy["PolicyDocument"] for policy in properties.get("Policies", [])}
        documents.update(
            {as_text(arn): _template_managed(resources, arn) for arn in properties.get("ManagedPolicyArns", [])}
        )
        documents.update(_policies_naming(resources, role_id))
        grants[function_id] = [
            Grant(name, index, a, r, as_text(action), as_text(target), condition)
            for name, document in documents.items()
            for index, (statement, condition) in enumerate(map(_written, _listed(document["Statement"])))
            if statement.get("Effect") == "Allow"
            for a, action in enumerate(_listed(statement.get("Action", statement.get("NotAction"))))
            for r, target in enumerate(_listed(statement.get("Resource", statement.get("NotResource", "*"))))
        ]
    return grants


@dataclass(frozen=True)
class Grant:
    """One action on one resource entry of an Allow statement (`policy`, statement, entry indexes)."""

    policy: str
    statement: int
    action_index: int
    resource_index: int
    action: str
    resource: str  # as the template writes it: MessagesTable.Arn, ${MediaBucket.Arn}/media/*, *
    condition: str = ""  # the template Condition the statement is granted under (Fn::If), if any

    @property
    def key(self) -> tuple[str, int, int, int]:
        return (self.policy, self.statement, self.action_index, self.resource_index)


def _written(statement: Any) -> tuple[dict[str, Any], str]:
    """A statement as written, and the template condition it is under: `!If [C, statement, AWS::NoValue]`."""
    if isinstance(statement, dict) and "Fn::If" in statement:
        condition, when_true, _ = statement["Fn::If"]
        return (when_true if isinstance(when_true, dict) else {}), str(condition)
    return statement, ""


def _template_managed(resources: dict[str, Any], arn: Any) -> Document:
    """A managed policy's document as written: the template's own resource, or AWS's."""
    if isinstance(arn, dict) and "Ref" in arn and arn["Ref"] in resources:
        document: Document = resources[arn["Ref"]]["Properties"]["PolicyDocument"]
        return document
    return _aws_managed(as_text(arn).replace("${AWS::Partition}", "aws"))


def as_text(value: Any) -> str:
    """A template value as a reader writes it: MessagesTable.Arn, ${MediaBucket.Arn}/media/*, a parameter's name."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref":
            return str(argument)
        if key == "Fn::GetAtt":
            return ".".join(argument) if isinstance(argument, list) else str(argument)
        if key == "Fn::Sub":
            return str(argument if isinstance(argument, str) else argument[0])
    if isinstance(value, list):
        return ", ".join(as_text(item) for item in value)
    return value if isinstance(value, str) else json.dumps(value)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def customer_keys(stack: Stack) -> dict[str, str]:
    """Topic and queue ARNs -> the customer managed KMS key (ARN) the template encrypts them with."""
    keys: dict[str, str] = {}
    for logical_id, resource in stack.resources.items():
        key = resource.get("Properties", {}).get("KmsMasterKeyId")
        if key is None or logical_id not in stack.physical:
            continue
        key_arn = str(stack.resolve(key))
        if key_arn.startswith("alias/aws/"):
            continue
        if not key_arn.startswith("arn:"):
            key_arn = next(
                (attributes["Arn"] for attributes in stack.physical.values() if attributes.get("Ref") == key_arn),
                key_arn,
            )
        attributes = stack.physical[logical_id]
        keys[attributes.get("TopicArn") or attributes.get("Arn", "")] = key_arn
    return keys


@cache
def _translated(template_json: str, region: str) -> dict[str, Any]:
    """The template as SAM translates it (local CodeUri folders stand in as S3 locations, as `sam validate` does)."""
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    template = json.loads(template_json)
    for resource in template["Resources"].values():
        for key in ("CodeUri", "ContentUri"):
            if isinstance(resource.get("Properties", {}).get(key), str):
                resource["Properties"][key] = f"s3://local/{resource['Properties'][key]}"
    # No IAM to ask for managed policy names samtranslator does not bundle: an empty map.
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
    translated: dict[str, Any] = translator.translate(template, {}, get_managed_policy_map=dict)
    return translated


def _policies_naming(resources: dict[str, Any], role_id: str) -> dict[str, Document]:
    """AWS::IAM::Policy and AWS::IAM::ManagedPolicy resources that attach themselves to the role (`Roles`), as
    written."""
    return {
        logical_id: resource["Properties"]["PolicyDocument"]
        for logical_id, resource in resources.items()
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        and {"Ref": role_id} in resource["Properties"].get("Roles", [])
    }


def _managed_policy(stack: Stack, resources: dict[str, Any], arn: str) -> Document:
    """A managed policy's document: the template's own, or AWS's (moto ships AWS's managed policies)."""
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::IAM::ManagedPolicy" and stack.physical.get(logical_id, {}).get("Ref") == arn:
            document: Document = stack.resolve(resource["Properties"]["PolicyDocument"])
            return document
    return _aws_managed(arn)


def _aws_managed(arn: str) -> Document:
    name = arn.rsplit("/", 1)[-1]
    managed = _aws_managed_policies()
    if not arn.startswith("arn:aws:iam::aws:policy/") or name not in managed:
        raise ValueError(f"managed policy {arn} is neither the template's nor AWS's")
    document: Document = managed[name]["Document"]
    return document


@cache
def _aws_managed_policies() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    policies: dict[str, Any] = json.loads(aws_managed_policies_data)
    return policies
