"""PublishTo: the stack's events on an EventBridge bus as well as, or instead of, the SNS topic.

Each setting creates what belongs to it and nothing else (resources, role permissions, alarms, outputs); the bus
carries every event (source twilio-inbound, detail-type its type, detail the CloudEvent); PutEvents' refused
entries are handled as PublishBatch's are; the archive replays; an HTTPS subscriber's stack
(subscribers/https-subscriber.yaml) delivers to an HTTP server.

moto stands in for EventBridge: it matches rules and delivers to SQS targets (as EventBridge does:
devtools/moto_eventbridge.py), archives, and replays synchronously, but ignores a replay's time window and
FilterArns, and calls an API destination without the event, the connection's credentials, retries or rate limit
(only with MOTO_EVENTS_INVOKE_HTTP=true). It has no schema registry. Those are checked in the template instead.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

import boto3
import pytest

from devtools.lambda_runtime import load_function
from devtools.pollers import StreamPoller
from devtools.template import ROOT, Stack, load_template
from fanout.outbox import fan_out
from tests.unit.helpers import OFFLINE_ENV, drain, signed_event, subscribe_queue
from tests.unit.stack_events import bodies, bus_subscriber, capture, publish_one_of_each
from tests.unit.test_fanout import stream_records
from twilio_inbound.cloudevent import EVENT_SOURCE
from twilio_inbound.messages_table import MessageStore
from twilio_inbound.opt_outs_table import OptOutStore
from twilio_inbound.publishing import BothPublishers, BusPublisher, TopicPublisher
from twilio_inbound_cli.replay import Replayer
from twilio_inbound_cli.signing import inbound_form
from twilio_inbound_client import MediaArchived, MessageReceived, parse_event

TEMPLATE = load_template()
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
PUBLISHERS = ("FanoutFunction", "SenderFunction", "MediaFunction")
PUBLISHER_ROLES = ("FanoutRole", "SenderRole", "MediaRole")


def provisioned(aws: boto3.session.Session, publish_to: str, **parameters: str) -> Stack:
    return Stack(
        aws, stack_name=f"eb-{publish_to.lower()}", parameters={"PublishTo": publish_to, **parameters}
    ).provision()


def effective(stack: Stack, node: Any) -> Any:
    """A template value with its Fn::If chosen by the stack's conditions (AWS::NoValue dropped), every other
    intrinsic left as written."""
    if isinstance(node, list):
        return [item for item in (effective(stack, item) for item in node) if item != {"Ref": "AWS::NoValue"}]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Fn::If"}:
        condition, when_true, when_false = node["Fn::If"]
        return effective(stack, when_true if stack.resolve({"Condition": condition}) else when_false)
    return {key: effective(stack, value) for key, value in node.items()}


def publish_statements(stack: Stack, role: str) -> dict[str, dict[str, Any]]:
    """The role's statements that publish events, by action."""
    (policy,) = effective(stack, RESOURCES[role]["Properties"]["Policies"])
    return {
        statement["Action"]: statement
        for statement in policy["PolicyDocument"]["Statement"]
        if statement["Action"] in ("sns:Publish", "events:PutEvents")
    }


# ---------------------------------------------------------------- each setting: what belongs to it, and only that
@pytest.mark.parametrize("publish_to", ["Sns", "SnsAndEventBridge", "EventBridge"])
def test_each_setting_creates_what_belongs_to_it_and_nothing_else(aws: boto3.session.Session, publish_to: str) -> None:
    stack = provisioned(aws, publish_to)
    to_sns, to_bus, bus_only = publish_to != "EventBridge", publish_to != "Sns", publish_to == "EventBridge"
    # the functions that publish are told where
    for name in PUBLISHERS:
        environment = stack.functions()[name].environment
        assert bool(environment["TOPIC_ARN"]) == to_sns, name
        assert bool(environment["EVENT_BUS_NAME"]) == to_bus, name
    # their roles may publish there, and only there: the bus with the stack's source only
    for role in PUBLISHER_ROLES:
        statements = publish_statements(stack, role)
        expected = {action for action, wanted in (("sns:Publish", to_sns), ("events:PutEvents", to_bus)) if wanted}
        assert set(statements) == expected, role
        if to_bus:
            assert statements["events:PutEvents"]["Resource"] == {"Fn::GetAtt": ["MessagesBus", "Arn"]}
            assert statements["events:PutEvents"]["Condition"] == {"StringEquals": {"events:source": EVENT_SOURCE}}
    # the bus, its archive and its outputs
    events = aws.client("events")
    buses = {bus["Name"] for bus in events.list_event_buses()["EventBuses"]} - {"default"}
    assert buses == ({f"{stack.stack_name}-events"} if to_bus else set())
    assert len(events.list_archives()["Archives"]) == to_bus
    outputs = stack.outputs()
    assert outputs["PublishTo"] == publish_to
    assert {"EventBusName", "EventBusArn", "EventArchiveArn", "EventSchemaRegistryName"} <= set(outputs) or not to_bus
    assert "EventBusName" not in outputs or to_bus
    assert "MessagesTopicArn" in outputs  # the topic stays: stacks importing it keep deploying
    # the stack's own queues: the topic's subscriptions, or the bus's rules with their alarms
    topic = stack.physical["MessagesTopic"]["Ref"]
    subscribed = {
        sub["Endpoint"] for sub in aws.client("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    }
    own_queues = {stack.physical["SubscriberQueue"]["Arn"], stack.physical["MediaQueue"]["Arn"]}
    assert subscribed == (own_queues if to_sns else set())
    rules = events.list_rules(EventBusName=stack.physical["MessagesBus"]["Ref"])["Rules"] if to_bus else []
    rules = [rule for rule in rules if not rule["Name"].startswith("Events-Archive-")]  # the archive's own
    assert {rule["Name"] for rule in rules} == (
        {"eb-eventbridge-SubscriberRule", "eb-eventbridge-MediaRule"} if bus_only else set()
    )
    alarms = {"SubscriberRuleDeadLetterFailuresAlarm", "MediaRuleDeadLetterFailuresAlarm"}
    assert alarms <= set(stack.physical) if bus_only else not alarms & set(stack.physical)
    dashboard = json.loads(
        stack.cloudwatch.get_dashboard(DashboardName=stack.physical["OperationsDashboard"]["Ref"])["DashboardBody"]
    )
    listed = dashboard["widgets"][0]["properties"]["alarms"]
    assert (
        all(stack.physical[alarm]["Arn"] in listed for alarm in alarms) if bus_only else len(listed) == len(set(listed))
    )
    # and the queues admit what feeds them
    for policy in ("SubscriberQueuePolicy", "MediaQueuePolicy"):
        statements = effective(stack, RESOURCES[policy]["Properties"]["PolicyDocument"]["Statement"])
        principals = {statement["Principal"]["Service"] for statement in statements}
        assert principals == ({"sns.amazonaws.com", "events.amazonaws.com"} if bus_only else {"sns.amazonaws.com"})


@pytest.mark.parametrize(("retention", "kept"), [("0", 0), ("30", 30)])
def test_the_archive_keeps_every_event_of_the_stack_for_its_retention(
    aws: boto3.session.Session, retention: str, kept: int
) -> None:
    stack = provisioned(aws, "SnsAndEventBridge", RetentionDays=retention)
    archive = aws.client("events").describe_archive(ArchiveName=stack.physical["MessagesArchive"]["Ref"])
    assert archive["RetentionDays"] == kept  # 0: for ever, as RetentionDays=0 keeps the messages
    assert archive["EventSourceArn"] == stack.physical["MessagesBus"]["Arn"]
    assert json.loads(archive["EventPattern"]) == {"source": [EVENT_SOURCE]}


def test_the_stack_s_rules_alarm_on_events_lost_for_their_queue(aws: boto3.session.Session) -> None:
    stack = provisioned(aws, "EventBridge")
    alarm = stack.cloudwatch.describe_alarms(
        AlarmNames=[stack.physical["SubscriberRuleDeadLetterFailuresAlarm"]["Ref"]]
    )
    (created,) = alarm["MetricAlarms"]
    assert (created["Namespace"], created["MetricName"]) == ("AWS/Events", "InvocationsFailedToBeSentToDlq")
    # a custom bus's rule metrics carry the bus and the rule's own name (its Ref is "bus|rule")
    assert {item["Name"]: item["Value"] for item in created["Dimensions"]} == {
        "EventBusName": "eb-eventbridge-events",
        "RuleName": "eb-eventbridge-SubscriberRule",
    }


# ---------------------------------------------------------------- what subscribers receive
def test_with_the_bus_only_the_stack_s_queues_get_the_topic_s_bodies_and_the_topic_nothing(
    aws: boto3.session.Session,
) -> None:
    stack = provisioned(aws, "EventBridge")
    topic_subscriber = subscribe_queue(stack, "topic-subscriber")
    example, media = (capture(stack, stack.physical[name]["Arn"]) for name in ("SubscriberQueue", "MediaQueue"))
    publish_one_of_each(stack)
    assert drain(stack, topic_subscriber) == []
    delivered = example()
    # the CloudEvent alone (InputPath $.detail), as raw SNS delivery gave it, messages and media only
    assert {type(parse_event(body)) for body in bodies(delivered)} == {MessageReceived, MediaArchived}
    assert [json.loads(body)["data"]["numMedia"] for body in bodies(media())] == [2]
    consumer = load_function(stack.functions()["ConsumerFunction"])
    assert all(consumer(event) == {"batchItemFailures": []} for event in delivered)


def test_an_archive_replay_sends_the_same_events_again_to_the_rule(aws: boto3.session.Session) -> None:
    stack = provisioned(aws, "SnsAndEventBridge")
    subscriber = bus_subscriber(stack, "helpdesk")
    publish_one_of_each(stack)
    first = [json.loads(body) for body in bodies(subscriber())]
    events = aws.client("events")
    rule = events.describe_rule(Name="helpdesk", EventBusName=stack.physical["MessagesBus"]["Ref"])
    replay = events.start_replay(
        ReplayName="helpdesk-missed",
        EventSourceArn=stack.physical["MessagesArchive"]["Arn"],
        EventStartTime=datetime(2026, 1, 1, tzinfo=UTC),
        EventEndTime=datetime(2099, 1, 1, tzinfo=UTC),
        Destination={"Arn": stack.physical["MessagesBus"]["Arn"], "FilterArns": [rule["Arn"]]},
    )
    assert replay["State"] in ("STARTING", "RUNNING", "COMPLETED")
    again = [json.loads(body) for body in bodies(subscriber())]
    # the same CloudEvents (dedupe on detail.id), each marked with the replay's name
    assert sorted(event["detail"]["id"] for event in again) == sorted(event["detail"]["id"] for event in first)
    assert {event["replay-name"] for event in again} == {"helpdesk-missed"}
    assert all("replay-name" not in event for event in first)


# ---------------------------------------------------------------- PutEvents' refused entries, as PublishBatch's
class RefusingBus:
    """EventBridge refusing the entries `refuse(entry, call)` names with `code`, putting the rest for real."""

    def __init__(self, real: Any, code: str, refuse: Callable[[dict[str, Any], int], bool]) -> None:
        self.real, self.code, self.refuse = real, code, refuse
        self.calls: list[int] = []  # entries per call

    def put_events(self, **kwargs: Any) -> dict[str, Any]:
        entries = kwargs["Entries"]
        self.calls.append(len(entries))
        refused = [self.refuse(entry, len(self.calls)) for entry in entries]
        accepted = [entry for entry, no in zip(entries, refused, strict=True) if not no]
        answers = iter(self.real.put_events(Entries=accepted)["Entries"] if accepted else [])
        return {
            "FailedEntryCount": sum(refused),
            "Entries": [
                {"ErrorCode": self.code, "ErrorMessage": "injected"} if no else next(answers) for no in refused
            ],
        }


def the_bus(stack: Stack, events: Any) -> BusPublisher:
    return BusPublisher(events, stack.physical["MessagesBus"]["Ref"], sleep=lambda _: None)


def test_a_throttled_entry_is_put_again_alone(aws: boto3.session.Session) -> None:
    stack = provisioned(aws, "SnsAndEventBridge")
    subscriber = bus_subscriber(stack, "all-events")
    third = '"id":"SM' + "0" * 31 + '3"'
    bus = RefusingBus(
        aws.client("events"), "ThrottlingException", lambda entry, call: call == 1 and third in entry["Detail"]
    )
    optouts = OptOutStore(aws.client("dynamodb"), stack.physical["OptOutsTable"]["Ref"])
    result = fan_out(stream_records(10), the_bus(stack, bus), optouts)
    assert (result.retry, result.published) == ([], 10)
    assert bus.calls == [10, 1]  # the refused entry alone, not the batch from it on
    delivered = [json.loads(body)["detail"]["id"] for body in bodies(subscriber())]
    assert sorted(delivered) == sorted(f"SM{index:032x}" for index in range(10))  # each once


def test_an_entry_refused_for_good_is_not_put_again_and_its_record_goes_back_to_the_stream(
    aws: boto3.session.Session,
) -> None:
    stack = provisioned(aws, "SnsAndEventBridge")
    topic_subscriber, bus_events = subscribe_queue(stack, "topic"), bus_subscriber(stack, "bus")
    poison = "SM" + "0" * 31 + "3"
    bus = RefusingBus(aws.client("events"), "MalformedDetail", lambda entry, _: poison in entry["Detail"])
    publisher = BothPublishers(
        TopicPublisher(aws.client("sns"), stack.physical["MessagesTopic"]["Ref"]), the_bus(stack, bus)
    )
    optouts = OptOutStore(aws.client("dynamodb"), stack.physical["OptOutsTable"]["Ref"])
    records = stream_records(6)
    result = fan_out(records, publisher, optouts)
    # refused for good: not retried in the call; Lambda resumes from that record (then bisects, then the DLQ)
    assert bus.calls == [6]
    assert result.retry == [record["dynamodb"]["SequenceNumber"] for record in records[3:]]
    assert "not published: " + poison in result.problems
    assert sorted(json.loads(body)["detail"]["id"] for body in bodies(bus_events())) == [
        f"SM{index:032x}" for index in (0, 1, 2, 4, 5)
    ]
    assert len(drain(stack, topic_subscriber)) == 6  # SNS took all six; the retry repeats some: dedupe on the id


def test_a_message_the_bus_keeps_refusing_lands_in_the_dlq_and_replay_delivers_it(
    aws: boto3.session.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fanout import handler as fanout_handler

    stack = provisioned(aws, "SnsAndEventBridge")
    bus_events = bus_subscriber(stack, "bus")
    functions = stack.functions()
    ingest = load_function(functions["IngestFunction"], OFFLINE_ENV)
    fanout = load_function(functions["FanoutFunction"])
    forms = [inbound_form(body=f"message {index}") for index in range(4)]
    for form in forms:
        assert ingest(signed_event(form))["statusCode"] == 200
    sids = [dict(form)["MessageSid"] for form in forms]
    topic = TopicPublisher(aws.client("sns"), stack.physical["MessagesTopic"]["Ref"])
    refusing = RefusingBus(aws.client("events"), "InternalFailure", lambda entry, _: sids[2] in entry["Detail"])
    monkeypatch.setattr(fanout_handler, "publisher", BothPublishers(topic, the_bus(stack, refusing)))
    (source,) = functions["FanoutFunction"].events
    poller = StreamPoller(
        stack.session, source.arn, fanout, source.properties, retry_delay=0.001, function="FanoutFunction"
    )
    while poller.poll_once():
        pass
    assert {json.loads(body)["detail"]["id"] for body in bodies(bus_events())} == set(sids) - {sids[2]}
    sqs, dlq = aws.client("sqs"), stack.physical["FanoutDeadLetterQueue"]["Ref"]
    (dead,) = sqs.receive_message(QueueUrl=dlq, VisibilityTimeout=0)["Messages"]
    assert json.loads(dead["Body"])["DDBStreamBatchInfo"]["batchSize"] == 1  # that record's range alone
    # WHEN the bus takes it again and the operator replays the dead letter, to the topic and the bus
    client = aws.client("dynamodb")
    tables = stack.physical["MessagesTable"]["Ref"], stack.physical["OptOutsTable"]["Ref"]
    replay = Replayer(
        MessageStore(client, *tables),
        BothPublishers(topic, the_bus(stack, aws.client("events"))),
        OptOutStore(client, tables[1]),
    )
    assert replay.from_dead_letters(sqs, dlq, aws.client("dynamodbstreams")).published == [sids[2]]
    assert [json.loads(body)["detail"]["id"] for body in bodies(bus_events())] == [sids[2]]


# ---------------------------------------------------------------- an HTTPS subscriber's stack
HTTPS_TEMPLATE = load_template(ROOT / "subscribers" / "https-subscriber.yaml")


def test_the_https_subscriber_stack_authenticates_limits_retries_and_keeps_what_fails() -> None:
    resources = HTTPS_TEMPLATE["Resources"]
    connection = resources["Connection"]["Properties"]
    assert connection["AuthorizationType"] == "API_KEY"
    key = connection["AuthParameters"]["ApiKeyAuthParameters"]
    assert key["ApiKeyName"] == {"Ref": "AuthHeaderName"}
    assert key["ApiKeyValue"] == {
        "Fn::Sub": "{{resolve:secretsmanager:${AuthSecretArn}:SecretString}}"
    }  # never a parameter value
    destination = resources["Destination"]["Properties"]
    assert destination["InvocationRateLimitPerSecond"] == {"Ref": "RequestsPerSecond"}
    (target,) = resources["DeliveryRule"]["Properties"]["Targets"]
    assert target["InputPath"] == "$.detail"
    assert target["RetryPolicy"] == {
        "MaximumRetryAttempts": {"Ref": "MaximumRetryAttempts"},
        "MaximumEventAgeInSeconds": {"Ref": "MaximumEventAgeSeconds"},
    }
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}
    (statement,) = resources["InvokeRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert (statement["Action"], statement["Resource"]) == (
        "events:InvokeApiDestination",
        {"Fn::GetAtt": ["Destination", "Arn"]},
    )
    (queue_statement,) = resources["DeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert queue_statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["DeliveryRule", "Arn"]}}}
    alarms = {name for name, resource in resources.items() if resource["Type"] == "AWS::CloudWatch::Alarm"}
    assert alarms == {"DeadLetterQueueAlarm", "DeadLetterFailuresAlarm"}


class Endpoint(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str]]] = []

    def do_POST(self) -> None:
        Endpoint.received.append((self.command, self.path))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[str]:
    Endpoint.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/twilio"
    server.shutdown()


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_the_https_subscriber_stack_delivers_the_event_types_it_names(
    aws: boto3.session.Session, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOTO_EVENTS_INVOKE_HTTP", "true")  # moto calls API destinations only when asked
    stack = provisioned(aws, "SnsAndEventBridge")
    secret = aws.client("secretsmanager").create_secret(Name="helpdesk-key", SecretString="Bearer not-a-real-key")
    Stack(
        aws,
        stack_name="helpdesk",
        template=HTTPS_TEMPLATE,
        parameters={
            "EventBusName": stack.outputs()["EventBusName"],
            "AlarmTopicArn": stack.outputs()["AlarmTopicArn"],
            "EndpointUrl": endpoint,  # plain HTTP here: the template's pattern asks for https:// in AWS
            "AuthSecretArn": secret["ARN"],
        },
    ).provision()
    publish_one_of_each(stack)
    # one call per message.received event (the default EventTypes); not its media or status events
    assert Endpoint.received == [("POST", "/hooks/twilio")]
