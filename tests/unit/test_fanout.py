"""The fan-out: what subscribers receive for each new message, and what happens when SNS fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from devtools.lambda_events import stored_record, stream_record
from devtools.lambda_runtime import Invoke
from devtools.make_events import RECEIVED_AT
from devtools.template import ROOT, Stack
from fanout.outbox import fan_out
from tests.unit.helpers import SCHEMA, Injector, drain, load_event, subscribe_queue
from twilio_inbound.message_item import item_values
from twilio_inbound.messages_table import record_from_item
from twilio_inbound.opt_outs_table import OptOutStore
from twilio_inbound.publishing import MAX_BATCH_BYTES, Outgoing, TopicPublisher, batches, outgoing_for
from twilio_inbound_cli.signing import inbound_form

STREAM_ARN = load_event("dynamodb-stream.json")["Records"][0]["eventSourceARN"]
FILTERABLE = {"eventType", "to", "from", "channel", "fromCountry", "hasMedia", "optOutType"}


def stream_records(count: int, body: str = "hello") -> list[dict[str, Any]]:
    """Stream records of `count` new messages (SM000...0, SM000...1, ...), as the table's stream carries them."""
    return [
        stream_record(
            stored_record(inbound_form(body=f"{body} {index}", message_sid=f"SM{index:032x}"), RECEIVED_AT),
            event_id=f"{index:032x}",
            sequence_number=1000 + index,
            stream_arn=STREAM_ARN,
            created_at=RECEIVED_AT,
        )
        for index in range(count)
    ]


def test_stream_event_becomes_valid_cloudevents_for_subscribers(stack: Stack, fanout: Invoke) -> None:
    # GIVEN a subscriber queue on the topic
    queue = subscribe_queue(stack)
    event = load_event("dynamodb-stream.json")
    # WHEN the fanout function gets the table's stream records
    result = fanout(event)
    # THEN every new message reaches the subscriber once, as a schema-valid CloudEvent
    assert result == {"batchItemFailures": []}
    received = drain(stack, queue)
    assert len(received) == len(event["Records"])
    by_id = {item["event"]["id"]: item for item in received}
    for record in event["Records"]:
        image = item_values(record["dynamodb"]["NewImage"])  # binary as base64 text, as Lambda's JSON has it
        delivered = by_id[image["messageSid"]]
        cloud_event = delivered["event"]
        jsonschema.validate(cloud_event, SCHEMA)
        assert cloud_event["data"]["body"] == image["body"]
        assert cloud_event["data"]["from"] == image["from"]
        assert cloud_event["data"]["parameters"]["Body"] == image["body"]
        assert cloud_event["time"] == image["receivedAt"]
        attributes = {name: value["StringValue"] for name, value in delivered["attributes"].items()}
        assert set(attributes) <= FILTERABLE
        assert len(attributes) < 10
        assert attributes["to"] == image["to"]
        assert attributes["channel"] == image["channel"]
        assert attributes["hasMedia"] == ("true" if image["media"] else "false")


def test_subscribers_filter_on_attributes(stack: Stack, fanout: Invoke) -> None:
    whatsapp_only = subscribe_queue(stack, "whatsapp-team", {"channel": ["whatsapp"]})
    opt_outs = subscribe_queue(stack, "compliance", {"optOutType": ["STOP"]})
    media = subscribe_queue(stack, "media-team", {"hasMedia": ["true"]})
    fanout(load_event("dynamodb-stream.json"))
    assert [item["event"]["data"]["channel"] for item in drain(stack, whatsapp_only)] == ["whatsapp"]
    assert [item["event"]["data"]["body"] for item in drain(stack, opt_outs)] == ["STOP"]
    assert [item["event"]["data"]["numMedia"] for item in drain(stack, media)] == [2]


def test_publishes_ten_per_call(stack: Stack, fanout: Invoke) -> None:
    from fanout import handler as fanout_handler  # loaded by the fixture, with its environment

    calls: list[int] = []
    assert isinstance(fanout_handler.publisher, TopicPublisher)  # PublishTo=Sns, the default
    client = fanout_handler.publisher._client
    hook = lambda params, **_: calls.append(len(params["PublishBatchRequestEntries"]))  # noqa: E731
    client.meta.events.register("provide-client-params.sns.PublishBatch", hook)
    try:
        queue = subscribe_queue(stack)
        assert fanout({"Records": stream_records(95)}) == {"batchItemFailures": []}
    finally:
        client.meta.events.unregister("provide-client-params.sns.PublishBatch", hook)
    assert calls == [10] * 9 + [5]
    assert len(drain(stack, queue)) == 95


def test_batches_respect_the_size_limit() -> None:
    big = Outgoing(0, "SM1", "x" * (100 * 1024), {})
    small = Outgoing(1, "SM2", "y", {})
    grouped = list(batches([big, big, big, small]))
    assert [len(batch) for batch in grouped] == [2, 2]
    assert all(sum(item.size for item in batch) <= MAX_BATCH_BYTES for batch in grouped)


def test_only_new_messages_are_published(stack: Stack, fanout: Invoke) -> None:
    queue = subscribe_queue(stack)
    records = stream_records(3)
    records[1]["eventName"] = "REMOVE"  # a TTL expiry
    records[2]["eventName"] = "MODIFY"
    assert fanout({"Records": records}) == {"batchItemFailures": []}
    assert [item["event"]["id"] for item in drain(stack, queue)] == [f"SM{0:032x}"]


class NoOptOuts(OptOutStore):
    """Nobody has opted out (the tests of publishing that need no table)."""

    def __init__(self) -> None:
        pass

    def opted_out(self, pairs: Any) -> set[tuple[str, str]]:
        list(pairs)
        return set()


class FlakyTopic(TopicPublisher):
    """SNS accepting some entries and failing others, as PublishBatch can."""

    def __init__(self, fail_sids: set[str]) -> None:
        self.fail_sids = fail_sids
        self.published: list[str] = []

    def publish_batch(self, batch: Any) -> list[Outgoing]:
        failed = [item for item in batch if item.message_sid in self.fail_sids]
        self.published += [item.message_sid for item in batch if item not in failed]
        return failed


def test_partial_publish_failure_retries_from_the_first_failed_record() -> None:
    records = stream_records(25)
    topic = FlakyTopic({f"SM{13:032x}"})
    retry = fan_out(records, topic, NoOptOuts()).retry
    # Lambda resumes from the first failure: it and everything after it are retried
    assert retry == [record["dynamodb"]["SequenceNumber"] for record in records[13:]]
    # later batches were not published by this invocation (they would only be duplicated)
    assert topic.published == [f"SM{i:032x}" for i in range(20) if i != 13]


def test_sns_outage_fails_the_whole_batch(stack: Stack) -> None:
    sns = stack.session.client("sns")
    topic = TopicPublisher(sns, stack.physical["MessagesTopic"]["Ref"])
    records = stream_records(4)
    with Injector(sns, "before-call.sns.PublishBatch", (503, "ServiceUnavailable")):
        retry = fan_out(records, topic, NoOptOuts()).retry
    assert retry == [record["dynamodb"]["SequenceNumber"] for record in records]


def test_an_unusable_record_is_reported_not_dropped() -> None:
    records = stream_records(3)
    del records[1]["dynamodb"]["NewImage"]["to"]
    topic = FlakyTopic(set())
    retry = fan_out(records, topic, NoOptOuts()).retry
    assert retry == [records[1]["dynamodb"]["SequenceNumber"], records[2]["dynamodb"]["SequenceNumber"]]
    assert topic.published == [f"SM{0:032x}"]


def first_event() -> dict[str, Any]:
    image = load_event("dynamodb-stream.json")["Records"][0]["dynamodb"]["NewImage"]
    (outgoing,) = outgoing_for([(0, record_from_item(image))], NoOptOuts())
    event: dict[str, Any] = json.loads(outgoing.message)
    return event


def test_event_has_inbound_message_v1_field_names() -> None:
    event = first_event()
    assert set(event["data"]) == set(SCHEMA["properties"]["data"]["required"])
    assert event["id"] == event["data"]["messageSid"]
    assert isinstance(event["data"]["numMedia"], int)


def test_schema_rejects_a_malformed_event() -> None:
    event = first_event()
    event["data"]["numMedia"] = "2"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(event, SCHEMA)


def test_consumer_processes_events_and_reports_bad_records(consumer: Invoke) -> None:
    event = load_event("sqs-subscriber.json")
    assert consumer(event) == {"batchItemFailures": []}
    event["Records"][1]["body"] = json.dumps({"specversion": "1.0", "type": "something.else"})
    event["Records"][2]["body"] = "not json"
    result = consumer(event)
    failed = {failure["itemIdentifier"] for failure in result["batchItemFailures"]}
    assert failed == {event["Records"][1]["messageId"], event["Records"][2]["messageId"]}


def test_events_dir_is_up_to_date(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from devtools import make_events

    monkeypatch.setattr(make_events, "EVENTS_DIR", tmp_path)
    make_events.main()
    for generated in tmp_path.iterdir():
        assert generated.read_text() == (ROOT / "events" / generated.name).read_text(), generated.name
