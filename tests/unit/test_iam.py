"""The pieces that check each function's calls: AWS's evaluation logic, what AWS authorizes for a call, the
emulator's copy of a policy. Expected decisions are AWS's documented ones (IAM User Guide, "Policy evaluation
logic" and "Condition operators"; the Service Authorization Reference)."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.iam.local import emulator_policy
from devtools.iam.policy import Decision, UnsupportedCondition, decide
from devtools.iam.requests import Call, Request, UnknownRequest, requests, with_key_use

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/messages"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


@pytest.mark.parametrize(
    ("statements", "action", "resource", "decision"),
    [
        ([allow("dynamodb:PutItem", TABLE)], "dynamodb:PutItem", TABLE, Decision.ALLOWED),
        ([allow("dynamodb:PutItem", TABLE)], "dynamodb:PutItem", TABLE + "-other", Decision.IMPLICIT_DENY),
        ([allow("dynamodb:PutItem", TABLE)], "dynamodb:UpdateItem", TABLE, Decision.IMPLICIT_DENY),
        ([allow("DynamoDB:put*", TABLE)], "dynamodb:PutItem", TABLE, Decision.ALLOWED),  # actions: any case
        ([allow("dynamodb:Query", TABLE)], "dynamodb:Query", TABLE + "/index/ByNumber", Decision.IMPLICIT_DENY),
        ([allow("dynamodb:Query", TABLE + "/index/*")], "dynamodb:Query", TABLE + "/index/ByNumber", Decision.ALLOWED),
        ([allow("s3:GetObject", "arn:aws:s3:::b/media/*")], "s3:GetObject", "arn:aws:s3:::b/media/x", Decision.ALLOWED),
        (
            [allow("s3:GetObject", "arn:aws:s3:::b/Media/*")],
            "s3:GetObject",
            "arn:aws:s3:::b/media/x",
            Decision.IMPLICIT_DENY,
        ),
        ([allow("s3:GetObject", "arn:aws:s3:::b/m?dia/*")], "s3:GetObject", "arn:aws:s3:::b/media/x", Decision.ALLOWED),
        (
            [allow("*", "*"), {"Effect": "Deny", "Action": "dynamodb:*", "Resource": TABLE}],
            "dynamodb:PutItem",
            TABLE,
            Decision.EXPLICIT_DENY,
        ),
        ([{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}], "sns:Publish", "arn:x", Decision.ALLOWED),
        ([{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}], "iam:PassRole", "arn:x", Decision.IMPLICIT_DENY),
        (
            [{"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::b/*"}],
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            Decision.IMPLICIT_DENY,
        ),
    ],
)
def test_decisions_follow_aws_evaluation_logic(
    statements: list[dict[str, Any]], action: str, resource: str, decision: Decision
) -> None:
    assert decide([policy(*statements)], action, resource) is decision


@pytest.mark.parametrize(
    ("condition", "context", "allowed"),
    [
        ({"StringEquals": {"aws:SourceAccount": "123456789012"}}, {"aws:SourceAccount": "123456789012"}, True),
        ({"StringEquals": {"aws:SourceAccount": "123456789012"}}, {"aws:SourceAccount": "999999999999"}, False),
        ({"StringEquals": {"aws:SourceAccount": "123456789012"}}, {}, False),  # a missing key fails a positive one
        ({"StringNotEquals": {"aws:SourceAccount": "123456789012"}}, {}, True),  # and passes a negated one
        ({"StringEqualsIfExists": {"aws:SourceAccount": "1"}}, {}, True),
        (
            {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:*:*:topic"}},
            {"aws:SourceArn": "arn:aws:sns:us-east-1:1:topic"},
            True,
        ),
        ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "true"}, False),
        ({"Null": {"aws:SecureTransport": "true"}}, {}, True),
        ({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "5"}, True),
        ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "10.1.2.3"}, True),
        ({"ForAllValues:StringEquals": {"k": ["a", "b"]}}, {"k": ["a", "c"]}, False),
        ({"ForAnyValue:StringEquals": {"k": ["a", "b"]}}, {"k": ["a", "c"]}, True),
        (
            {"StringLike": {"s3:prefix": "media/${aws:username}/*"}},
            {"s3:prefix": "media/ann/x", "aws:username": "ann"},
            True,
        ),
    ],
)
def test_conditions_follow_aws_operators(condition: dict[str, Any], context: dict[str, Any], allowed: bool) -> None:
    decision = decide([policy(allow("s3:ListBucket", "*", Condition=condition))], "s3:ListBucket", "arn:b", context)
    assert (decision is Decision.ALLOWED) is allowed


def test_an_unknown_condition_operator_is_an_error_not_a_match() -> None:
    statement = allow("s3:ListBucket", "*", Condition={"StringSortOf": {"k": "v"}})
    with pytest.raises(UnsupportedCondition):
        decide([policy(statement)], "s3:ListBucket", "arn:b", {"k": "v"})


def authorized(service: str, operation: str, **params: Any) -> list[Request]:
    return requests(Call(service, operation, params, "us-east-1", "123456789012"))


def call(service: str, operation: str, **params: Any) -> list[tuple[str, str]]:
    return [(request.action, request.resource) for request in authorized(service, operation, **params)]


def test_batch_calls_are_authorized_as_their_items() -> None:
    queue = "https://sqs.us-east-1.amazonaws.com/123456789012/q"
    assert call(
        "sns", "PublishBatch", TopicArn="arn:aws:sns:us-east-1:123456789012:t", PublishBatchRequestEntries=[]
    ) == [("sns:Publish", "arn:aws:sns:us-east-1:123456789012:t")]
    assert call("sqs", "SendMessageBatch", QueueUrl=queue, Entries=[]) == [
        ("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:q")
    ]
    items = [{"Put": {"TableName": "messages"}}, {"Update": {"TableName": "optouts"}}]
    assert call("dynamodb", "TransactWriteItems", TransactItems=items) == [
        ("dynamodb:PutItem", TABLE),
        ("dynamodb:UpdateItem", "arn:aws:dynamodb:us-east-1:123456789012:table/optouts"),
    ]


def test_resources_are_the_ones_aws_checks() -> None:
    assert call("dynamodb", "Query", TableName="messages", IndexName="ByNumber") == [
        ("dynamodb:Query", TABLE + "/index/ByNumber")
    ]
    assert call("s3", "HeadObject", Bucket="b", Key="media/SM1/0.jpg") == [
        ("s3:GetObject", "arn:aws:s3:::b/media/SM1/0.jpg")
    ]
    assert call("s3", "HeadBucket", Bucket="b") == [("s3:ListBucket", "arn:aws:s3:::b")]
    iterator = TABLE + "/stream/2026-01-01T00:00:00.000|1|AAAA"
    assert call("dynamodbstreams", "GetRecords", ShardIterator=iterator) == [
        ("dynamodb:GetRecords", TABLE + "/stream/2026-01-01T00:00:00.000")
    ]
    assert call("dynamodbstreams", "ListStreams") == [("dynamodb:ListStreams", "*")]
    assert call("monitoring", "PutMetricData", Namespace="n", MetricData=[]) == [("cloudwatch:PutMetricData", "*")]


def test_a_call_aws_catalogue_does_not_know_is_an_error() -> None:
    with pytest.raises(UnknownRequest, match="s3:RestoreEverything is not an IAM action"):
        call("s3", "RestoreEverything", Bucket="b")


def test_the_emulators_copy_grants_what_moto_checks_under_other_names() -> None:
    document = policy(
        allow("sns:Publish", "arn:aws:sns:us-east-1:123456789012:t"),
        allow(["sqs:SendMessage", "dynamodb:PutItem"], ["arn:aws:sqs:us-east-1:123456789012:q", TABLE]),
    )
    statements = emulator_policy(document)["Statement"]
    assert {"Effect": "Allow", "Action": ["sns:Publish", "sns:PublishBatch"], "Resource": "*"} in statements
    assert {
        "Effect": "Allow",
        "Action": ["sqs:SendMessage", "sqs:SendMessageBatch"],
        "Resource": ["arn:aws:sqs:us-east-1:123456789012:q", TABLE],
    } in statements
    assert {
        "Effect": "Allow",
        "Action": ["dynamodb:PutItem", "dynamodb:TransactWriteItems"],
        "Resource": "*",
    } in statements


def test_a_topic_encrypted_with_a_customer_key_needs_the_key_too() -> None:
    topic, key = "arn:aws:sns:us-east-1:123456789012:alarms", "arn:aws:kms:us-east-1:123456789012:key/k"
    published = authorized("sns", "Publish", TopicArn=topic, Message="m")
    assert with_key_use(published, {topic: key}) == [
        Request("sns:Publish", topic),
        Request("kms:GenerateDataKey", key),
        Request("kms:Decrypt", key),
    ]
    assert with_key_use(published, {}) == published  # an AWS managed key (alias/aws/sns): nothing more


def test_put_events_is_authorized_per_bus_with_its_source_for_the_roles_condition() -> None:
    bus = "arn:aws:events:us-east-1:123456789012:event-bus/messages"
    entries = [{"EventBusName": bus, "Source": "twilio-inbound", "DetailType": "t", "Detail": "{}"}] * 2
    (request,) = authorized("events", "PutEvents", Entries=entries)
    assert (request.action, request.resource, dict(request.context)["events:source"]) == (
        "events:PutEvents",
        bus,
        "twilio-inbound",
    )
    only_ours = allow("events:PutEvents", bus, Condition={"StringEquals": {"events:source": "twilio-inbound"}})
    assert decide([policy(only_ours)], request.action, request.resource, dict(request.context)) is Decision.ALLOWED
    other = authorized("events", "PutEvents", Entries=[{**entries[0], "Source": "someone-else"}])[0]
    assert decide([policy(only_ours)], other.action, other.resource, dict(other.context)) is Decision.IMPLICIT_DENY
