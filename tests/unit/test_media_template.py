"""The media resources' promises in template.yaml: a private, encrypted, TLS-only bucket whose lifecycle follows
RetentionDays, a queue that only message events with media reach and that keeps what fails, least privilege."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from devtools.template import Stack, load_template
from tests.unit.test_template import branches

TEMPLATE = load_template()
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
BUCKET = RESOURCES["MediaBucket"]
FUNCTION = RESOURCES["MediaFunction"]["Properties"]


def test_the_bucket_is_private_encrypted_kept_and_versioned() -> None:
    assert (BUCKET["DeletionPolicy"], BUCKET["UpdateReplacePolicy"]) == ("Retain", "Retain")
    properties = BUCKET["Properties"]
    (encryption,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(properties["PublicAccessBlockConfiguration"]) == 4
    assert properties["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert properties["VersioningConfiguration"]["Status"] == "Enabled"


def test_the_bucket_refuses_every_request_without_tls() -> None:
    (statement,) = RESOURCES["MediaBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == ("Deny", "*", "s3:*")
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert statement["Resource"] == [{"Fn::GetAtt": ["MediaBucket", "Arn"]}, {"Fn::Sub": "${MediaBucket.Arn}/*"}]


@pytest.mark.parametrize(("retention_days", "expiry"), [("0", None), ("30", 30)])
def test_lifecycle_expires_media_after_retention_days(
    aws: boto3.session.Session, retention_days: str, expiry: int | None
) -> None:
    # GIVEN the template's resources created with this RetentionDays (the emulator, as `make local` does)
    stack = Stack(aws, parameters={"RetentionDays": retention_days}).provision()
    bucket = stack.physical["MediaBucket"]["Ref"]
    rules = {rule["ID"]: rule for rule in aws.client("s3").get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    # THEN replaced or deleted versions go after 7 days, and media after RetentionDays when it is set
    assert rules["noncurrent-versions"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 7}
    assert rules["noncurrent-versions"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    if expiry is None:
        assert "retention" not in rules
    else:
        assert rules["retention"]["Expiration"] == {"Days": expiry}
        assert rules["retention"]["Filter"] == {"Prefix": "media/"}


def test_subscribers_get_a_read_only_policy_for_the_media_prefix() -> None:
    (statement,) = RESOURCES["MediaReadPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert (statement["Effect"], statement["Action"]) == ("Allow", "s3:GetObject")
    assert statement["Resource"] == {"Fn::Sub": "${MediaBucket.Arn}/media/*"}
    output = TEMPLATE["Outputs"]["MediaReadPolicyArn"]
    assert output["Value"] == {"Ref": "MediaReadPolicy"}
    assert output["Export"]["Name"] == {"Fn::Sub": "${AWS::StackName}-MediaReadPolicyArn"}
    assert {"MediaBucketName", "MediaQueueUrl", "MediaDeadLetterQueueUrl"} <= set(TEMPLATE["Outputs"])


def test_only_message_events_with_media_reach_the_media_queue_and_nothing_is_dropped() -> None:
    subscription = RESOURCES["MediaSubscription"]["Properties"]
    assert subscription["RawMessageDelivery"] is True
    assert subscription["FilterPolicy"] == {"eventType": ["twilio-inbound.message.received"], "hasMedia": ["true"]}
    assert subscription["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": ["MediaDeadLetterQueue", "Arn"]}}
    queue = RESOURCES["MediaQueue"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * FUNCTION["Timeout"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["MediaDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 5,
    }
    statement, _rule = RESOURCES["MediaQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Ref": "MessagesTopic"}}}
    source = FUNCTION["Events"]["Queue"]["Properties"]
    assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert 1 <= source["BatchSize"] <= 10


def test_the_media_role_writes_only_the_media_prefix_and_reads_only_its_secret() -> None:
    statements = RESOURCES["MediaRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    by_action = {
        action: s["Resource"]
        for statement in statements
        for s in branches(statement)
        for action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    assert by_action["s3:PutObject"] == by_action["s3:GetObject"] == {"Fn::Sub": "${MediaBucket.Arn}/media/*"}
    assert by_action["s3:ListBucket"] == {"Fn::GetAtt": ["MediaBucket", "Arn"]}
    assert by_action["secretsmanager:GetSecretValue"] == {"Ref": "TwilioAuthTokenSecretArn"}
    assert by_action["sns:Publish"] == {"Ref": "MessagesTopic"}
    assert not any(action.startswith("s3:Delete") for action in by_action)


def test_deleting_media_at_twilio_is_off_unless_asked_for() -> None:
    parameter = TEMPLATE["Parameters"]["DeleteTwilioMediaAfterArchive"]
    assert (parameter["Default"], parameter["AllowedValues"]) == ("false", ["false", "true"])
    variables = FUNCTION["Environment"]["Variables"]
    assert variables["DELETE_TWILIO_MEDIA_AFTER_ARCHIVE"] == {"Ref": "DeleteTwilioMediaAfterArchive"}
    assert variables["TWILIO_API_URL"] == ""  # Twilio itself in AWS; only the local stack points elsewhere
