"""Duplicates under concurrency: the same MessageSid delivered 20 times at once is stored once, published once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.integration.helpers import LocalStack, receive_events, stored
from twilio_inbound.message_item import item_values
from twilio_inbound_cli.send_command import post_signed
from twilio_inbound_cli.signing import TEST_AUTH_TOKEN, inbound_form, new_message_sid

pytestmark = pytest.mark.integration

DELIVERIES = 20


@pytest.fixture(scope="module")
def own_subscriber(local_stack: LocalStack) -> str:
    """A queue of this module's own on the topic (another module's queue would see these events too)."""
    return local_stack.subscribe("concurrency-subscriber")


def stream_records(stack: LocalStack, message_sid: str) -> list[str]:
    """The event names (INSERT, MODIFY, ...) the table's stream holds for one MessageSid: one per write."""
    streams = stack.client("dynamodbstreams")
    table = stack.client("dynamodb").describe_table(TableName=stack.outputs["MessagesTableName"])["Table"]
    stream_arn = table["LatestStreamArn"]
    names: list[str] = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            response = streams.get_records(ShardIterator=iterator, Limit=1000)
            records: list[dict[str, Any]] = response["Records"]
            names += [r["eventName"] for r in records if r["dynamodb"]["Keys"]["messageSid"]["S"] == message_sid]
            iterator = response.get("NextShardIterator") if records else None
    return names


def test_the_same_message_delivered_20_times_at_once_is_stored_once_and_published_once(
    local_stack: LocalStack, own_subscriber: str
) -> None:
    # GIVEN 20 deliveries of one MessageSid (as retries and a fallback URL can overlap), each with its own body so
    # that an overwrite would show
    sid = new_message_sid()
    forms = [inbound_form(body=f"delivery {attempt}", message_sid=sid) for attempt in range(DELIVERIES)]
    start = threading.Barrier(DELIVERIES)

    def deliver(form: list[tuple[str, str]]) -> int:
        start.wait(timeout=30)  # all 20 requests leave together
        return post_signed(local_stack.url, form, TEST_AUTH_TOKEN)[0]

    # WHEN they are POSTed concurrently over real HTTP
    with ThreadPoolExecutor(DELIVERIES) as pool:
        statuses = list(pool.map(deliver, forms))

    # THEN every one is acknowledged (Twilio must stop retrying) ...
    assert statuses == [200] * DELIVERIES
    # ... the table was written once: one INSERT in its stream, no overwrite ...
    item = stored(local_stack, sid)
    assert item is not None
    assert stream_records(local_stack, sid) == ["INSERT"]
    # ... and one event was published, carrying the body that was stored
    events = receive_events(local_stack, own_subscriber, expected=1)
    assert [event["id"] for event in events] == [sid]
    assert events[0]["data"]["body"] == item_values(item)["body"]
    assert item_values(item)["body"] in {f"delivery {attempt}" for attempt in range(DELIVERIES)}
