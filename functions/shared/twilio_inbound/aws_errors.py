"""An AWS failure as an operator needs to read it in a log line: the error code and the call, and for a denial
AWS's own message (which names the action and the resource)."""

from __future__ import annotations

from botocore.exceptions import ClientError

_DENIALS = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "KMSAccessDeniedException")


def describe(error: BaseException) -> str:
    """`AccessDeniedException (PutItem): User: ... is not authorized to perform: dynamodb:PutItem on ...`,
    `ProvisionedThroughputExceededException (PutItem)`, or the exception's name (timeouts, connections)."""
    if not isinstance(error, ClientError):
        return type(error).__name__
    details = error.response.get("Error", {})
    code = details.get("Code", "?")
    message = f": {details.get('Message', '')}" if code in _DENIALS else ""
    return f"{code} ({error.operation_name}){message}"
