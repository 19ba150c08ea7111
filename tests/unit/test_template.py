"""The template's promises: least privilege, encryption, no silent loss, what other stacks need."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.template import load_template

TEMPLATE = load_template()
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]


def of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {name: resource for name, resource in RESOURCES.items() if resource["Type"] == kind}


FUNCTIONS = of_type("AWS::Serverless::Function")


# The only actions AWS offers no resource-level permission for.
RESOURCELESS_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "dynamodb:ListStreams"}


def branches(statement: dict[str, Any]) -> list[dict[str, Any]]:
    """A statement, or both branches of a conditional one (!If [Condition, statement, AWS::NoValue])."""
    if "Fn::If" not in statement:
        return [statement]
    return [branch for branch in statement["Fn::If"][1:] if branch != {"Ref": "AWS::NoValue"}]


def statements() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for role in of_type("AWS::IAM::Role").values():
        for policy in role["Properties"]["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                found += branches(statement)
    return found


def test_every_function_has_its_own_explicit_role() -> None:
    # SAM's generated roles attach AWS managed policies whose resource is "*"
    roles = [function["Properties"]["Role"] for function in FUNCTIONS.values()]
    assert len({role["Fn::GetAtt"][0] for role in roles}) == len(FUNCTIONS)
    assert all("Policies" not in function["Properties"] for function in FUNCTIONS.values())


def test_no_wildcard_actions_and_no_wildcard_resources_beyond_what_aws_requires() -> None:
    assert statements()
    for statement in statements():
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in action for action in actions), statement
        if statement["Resource"] == "*":
            assert set(actions) <= RESOURCELESS_ACTIONS, statement


def test_globals_pin_runtime_and_architecture() -> None:
    function_globals = TEMPLATE["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Architectures"] == ["arm64"]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_logs_to_its_own_group_with_retention(name: str) -> None:
    group = FUNCTIONS[name]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    assert RESOURCES[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_storage_is_encrypted_recoverable_and_streams_new_images() -> None:
    table = RESOURCES["MessagesTable"]
    assert table["DeletionPolicy"] == "Retain"
    properties = table["Properties"]
    assert properties["SSESpecification"]["SSEEnabled"] is True
    assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert properties["StreamSpecification"]["StreamViewType"] == "NEW_IMAGE"
    assert {index["IndexName"] for index in properties["GlobalSecondaryIndexes"]} == {"ByNumber", "ByConversation"}
    assert RESOURCES["MessagesTopic"]["Properties"]["KmsMasterKeyId"]
    for name, queue in of_type("AWS::SQS::Queue").items():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True, name


def test_nothing_is_dropped_silently() -> None:
    stream = FUNCTIONS["FanoutFunction"]["Properties"]["Events"]["Stream"]["Properties"]
    assert stream["BisectBatchOnFunctionError"] is True
    assert 0 < stream["MaximumRetryAttempts"] <= 10_000
    assert stream["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stream["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["FanoutDeadLetterQueue", "Arn"]}
    queue_event = FUNCTIONS["ConsumerFunction"]["Properties"]["Events"]["Queue"]["Properties"]
    assert queue_event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    redrive = RESOURCES["SubscriberQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["maxReceiveCount"] >= 1


def test_queue_policy_only_admits_our_topic_and_our_rule() -> None:
    topic, rule = RESOURCES["SubscriberQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert topic["Principal"] == {"Service": "sns.amazonaws.com"}
    assert topic["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Ref": "MessagesTopic"}}}
    (rule,) = branches(rule)  # PublishTo=EventBridge only
    assert rule["Principal"] == {"Service": "events.amazonaws.com"}
    assert rule["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["SubscriberRule", "Arn"]}}}


def test_webhook_is_throttled_and_token_never_a_parameter_value() -> None:
    api = RESOURCES["WebhookApi"]["Properties"]["DefaultRouteSettings"]
    assert api["ThrottlingRateLimit"] == {"Ref": "ApiRateLimit"}
    assert api["ThrottlingBurstLimit"] == {"Ref": "ApiBurstLimit"}
    secret_parameter = TEMPLATE["Parameters"]["TwilioAuthTokenSecretArn"]
    assert "Default" not in secret_parameter
    assert secret_parameter["AllowedPattern"].startswith("^arn:aws")
    ingest_env = FUNCTIONS["IngestFunction"]["Properties"]["Environment"]["Variables"]
    assert ingest_env["TWILIO_AUTH_TOKEN"] == ""  # only sam local's env-vars file sets it


def test_outputs_for_other_stacks_and_tests() -> None:
    outputs = TEMPLATE["Outputs"]
    assert {"WebhookUrl", "MessagesTableName", "MessagesTopicArn", "SubscriberQueueUrl"} <= set(outputs)
    assert outputs["MessagesTopicArn"]["Export"]["Name"] == {"Fn::Sub": "${AWS::StackName}-MessagesTopicArn"}


def test_sending_has_a_queue_with_a_dead_letter_queue_and_exported_outputs() -> None:
    queue = RESOURCES["OutboundQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["OutboundDeadLetterQueue", "Arn"]}
    assert 1 <= queue["RedrivePolicy"]["maxReceiveCount"] <= 10
    # AWS's advice for a Lambda event source: at least six times the function's timeout
    sender = FUNCTIONS["SenderFunction"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * sender["Timeout"]
    assert sender["Events"]["Commands"]["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    outputs = TEMPLATE["Outputs"]
    assert outputs["OutboundQueueUrl"]["Value"] == {"Ref": "OutboundQueue"}
    assert outputs["OutboundQueueArn"]["Export"]["Name"] == {"Fn::Sub": "${AWS::StackName}-OutboundQueueArn"}
    sends = RESOURCES["SendsTable"]["Properties"]
    assert sends["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}


def test_status_callbacks_have_their_own_route_and_the_example_consumer_no_status_events() -> None:
    (event,) = FUNCTIONS["StatusFunction"]["Properties"]["Events"].values()
    assert (event["Type"], event["Properties"]["Path"], event["Properties"]["ApiId"]) == (
        "HttpApi",
        "/status",
        {"Ref": "WebhookApi"},
    )
    subscription = RESOURCES["SubscriberSubscription"]["Properties"]
    assert subscription["FilterPolicy"] == {
        "eventType": ["twilio-inbound.message.received", "twilio-inbound.media.archived"]
    }
    consumer = FUNCTIONS["ConsumerFunction"]["Properties"]["Environment"]["Variables"]
    assert TEMPLATE["Parameters"]["AutoReplyText"]["Default"] == ""  # the example replies only when asked to
    assert consumer["AUTO_REPLY_TEXT"] == {"Ref": "AutoReplyText"}
