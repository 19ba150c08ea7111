"""The local emulator's replacements for moto code answer exactly as moto does (guards moto upgrades), and its
table writes are atomic."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from moto.core.utils import unix_time_millis
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
from moto.sqs.models import Queue, SQSBackend, sqs_backends

from devtools.emulator import _sqs_retained, _stream_records_as_json, lighten_emulator
from devtools.lambda_context import ACCOUNT_ID
from devtools.moto_atomic import WRITES, serialize_dynamodb_writes
from devtools.template import Stack
from twilio_inbound.dynamo import to_item
from twilio_inbound.message import build_record, check_parameters, group_pairs
from twilio_inbound_cli.signing import inbound_form


def _records(stack: Stack, limit: int) -> list[Any]:
    session = stack.session
    table = stack.physical["MessagesTable"]["Ref"]
    stream_arn = session.client("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"]
    streams = session.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return list(streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=limit)["Records"])


def test_stream_records_are_what_moto_serializes(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN stored messages whose items hold every attribute type we write (and binary, numbers, sets, null)
    client = stack.session.client("dynamodb")
    table = stack.physical["MessagesTable"]["Ref"]
    forms = [
        inbound_form(body="plain"),
        inbound_form(body="¿media? ✅", media=[("https://media.example/a.jpg", "image/jpeg")] * 3),
    ]
    for form in forms:
        item = to_item(build_record(check_parameters(group_pairs(form)), datetime.now(UTC)))
        item |= {"blob": {"B": b"\x00\xffzlib"}, "tags": {"SS": ["a", "b"]}, "n": {"N": "-1.5e3"}, "x": {"NULL": True}}
        client.put_item(TableName=table, Item=item)
    expected = _records(stack, limit=10)

    # WHEN GetRecords is answered by the replacement
    monkeypatch.setattr(DynamoDBStreamsHandler, "get_records", _stream_records_as_json)
    lightened = _records(stack, limit=10)

    # THEN the SDK parses the same records (the same images, keys, sequence numbers and times)
    assert len(expected) == 2
    assert lightened == expected
    assert _records(stack, limit=1) == expected[:1]


@pytest.mark.parametrize(("age_seconds", "retained"), [(0, True), (59, True), (61, False)])
def test_sqs_retention_check_agrees_with_moto(aws: Any, age_seconds: int, retained: bool) -> None:
    # GIVEN a queue that keeps messages for 60 seconds and a message of a given age
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="retention", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    backend = sqs_backends[ACCOUNT_ID]["us-east-1"]
    (message,) = backend.get_queue("retention")._messages
    message.sent_timestamp = int(unix_time_millis()) - age_seconds * 1000  # type: ignore[assignment]

    # THEN the replacement and moto's own check agree
    assert SQSBackend.is_message_valid_based_on_retention_period(backend, "retention", message) is retained
    assert _sqs_retained(backend, "retention", message) is retained


def test_queue_counts_and_visible_messages_agree_with_moto(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a queue with messages visible, in flight (received, not deleted) and delayed
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="counts")["QueueUrl"]
    for index in range(7):
        sqs.send_message(QueueUrl=url, MessageBody=f"visible {index}")
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3, VisibilityTimeout=60)
    for index in range(2):
        sqs.send_message(QueueUrl=url, MessageBody=f"delayed {index}", DelaySeconds=60)
    queue = sqs_backends[ACCOUNT_ID]["us-east-1"].get_queue("counts")
    names = [
        "approximate_number_of_messages",
        "approximate_number_of_messages_not_visible",
        "approximate_number_of_messages_delayed",
    ]
    moto_answers = [getattr(queue, name) for name in names] + [queue.messages, queue.attributes]

    # WHEN the emulator's replacements are installed (undone after the test)
    for name in [*names, "messages"]:
        monkeypatch.setattr(Queue, name, getattr(Queue, name))
    monkeypatch.setattr(SQSBackend, "is_message_valid_based_on_retention_period", _sqs_retained)
    monkeypatch.setattr(DynamoDBStreamsHandler, "get_records", DynamoDBStreamsHandler.get_records)
    lighten_emulator()

    # THEN the counts, the receivable messages and the queue's attributes are the same
    assert moto_answers[:3] == [4, 3, 2]  # visible: 7 - 3 in flight; delayed ones are not counted visible
    assert [getattr(queue, name) for name in names] + [queue.messages, queue.attributes] == moto_answers


def test_concurrent_writes_are_atomic_as_in_dynamodb(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the emulator's serialized writes (undone after the test) and a table with a stream
    for name in WRITES:
        monkeypatch.setattr(DynamoDBBackend, name, getattr(DynamoDBBackend, name))
    serialize_dynamodb_writes()
    client = aws.client("dynamodb")
    client.create_table(
        TableName="writes",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    stored: list[str] = []

    def write(thread: int) -> None:
        own = aws.client("dynamodb")
        for index in range(40):
            own.put_item(TableName="writes", Item={"k": {"S": f"{thread}-{index}"}, "v": {"S": "x" * 500}})
        try:  # every thread races for one key, as Twilio's retries of one message do
            own.put_item(TableName="writes", Item={"k": {"S": "same"}}, ConditionExpression="attribute_not_exists(k)")
            stored.append(str(thread))
        except own.exceptions.ConditionalCheckFailedException:
            pass

    # WHEN eight threads write at once
    threads = [threading.Thread(target=write, args=(thread,)) for thread in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # THEN every stream record has a sequence number of its own, and the contested key was written once
    records = _stream_of(aws, "writes")
    assert len(stored) == 1
    assert len(records) == 8 * 40 + 1
    assert len({record["dynamodb"]["SequenceNumber"] for record in records}) == len(records)


def _stream_of(aws: Any, table: str) -> list[Any]:
    client = aws.client("dynamodb")
    streams = aws.client("dynamodbstreams")
    arn = client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return list(streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)["Records"])
