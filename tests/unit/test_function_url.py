"""WebhookEndpoint=FunctionUrl: Twilio calls Lambda function URLs; the signature stays the authentication."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from devtools.lambda_runtime import Invoke
from devtools.template import load_template
from tests.unit.helpers import signed_event
from twilio_inbound_cli.signing import inbound_form

RESOURCES = load_template()["Resources"]
# What Lambda passes for a function URL request: the payload 2.0 event, routeKey $default, its own host.
FUNCTION_URL = "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws"


def function_url_event(pairs: Any, path: str, signed_url: str | None = None) -> dict[str, Any]:
    event = signed_event(pairs, url=FUNCTION_URL + path, signed_url=signed_url)
    event["routeKey"] = event["requestContext"]["routeKey"] = "$default"
    event["requestContext"]["apiId"] = "abcdefghijklmnopqrstuvwxyz012345"
    return event


def test_the_urls_exist_only_with_the_option_and_take_no_aws_auth() -> None:
    for function in ("IngestFunction", "StatusFunction"):
        url = RESOURCES[f"{function}Url"]
        assert url["Condition"] == "UsesFunctionUrl"
        assert url["Properties"] == {"TargetFunctionArn": {"Fn::GetAtt": [function, "Arn"]}, "AuthType": "NONE"}
        public = RESOURCES[f"{function}UrlPermission"]
        assert (public["Condition"], public["Properties"]["Action"]) == ("UsesFunctionUrl", "lambda:InvokeFunctionUrl")
        assert public["Properties"]["FunctionUrlAuthType"] == "NONE"
        # the plain invoke permission is granted through the URL only, never to any AWS caller
        invoke = RESOURCES[f"{function}UrlInvokePermission"]["Properties"]
        assert (invoke["Action"], invoke["InvokedViaFunctionUrl"]) == ("lambda:InvokeFunction", True)
        # AND reserved concurrency throttles in API Gateway's place, with the option only
        concurrency = RESOURCES[function]["Properties"]["ReservedConcurrentExecutions"]
        assert concurrency == {
            "Fn::If": ["UsesFunctionUrl", {"Ref": "FunctionUrlConcurrency"}, {"Ref": "AWS::NoValue"}]
        }


def test_a_message_signed_for_the_function_url_is_stored(
    ingest: Invoke, table_items: Callable[[], list[dict[str, Any]]]
) -> None:
    # GIVEN Twilio configured with the WebhookUrl output of a FunctionUrl stack (https://<url host>/sms)
    form = inbound_form(body="via the function URL")
    # WHEN it posts a message
    response = ingest(function_url_event(form, "/sms"))
    # THEN it is verified over the function URL and stored once
    assert response["statusCode"] == 200
    assert [item["body"] for item in table_items()] == ["via the function URL"]


def test_a_forged_or_misdirected_request_to_the_function_url_is_refused(
    ingest: Invoke, table_items: Callable[[], list[dict[str, Any]]]
) -> None:
    # GIVEN requests anyone on the internet can send (AuthType NONE): signed for another URL, or not by Twilio
    misdirected = function_url_event(inbound_form(), "/sms", signed_url="https://example.com/sms")
    forged = function_url_event(inbound_form(), "/sms")
    forged["headers"]["x-twilio-signature"] = "Zm9yZ2VkIHNpZ25hdHVyZSE="
    # THEN both are refused, nothing stored
    assert ingest(misdirected)["statusCode"] == 403
    assert ingest(forged)["statusCode"] == 403
    assert table_items() == []


def test_make_local_refuses_function_urls_with_a_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    from devtools.local_stack import main

    assert main(["--parameter", "WebhookEndpoint=FunctionUrl"]) == 2
    assert capsys.readouterr().out == (
        "error: make local serves the HTTP API's routes only, not WebhookEndpoint=FunctionUrl\n"
    )
