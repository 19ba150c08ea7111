"""Operating it: every alarm and chart watches a metric the code really emits, every function, stream reader,
API and dead-letter queue has its alarms, and every alarm tells the alarm topic when it fires and recovers.

The alarms and the dashboard are read as the local stack creates them in moto (intrinsics resolved, the
CloudWatch API's own parameter validation applied); the custom metrics are the EMF lines the handlers print.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from devtools.lambda_events import as_event_json
from devtools.lambda_runtime import Invoke, load_function
from devtools.pollers import StreamPoller
from devtools.template import ROOT, Stack, load_template
from tests.unit.helpers import OFFLINE_ENV, load_event, sent_for
from twilio_inbound.message_item import message_item
from twilio_inbound.messages_table import record_from_item
from twilio_inbound.numbers import NumberConfig
from twilio_inbound.numbers_table import NumberRegistry

TEMPLATE = load_template()
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
NAMESPACE = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
POWERTOOLS_OWN_METRICS = {"ColdStart"}  # emitted by Powertools itself, with a per-function dimension
DEAD_LETTER_KEYS = {"RedrivePolicy", "deadLetterTargetArn", "OnFailure", "DeadLetterConfig", "DeadLetterQueue"}


def of_type(kind: str) -> list[str]:
    return sorted(name for name, resource in RESOURCES.items() if resource["Type"] == kind)


FUNCTIONS = of_type("AWS::Serverless::Function")


@dataclass(frozen=True)
class Metric:
    """What CloudWatch matches exactly: namespace, name and the whole set of dimensions."""

    namespace: str
    name: str
    dimensions: frozenset[tuple[str, str]]

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}{dict(sorted(self.dimensions))}"


def emf_metrics(output: str) -> set[Metric]:
    """The metrics in Embedded Metric Format lines (one JSON document per line, as Powertools prints them)."""
    found = set()
    for line in output.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dimensions = frozenset((name, str(document[name])) for name in dimension_set)
                found |= {Metric(directive["Namespace"], metric["Name"], dimensions) for metric in directive["Metrics"]}
    return found


def metric_names_in_code() -> set[str]:
    """Every add_metric(name="...") under functions/, to prove the scenarios below reach each one."""
    names = set()
    for path in (ROOT / "functions").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_metric":
                for keyword in node.keywords:
                    if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                        names.add(str(keyword.value.value))
    return names


@pytest.fixture
def emitted(  # noqa: PLR0917 (pytest fixtures)
    stack: Stack,
    ingest: Invoke,
    fanout: Invoke,
    consumer: Invoke,
    reconcile: Invoke,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> set[Metric]:
    """GIVEN each function driven through every path that counts something, THEN what it printed."""
    capsys.readouterr()
    reconcile({})  # nothing registered: nothing to recover, and the count says so
    ingest(load_event("http-api-sms.json"))  # stored
    ingest(load_event("http-api-sms.json"))  # a repeat delivery
    forged = load_event("http-api-whatsapp.json")
    forged["headers"]["x-twilio-signature"] = "Zm9yZ2VkIHNpZ25hdHVyZSE="
    ingest(forged)  # rejected
    stream = load_event("dynamodb-stream.json")
    disabled = record_from_item(stream["Records"][0]["dynamodb"]["NewImage"])
    disabled["delivered"] = False  # a disabled number's message
    stream["Records"][0]["dynamodb"]["NewImage"] = as_event_json(message_item(disabled))
    fanout(stream)  # published, skipped
    consumer(load_event("sqs-subscriber.json"))
    drive_media(stack, monkeypatch)
    drive_sender(stack, monkeypatch)
    status = load_function(stack.functions()["StatusFunction"], OFFLINE_ENV)
    callback = load_event("status-callback.json")
    sent_for(stack, callback)
    status(callback)  # recorded
    status(callback)  # a repeat
    (source,) = stack.functions()["FanoutFunction"].events
    poller = StreamPoller(stack.session, source.arn, fanout, source.properties, function="FanoutFunction")
    while poller.poll_once():  # the recorded status published, as Lambda's stream source would
        pass
    forged_callback = load_event("status-callback.json")
    forged_callback["headers"]["x-twilio-signature"] = "Zm9yZ2VkIHNpZ25hdHVyZSE="
    status(forged_callback)  # rejected
    sns, dynamodb = stack.session.client("sns"), stack.session.client("dynamodb")
    sns.delete_topic(TopicArn=stack.physical["MessagesTopic"]["Ref"])
    fanout(load_event("dynamodb-stream.json"))  # SNS refuses: records retried
    registry = NumberRegistry(dynamodb, stack.physical["NumbersTable"]["Ref"])
    registry.put(NumberConfig("whatsapp:+15005550001", auto_reply="Thanks!"))
    dynamodb.delete_table(TableName=stack.physical["OptOutsTable"]["Ref"])
    ingest(load_event("rest-api-whatsapp.json"))  # stored, but whether to reply cannot be decided
    dynamodb.delete_table(TableName=stack.physical["MessagesTable"]["Ref"])
    assert ingest(load_event("http-api-mms.json"))["statusCode"] == 503  # DynamoDB refuses: an ingest error
    assert status(callback)["statusCode"] == 503  # DynamoDB refuses: a status error
    return emf_metrics(capsys.readouterr().out)


def drive_media(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """The media function's paths that count something: media off Twilio's API (not archived), an unusable
    queue message (retried later), and a result that deleted media at Twilio (its archiving is test_media's)."""
    media = load_function(stack.functions()["MediaFunction"])  # imports the handler with its environment
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    from media import handler as media_handler
    from media.archive import Archived

    event = load_event("sqs-subscriber.json")
    (record, *_) = [r for r in event["Records"] if json.loads(r["body"])["data"]["media"]]
    cloud_event = json.loads(record["body"])
    for item in cloud_event["data"]["media"]:
        item["url"] = "https://media.example/not-twilio.jpg"
    media({"Records": [{**record, "body": json.dumps(cloud_event)}]})  # not archived, and why
    with pytest.raises(BatchProcessingError):  # the whole batch failed: SQS delivers it again later
        media({"Records": [{**record, "body": "not json"}]})  # retried later
    done = Archived(event={"data": {"messageSid": cloud_event["id"]}}, stored_bytes=10, deleted_at_twilio=1)
    monkeypatch.setattr(media_handler, "process", lambda *_: done)
    media({"Records": [record]})


def drive_sender(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sender's outcomes, one command each (how each one comes about is test_sender's)."""
    send = load_function(stack.functions()["SenderFunction"], OFFLINE_ENV)  # imports the handler
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    from sender import handler as sender_handler
    from sender.sending import Outcome, SendLater

    kinds = iter(["later", *sender_handler.METRICS])

    class Scripted:
        def handle(self, body: str, message_id: str, delivery: int = 1, *, time_left: bool = True) -> Outcome:
            kind = next(kinds)
            if kind == "later":
                raise SendLater("Twilio answered 429")
            return Outcome(kind=kind, key="auto-reply:1")  # type: ignore[arg-type]

    monkeypatch.setattr(sender_handler, "sender", Scripted())
    command = load_event("send-command-sqs.json")
    with pytest.raises(BatchProcessingError):  # the whole batch deferred: SQS delivers it again later
        send(command)
    for _ in sender_handler.METRICS:
        send(command)


@pytest.fixture
def alarms(stack: Stack) -> dict[str, dict[str, Any]]:
    """The alarms as created through the CloudWatch API, by logical id."""
    created = {
        alarm["AlarmName"]: alarm
        for page in stack.cloudwatch.get_paginator("describe_alarms").paginate()
        for alarm in page["MetricAlarms"]
    }
    return {
        name: created[stack.physical[name]["Ref"]]
        for name in of_type("AWS::CloudWatch::Alarm")
        if name in stack.physical  # an alarm under a Condition false by default is tested with its setting
    }


def alarm_metric(alarm: dict[str, Any]) -> Metric:
    dimensions = frozenset((item["Name"], item["Value"]) for item in alarm["Dimensions"])
    return Metric(alarm["Namespace"], alarm["MetricName"], dimensions)


@pytest.fixture
def dashboard(stack: Stack) -> dict[str, Any]:
    (name,) = (stack.physical[logical_id]["Ref"] for logical_id in of_type("AWS::CloudWatch::Dashboard"))
    body: dict[str, Any] = json.loads(stack.cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"])
    return body


def charted(dashboard: dict[str, Any]) -> Iterator[tuple[str, Metric]]:
    """(widget title, metric) for every metric line: [namespace, name, dim, value, ..., {options}]."""
    for widget in dashboard["widgets"]:
        for line in widget["properties"].get("metrics", []):
            fields = [item for item in line if not isinstance(item, dict)]
            assert "." not in fields, f"{widget['properties']['title']}: spell out every metric line"
            pairs = frozenset(zip(fields[2::2], fields[3::2], strict=True))
            yield widget["properties"]["title"], Metric(fields[0], fields[1], pairs)


def watching(alarms: dict[str, dict[str, Any]], metric: Metric) -> list[str]:
    """The alarms on exactly that metric, by logical id."""
    return [name for name, alarm in alarms.items() if alarm_metric(alarm) == metric]


# ---------------------------------------------------------------- custom metrics: as Powertools emits them
def test_every_metric_the_code_counts_is_emitted_with_the_service_dimension(emitted: set[Metric]) -> None:
    names = {metric.name for metric in emitted}
    missing = metric_names_in_code() - names
    assert not missing, f"add_metric names no scenario in the `emitted` fixture reaches: {sorted(missing)}"
    for metric in emitted:
        if metric.name not in POWERTOOLS_OWN_METRICS:
            assert metric.namespace == NAMESPACE, metric
            assert {name for name, _ in metric.dimensions} == {"service"}, metric


def test_every_custom_metric_alarm_watches_an_emitted_metric(
    alarms: dict[str, dict[str, Any]], emitted: set[Metric]
) -> None:
    custom = {name: alarm_metric(alarm) for name, alarm in alarms.items() if not alarm["Namespace"].startswith("AWS/")}
    assert custom, "the ingest alarms watch custom metrics"
    for name, metric in custom.items():
        assert metric in emitted, f"{name} watches {metric}, which nothing emits; emitted: {sorted(map(str, emitted))}"


def test_the_dashboard_charts_every_emitted_metric_and_only_those(
    dashboard: dict[str, Any], emitted: set[Metric]
) -> None:
    custom = {metric for _, metric in charted(dashboard) if not metric.namespace.startswith("AWS/")}
    assert custom - emitted == set(), "charted but never emitted"
    ours = {metric for metric in emitted if metric.name not in POWERTOOLS_OWN_METRICS}
    assert ours - custom == set(), "emitted but not on the dashboard"


# ---------------------------------------------------------------- coverage: nothing forgotten
def dead_letter_queues() -> set[str]:
    """Every queue that holds what failed: a redrive or on-failure target, a function's dead-letter config,
    or a queue named as one."""
    queues = set(of_type("AWS::SQS::Queue"))
    found = {name for name in queues if name.endswith(("DeadLetterQueue", "DLQ"))}

    def walk(node: Any, inside: bool) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, inside)
        elif isinstance(node, dict):
            for key, value in node.items():
                if inside and key == "Ref" and value in queues:
                    found.add(value)
                elif inside and key == "Fn::GetAtt" and value[0] in queues:
                    found.add(value[0])
                elif inside and key == "Fn::Sub":
                    found.update(name for name in queues if "${" + name in json.dumps(value))
                else:
                    walk(value, inside or key in DEAD_LETTER_KEYS)

    walk(RESOURCES, inside=False)
    return found


def test_dead_letter_queues_are_found_wherever_they_are_declared() -> None:
    assert dead_letter_queues() >= {"FanoutDeadLetterQueue", "SubscriberDeadLetterQueue"}
    assert "SubscriberQueue" not in dead_letter_queues()


@pytest.mark.parametrize("queue", sorted(dead_letter_queues()))
def test_every_dead_letter_queue_alarms_on_its_first_message(
    stack: Stack, alarms: dict[str, dict[str, Any]], dashboard: dict[str, Any], queue: str
) -> None:
    depth = Metric(
        "AWS/SQS", "ApproximateNumberOfMessagesVisible", frozenset({("QueueName", stack.physical[queue]["QueueName"])})
    )
    found = watching(alarms, depth)
    assert found, f"no alarm on {queue}'s depth"
    for name in found:
        assert (alarms[name]["Statistic"], alarms[name]["Threshold"]) == ("Maximum", 0), name
        assert alarms[name]["ComparisonOperator"] == "GreaterThanThreshold", name
    assert depth in {metric for _, metric in charted(dashboard)}, f"{queue} is not on the dashboard"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_alarms_on_errors_and_throttles_and_has_its_dashboard_row(
    stack: Stack, alarms: dict[str, dict[str, Any]], dashboard: dict[str, Any], function: str
) -> None:
    name = frozenset({("FunctionName", stack.create(function)["Ref"])})
    for metric in ("Errors", "Throttles"):
        found = watching(alarms, Metric("AWS/Lambda", metric, name))
        assert found, f"no {metric} alarm for {function}"
    row = {metric.name for _, metric in charted(dashboard) if metric.dimensions == name}
    assert row >= {"Invocations", "Errors", "Throttles", "Duration"}, f"{function}'s dashboard row"


def stream_readers() -> list[str]:
    return [
        name
        for name in FUNCTIONS
        if any(
            event["Type"] in ("DynamoDB", "Kinesis")
            for event in RESOURCES[name]["Properties"].get("Events", {}).values()
        )
    ]


@pytest.mark.parametrize("function", stream_readers())
def test_every_stream_reader_alarms_when_it_falls_behind(
    stack: Stack, alarms: dict[str, dict[str, Any]], dashboard: dict[str, Any], function: str
) -> None:
    lag = Metric("AWS/Lambda", "IteratorAge", frozenset({("FunctionName", stack.create(function)["Ref"])}))
    found = watching(alarms, lag)
    assert found, f"no IteratorAge alarm for {function}"
    assert lag in {metric for _, metric in charted(dashboard)}


@pytest.mark.parametrize("api", of_type("AWS::Serverless::HttpApi"))
def test_every_http_api_alarms_on_5xx(
    stack: Stack, alarms: dict[str, dict[str, Any]], dashboard: dict[str, Any], api: str
) -> None:
    # SAM deploys an HttpApi without StageName to the "$default" stage; its metrics carry ApiId and Stage.
    dimensions = frozenset({("ApiId", stack.create(api)["Ref"]), ("Stage", "$default")})
    found = watching(alarms, Metric("AWS/ApiGateway", "5xx", dimensions))
    assert found, f"no 5xx alarm for {api}"
    latency = Metric("AWS/ApiGateway", "Latency", dimensions)
    assert latency in {metric for _, metric in charted(dashboard)}, f"{api}'s latency is not on the dashboard"


# ---------------------------------------------------------------- every alarm reaches people, fires and recovers
def test_every_alarm_notifies_the_alarm_topic_when_it_fires_and_when_it_recovers(
    stack: Stack, alarms: dict[str, dict[str, Any]], dashboard: dict[str, Any]
) -> None:
    topic = stack.physical["AlarmTopic"]["Ref"]
    (alarm_widget,) = (widget for widget in dashboard["widgets"] if widget["type"] == "alarm")
    for name, alarm in alarms.items():
        assert alarm["ActionsEnabled"], name
        assert alarm["AlarmActions"] == [topic], name
        assert alarm["OKActions"] == [topic], name
        assert len(alarm["AlarmDescription"]) > 80, f"{name}: say what it means and what to do"
        assert alarm["TreatMissingData"] == "notBreaching", f"{name}: no data means nothing happened"
        assert "AlarmName" not in RESOURCES[name]["Properties"], f"{name}: no hard-coded physical name"
        assert alarm["AlarmArn"] in alarm_widget["properties"]["alarms"], f"{name} is not in the dashboard's alarms"


def test_the_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use_and_exported() -> None:
    # CloudWatch cannot publish to a topic under the AWS managed key alias/aws/sns (its policy leaves it out).
    key = RESOURCES["AlarmTopic"]["Properties"]["KmsMasterKeyId"]
    assert key == {"Ref": "AlarmTopicKey"}
    key_properties = RESOURCES["AlarmTopicKey"]["Properties"]
    assert key_properties["EnableKeyRotation"] is True
    (cloudwatch,) = (
        statement
        for statement in key_properties["KeyPolicy"]["Statement"]
        if statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    )
    assert set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    outputs = TEMPLATE["Outputs"]
    assert outputs["AlarmTopicArn"]["Export"]["Name"] == {"Fn::Sub": "${AWS::StackName}-AlarmTopicArn"}
    assert outputs["DashboardName"]["Value"] == {"Ref": "OperationsDashboard"}


def test_alarm_email_is_subscribed_only_when_given(aws: Any) -> None:
    def email_subscriptions(parameters: dict[str, str]) -> list[str]:
        stack = Stack(aws, stack_name=f"email-{len(parameters)}", parameters=parameters).provision()
        listed = aws.client("sns").list_subscriptions_by_topic(TopicArn=stack.physical["AlarmTopic"]["Ref"])
        return [item["Endpoint"] for item in listed["Subscriptions"] if item["Protocol"] == "email"]

    assert email_subscriptions({}) == []
    assert email_subscriptions({"AlarmEmail": "oncall@example.com"}) == ["oncall@example.com"]
