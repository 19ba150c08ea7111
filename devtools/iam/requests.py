"""What AWS authorizes for an SDK call: the IAM actions, and the resource each one is checked on.

Most operations are authorized as `<service>:<Operation>` on the resource their parameters name. The exceptions
are AWS's documented ones (the Service Authorization Reference and each API's "Permissions" section): batch
calls are authorized as their items (sns:PublishBatch is sns:Publish on the topic, TransactWriteItems is each
item's action on its table), S3's HEAD and list calls are GetObject and ListBucket, a query of an index is
checked on the index's ARN. Every request is held to AWS's catalogue of actions and resource types (parliament
ships it offline): an action AWS does not know, or a resource of a type the action does not take, raises
`UnknownRequest` (a gap in this module to fill), never a pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple
from urllib.parse import urlsplit


class Request(NamedTuple):
    """One authorization AWS makes for a call: an action on a resource (an ARN, or "*"), with the request's own
    condition keys (events:source for PutEvents)."""

    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()


class UnknownRequest(LookupError):
    """The call maps to an action or resource AWS's catalogue does not have: this module needs a rule for it."""


@dataclass(frozen=True)
class Call:
    """One SDK call: the botocore service and operation, its parameters, where it went."""

    service: str  # botocore's name: dynamodb, dynamodbstreams, s3, sqs, ...
    operation: str
    params: Mapping[str, Any]
    region: str
    account: str


def requests(call: Call) -> list[Request]:
    """The (action, resource) pairs AWS authorizes for the call, each checked against the catalogue."""
    rule = _RULES.get((call.service, call.operation))
    found = rule(call) if rule else [Request(f"{_prefix(call.service)}:{_action_name(call)}", _resource(call))]
    for request in found:
        _check_in_catalogue(request.action, request.resource)
    return found


# What a caller needs on a customer managed KMS key when the topic or queue it uses is encrypted with it: SNS and SQS
# call KMS on the caller's behalf (AWS managed keys, alias/aws/*, and SQS-managed encryption need nothing).
_KEY_USE = {
    "sns:Publish": ("kms:GenerateDataKey", "kms:Decrypt"),
    "sqs:SendMessage": ("kms:GenerateDataKey", "kms:Decrypt"),
    "sqs:ReceiveMessage": ("kms:Decrypt",),
}


def with_key_use(found: list[Request], keys: Mapping[str, str]) -> list[Request]:
    """The requests, and the KMS requests they imply (`keys`: topic or queue ARN -> its customer managed key)."""
    implied = [
        Request(kms_action, keys[request.resource])
        for request in found
        if request.resource in keys
        for kms_action in _KEY_USE.get(request.action, ())
    ]
    return found + [request for request in dict.fromkeys(implied) if request not in found]


# ---------------------------------------------------------------------- resources named by parameters
def _arn(call: Call, service: str, path: str, *, region: bool = True, account: str | None = None) -> str:
    return f"arn:aws:{service}:{call.region if region else ''}:{account or call.account}:{path}"


def _table(call: Call, table: str, index: str | None = None) -> str:
    """A table by name or ARN (DynamoDB takes both), or one of its indexes."""
    arn = table if table.startswith("arn:") else _arn(call, "dynamodb", f"table/{table}")
    return f"{arn}/index/{index}" if index else arn


def _queue(call: Call, url: str) -> str:
    """https://sqs.<region>.amazonaws.com/<account>/<name> (or the emulator's) -> the queue's ARN."""
    account, name = urlsplit(url).path.strip("/").split("/")[-2:]
    return _arn(call, "sqs", name, account=account)


def _secret(call: Call, secret_id: str) -> str:
    return secret_id if secret_id.startswith("arn:") else _arn(call, "secretsmanager", f"secret:{secret_id}")


def _bucket(params: Mapping[str, Any]) -> str:
    return f"arn:aws:s3:::{params['Bucket']}"


def _object(params: Mapping[str, Any], key: str = "Key") -> str:
    return f"arn:aws:s3:::{params['Bucket']}/{params[key]}"


def _stream(iterator_or_arn: str) -> str:
    """A stream ARN, or a shard iterator: AWS's (and the emulator's) begin with the stream's ARN and a `|`."""
    return iterator_or_arn.split("|", 1)[0]


def _named(call: Call, key: str, arn: Callable[[str], str]) -> str | None:
    value = call.params.get(key)
    return None if value is None else value if str(value).startswith("arn:") else arn(str(value))


# Per service: the resource its calls' parameters name (None: they name none, AWS checks "*").
_RESOURCES: dict[str, Callable[[Call], str | None]] = {
    "dynamodb": lambda c: (
        _table(c, c.params["TableName"], c.params.get("IndexName")) if "TableName" in c.params else None
    ),
    "dynamodbstreams": lambda c: _stream(c.params.get("StreamArn") or c.params.get("ShardIterator") or "*"),
    "sqs": lambda c: (
        _queue(c, c.params["QueueUrl"])
        if "QueueUrl" in c.params
        else _named(c, "QueueName", lambda name: _arn(c, "sqs", name, account=c.params.get("QueueOwnerAWSAccountId")))
    ),
    "sns": lambda c: c.params.get("TopicArn") or c.params.get("TargetArn"),
    "s3": lambda c: (_object(c.params) if "Key" in c.params else _bucket(c.params)) if "Bucket" in c.params else None,
    "secretsmanager": lambda c: _named(c, "SecretId", lambda name: _arn(c, "secretsmanager", f"secret:{name}")),
    "lambda": lambda c: _named(c, "FunctionName", lambda name: _arn(c, "lambda", f"function:{name}")),
    "cloudformation": lambda c: _named(c, "StackName", lambda name: _arn(c, "cloudformation", f"stack/{name}/*")),
    "logs": lambda c: _log(c) if "logGroupName" in c.params else None,
}


def _log(call: Call) -> str:
    group = _arn(call, "logs", f"log-group:{call.params['logGroupName']}")
    return f"{group}:log-stream:{call.params['logStreamName']}" if "logStreamName" in call.params else group


def _resource(call: Call) -> str:
    """The resource the call's parameters name, or "*" for the calls that name none."""
    resolve = _RESOURCES.get(call.service)
    return (resolve(call) if resolve else None) or "*"


# ---------------------------------------------------------------------- actions
# botocore's signing names that are not the IAM service prefix.
_PREFIXES = {"monitoring": "cloudwatch", "dynamodbstreams": "dynamodb", "sesv2": "ses"}
# S3 operations authorized under another action (AWS: "Permissions" in each S3 API reference page).
_S3_ACTIONS = {
    "HeadObject": "GetObject",
    "HeadBucket": "ListBucket",
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "ListParts": "ListMultipartUploadParts",
    "ListMultipartUploads": "ListBucketMultipartUploads",
}
# The versioned twin of an object action, when the call names a VersionId.
_S3_VERSIONED = {"GetObject": "GetObjectVersion", "DeleteObject": "DeleteObjectVersion"}


def _prefix(service: str) -> str:
    return _PREFIXES.get(service, service)


def _action_name(call: Call) -> str:
    if call.service != "s3":
        return call.operation
    action = _S3_ACTIONS.get(call.operation, call.operation)
    return _S3_VERSIONED.get(action, action) if call.params.get("VersionId") else action


# ---------------------------------------------------------------------- calls authorized as their items
def _publish_batch(call: Call) -> list[Request]:
    return [Request("sns:Publish", str(call.params["TopicArn"]))]


def _sqs_batch(action: str) -> Callable[[Call], list[Request]]:
    return lambda call: [Request(f"sqs:{action}", _queue(call, call.params["QueueUrl"]))]


def _batch_per_table(action: str) -> Callable[[Call], list[Request]]:
    """BatchGetItem and BatchWriteItem: their own actions, on each table they name."""
    return lambda call: [Request(f"dynamodb:{action}", _table(call, table)) for table in call.params["RequestItems"]]


_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


def _transaction(call: Call) -> list[Request]:
    """TransactWriteItems/TransactGetItems: each item's own action on its table (AWS has no action for them)."""
    found: list[Request] = []
    for item in call.params["TransactItems"]:
        ((kind, operation),) = item.items()
        request = Request(f"dynamodb:{_TRANSACT_ACTIONS[kind]}", _table(call, operation["TableName"]))
        if request not in found:
            found.append(request)
    return found


def _copy_object(call: Call) -> list[Request]:
    source = call.params["CopySource"]
    if isinstance(source, str):
        bucket, _, key = source.lstrip("/").partition("/")
        source = {"Bucket": bucket, "Key": key.split("?versionId=")[0]}
    return [Request("s3:PutObject", _object(call.params)), Request("s3:GetObject", _object(source))]


def _delete_objects(call: Call) -> list[Request]:
    bucket = call.params["Bucket"]
    return [
        Request(
            f"s3:{'DeleteObjectVersion' if 'VersionId' in item else 'DeleteObject'}",
            f"arn:aws:s3:::{bucket}/{item['Key']}",
        )
        for item in call.params["Delete"]["Objects"]
    ]


def _put_events(call: Call) -> list[Request]:
    """One authorization per bus, event source and detail type (the condition keys PutEvents has)."""
    found: list[Request] = []
    for entry in call.params["Entries"]:
        bus = entry.get("EventBusName") or "default"
        arn = bus if bus.startswith("arn:") else _arn(call, "events", f"event-bus/{bus}")
        keys = (("events:source", entry.get("Source", "")), ("events:detail-type", entry.get("DetailType", "")))
        request = Request("events:PutEvents", arn, keys)
        if request not in found:
            found.append(request)
    return found


_RULES: dict[tuple[str, str], Callable[[Call], list[Request]]] = {
    ("sns", "PublishBatch"): _publish_batch,
    ("sqs", "SendMessageBatch"): _sqs_batch("SendMessage"),
    ("sqs", "DeleteMessageBatch"): _sqs_batch("DeleteMessage"),
    ("sqs", "ChangeMessageVisibilityBatch"): _sqs_batch("ChangeMessageVisibility"),
    ("dynamodb", "BatchGetItem"): _batch_per_table("BatchGetItem"),
    ("dynamodb", "BatchWriteItem"): _batch_per_table("BatchWriteItem"),
    ("dynamodb", "TransactWriteItems"): _transaction,
    ("dynamodb", "TransactGetItems"): _transaction,
    ("s3", "CopyObject"): _copy_object,
    ("s3", "DeleteObjects"): _delete_objects,
    ("events", "PutEvents"): _put_events,
    ("sts", "GetCallerIdentity"): lambda call: [],  # AWS authorizes it for every principal
}


# ---------------------------------------------------------------------- AWS's catalogue (parliament)
@cache
def _check_in_catalogue(action: str, resource: str) -> None:
    from parliament.statement import get_privilege_info  # ~0.2 s: loads the catalogue on first use

    service, _, name = action.partition(":")
    try:
        info = get_privilege_info(service, name)
    except Exception as error:  # parliament raises bare Exceptions for unknown services and actions
        raise UnknownRequest(f"{action} is not an IAM action: devtools/iam/requests.py needs a rule") from error
    formats = {
        entry["resource"]: re.sub(r"\$\{[^}]+\}", "*", entry["arn"]).replace("${Partition}", "aws")
        for entry in info["service_resources"]
    }
    types = [entry["resource_type"].rstrip("*") for entry in info["resource_types"] if entry["resource_type"]]
    if not types:
        if resource != "*":
            raise UnknownRequest(f"{action} takes no resource (AWS authorizes it on *), not {resource}")
        return
    if resource == "*" or not any(_of_type(kind, formats[kind], resource) for kind in types if kind in formats):
        raise UnknownRequest(f"{action} on {resource}: not one of its resource types {types}")


def _of_type(kind: str, arn_format: str, resource: str) -> bool:
    """Whether the ARN has the format (wildcards: one component up to the account, anything after it)."""
    head, tail = arn_format.split(":", 5), ""
    if len(head) == 6:
        head, tail = head[:5], head[5]
    pattern = ":".join(re.escape(part).replace(r"\*", "[^:]*") for part in head)
    pattern += ":" + re.escape(tail).replace(r"\*", ".*") if tail else ""
    if kind == "bucket" and "/" in resource.removeprefix("arn:aws:s3:::"):
        return False
    return re.fullmatch(pattern, resource) is not None
