"""The local stack's functions, each under its own role: the roles in the emulator, each function signing with
its role's credentials (an STS assumed role, as Lambda gives it), the emulator enforcing identity policies.

moto 5.2.5's enforcement has quirks, each worked around here (docs/IAM.md, "The emulator's enforcement"):

- It accepts only IAM users' keys and STS assumed-role keys, and counts its unchecked requests per process
  (INITIAL_NO_AUTH_ACTION_COUNT, unlimited by default). So the stack is set up unchecked, and
  `POST /moto-api/reset-auth` with 0 turns enforcement on. The operator (the CLI, the local stack's own
  bookkeeping) is an IAM user with every permission: a person, not a function.
- Assuming a role whose trust policy names the Lambda service answers 500 once enforcement is on (moto's trust
  check expects an AWS principal): every role is assumed while setting up; moto's STS keys do not expire.
- Resources are checked only for S3, SQS, IAM and STS; other services check against "*", where a statement on
  an ARN never matches. The emulator's copy of a policy grants those services' actions on "*" (resources are
  checked by the test suite's evaluator instead, devtools/iam/policy.py).
- Batch calls are checked under their own names, where AWS authorizes their items: the emulator's copy grants
  sns:PublishBatch with sns:Publish, dynamodb:TransactWriteItems with the item actions, and so on.
- A denial of a JSON-protocol call (DynamoDB, SQS, Secrets Manager) comes back as XML, which botocore reads as
  error code "403": the emulator answers it in JSON, with the code the service uses (see `answer_denials_as_json`).
- A presigned URL's credentials (in its query) are not read: it answers 500. Presigned requests pass unchecked
  (only the operator presigns).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping
from typing import Any

import boto3
import botocore.credentials

from devtools.iam.acting import Attribution
from devtools.iam.roles import Document, Role

OPERATOR = "operator"  # the emulator's IAM user for people and the local stack itself
_EVERYTHING: Document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
_RESOURCE_CHECKED = ("s3", "sqs", "iam", "sts")
# What moto names a call that AWS authorizes as its items: item action -> the batch action moto checks.
_BATCH_NAMES = {
    "sns:Publish": ["sns:PublishBatch"],
    "sqs:SendMessage": ["sqs:SendMessageBatch"],
    "sqs:DeleteMessage": ["sqs:DeleteMessageBatch"],
    "sqs:ChangeMessageVisibility": ["sqs:ChangeMessageVisibilityBatch"],
    "dynamodb:GetItem": ["dynamodb:TransactGetItems"],
    "dynamodb:PutItem": ["dynamodb:TransactWriteItems"],
    "dynamodb:UpdateItem": ["dynamodb:TransactWriteItems"],
    "dynamodb:DeleteItem": ["dynamodb:TransactWriteItems"],
    "dynamodb:ConditionCheckItem": ["dynamodb:TransactWriteItems"],
    "s3:ListBucket": ["s3:HeadBucket"],
}

Credentials = dict[str, str]  # AccessKeyId, SecretAccessKey, SessionToken (none for the operator)


def emulator_policy(document: Document) -> Document:
    """The policy as moto can enforce it: actions as AWS names them, resources where moto checks them."""
    statements: list[dict[str, Any]] = []
    for statement in _listed(document["Statement"]):
        if statement.get("Effect") != "Allow" or "Action" not in statement:
            statements.append(statement)
            continue
        actions = _listed(statement["Action"])
        actions += [alias for action in actions for alias in _BATCH_NAMES.get(action, [])]
        checked = [action for action in actions if action.split(":")[0] in _RESOURCE_CHECKED]
        unchecked = [action for action in actions if action not in checked]
        rest = {key: value for key, value in statement.items() if key not in ("Action", "Resource", "Condition")}
        if checked:
            statements.append({**rest, "Action": sorted(set(checked)), "Resource": statement.get("Resource", "*")})
        if unchecked:
            statements.append({**rest, "Action": sorted(set(unchecked)), "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def set_up_identities(
    session: boto3.session.Session, roles: Mapping[str, Role]
) -> tuple[dict[str, Credentials], Credentials]:
    """Creates each role (the template's trust policy, the emulator's copy of its policies) and the operator,
    and assumes each role as Lambda does (the function's name as session name). Enforcement must still be off."""
    iam, sts = session.client("iam"), session.client("sts")
    credentials: dict[str, Credentials] = {}
    for function, role in roles.items():
        arn = iam.create_role(RoleName=role.name, AssumeRolePolicyDocument=json.dumps(role.trust_policy))["Role"]["Arn"]
        for index, document in enumerate(role.policies.values()):
            iam.put_role_policy(
                RoleName=role.name, PolicyName=f"policy-{index}", PolicyDocument=json.dumps(emulator_policy(document))
            )
        issued = sts.assume_role(RoleArn=arn, RoleSessionName=function)["Credentials"]
        credentials[function] = {key: issued[key] for key in ("AccessKeyId", "SecretAccessKey", "SessionToken")}
    iam.create_user(UserName=OPERATOR)
    iam.put_user_policy(UserName=OPERATOR, PolicyName="everything", PolicyDocument=json.dumps(_EVERYTHING))
    key = iam.create_access_key(UserName=OPERATOR)["AccessKey"]
    return credentials, {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}


def enforce(endpoint: str) -> None:
    """Turns the emulator's identity-policy enforcement on (moto: no unchecked requests left)."""
    request = urllib.request.Request(  # the emulator on loopback  # noqa: S310
        f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310  # nosec B310
        answer.read()


class FunctionCredentials(botocore.credentials.Credentials):
    """Credentials that are, for each request, those of the function making it (its role's session), and the
    operator's for anything else: as if each function ran in a sandbox of its own with its role's keys."""

    def __init__(self, attribution: Attribution, roles: Mapping[str, Credentials], operator: Credentials) -> None:
        super().__init__(operator["AccessKeyId"], operator["SecretAccessKey"])
        self._attribution = attribution
        self._roles = {
            function: botocore.credentials.ReadOnlyCredentials(
                keys["AccessKeyId"], keys["SecretAccessKey"], keys["SessionToken"]
            )
            for function, keys in roles.items()
        }
        self._operator = botocore.credentials.ReadOnlyCredentials(
            operator["AccessKeyId"], operator["SecretAccessKey"], None
        )

    def get_frozen_credentials(self) -> botocore.credentials.ReadOnlyCredentials:
        function = self._attribution.function()
        return self._roles.get(function, self._operator) if function else self._operator


class _FunctionsCredentialProvider(botocore.credentials.CredentialProvider):
    METHOD = "twilio-inbound-local-roles"

    def __init__(self, credentials: FunctionCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> FunctionCredentials:
        return self._credentials


def sign_as_functions(credentials: FunctionCredentials, region: str) -> boto3.session.Session:
    """Every botocore session created from now on in this process (boto3's default one, the sessions Powertools
    creates for itself) resolves its credentials to `credentials`, before the environment's: as a function's
    environment holds its role's keys in Lambda. Returns a new session, made boto3's default."""
    create_resolver = botocore.credentials.create_credential_resolver

    def resolver(*args: Any, **kwargs: Any) -> botocore.credentials.CredentialResolver:
        chain = create_resolver(*args, **kwargs)
        chain.insert_before("env", _FunctionsCredentialProvider(credentials))
        return chain

    botocore.credentials.create_credential_resolver = resolver
    session = boto3.session.Session(region_name=region)
    boto3.DEFAULT_SESSION = session
    return session


# ---------------------------------------------------------------------- inside the emulator's process
_JSON_DENIAL_CODES = {"sqs": "AccessDenied"}  # what each JSON-protocol service calls it (default below)


def presigned_urls_unchecked() -> None:
    """moto reads a request's credentials from its Authorization header only: a presigned URL (credentials in
    its query) gets a 500 once enforcement is on. Such requests pass unchecked; only the operator presigns
    (`twilio-inbound media url`), and the operator may do anything here."""
    from moto.core.authorization import ActionAuthenticatorMixin

    original = ActionAuthenticatorMixin._authenticate_and_authorize_s3_action

    def authorize(self: Any, bucket_name: str | None = None, key_name: str | None = None) -> None:
        if "Authorization" not in self.headers and "X-Amz-Credential=" in (self.uri or ""):
            return
        original(self, bucket_name, key_name)

    ActionAuthenticatorMixin._authenticate_and_authorize_s3_action = authorize  # type: ignore[method-assign]


def answer_denials_as_json() -> None:
    """moto renders a denied JSON-protocol call as XML (botocore then reads code "403"); AWS answers JSON."""
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.core.exceptions import JsonRESTError
    from werkzeug.exceptions import HTTPException

    original = ActionAuthenticatorMixin._authenticate_and_authorize_normal_action

    def authorize(self: Any, resource: str = "*") -> None:
        try:
            original(self, resource)
        except HTTPException as error:
            target = self.headers.get("X-Amz-Target") or ""
            code = getattr(error, "error_type", "")
            if not target or code != "AccessDenied":
                raise
            service = getattr(self, "service_name", "") or ""
            answer = JsonRESTError(_JSON_DENIAL_CODES.get(service, "AccessDeniedException"), error.message)  # type: ignore[attr-defined]
            answer.code = 400 if service != "sqs" else 403
            raise answer from error

    ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = authorize  # type: ignore[method-assign]
