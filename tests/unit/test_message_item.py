"""The messages table's item: the record read back is the record written, old items still read, no scan needed."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devtools.lambda_events import as_event_json
from devtools.template import Stack
from fanout.outbox import fan_out
from tests.unit.test_fanout import NoOptOuts
from twilio_inbound.dynamo import to_item
from twilio_inbound.message import MessageRecord, StorageOptions, build_record, check_parameters, group_pairs
from twilio_inbound.message_item import DOCUMENT, _deflate, message_item
from twilio_inbound.messages_table import BY_CONVERSATION_INDEX, MessageStore, record_from_item
from twilio_inbound.numbers import NumberConfig
from twilio_inbound.publishing import Outgoing, TopicPublisher
from twilio_inbound_cli.signing import inbound_form

AT = datetime(2026, 11, 24, 9, 30, 0, 123_000, tzinfo=UTC)
MEDIA = [(f"https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME{i}", "image/jpeg") for i in range(10)]


def record(at: datetime = AT, number: NumberConfig | None = None, retention: int = 0, **form: Any) -> MessageRecord:
    return build_record(check_parameters(group_pairs(inbound_form(**form))), at, StorageOptions(retention), number)


FORMS: dict[str, dict[str, Any]] = {
    "sms": {"body": "Hi! Is my order 4521 on its way? 📦"},
    "mms with 10 media": {"body": "photos", "media": MEDIA},
    "whatsapp": {"body": "hola", "sender": "whatsapp:+14155550100", "to": "whatsapp:+15005550001"},
    "repeated keys, blanks, odd text": {
        "body": "ü\n😀 <&>",
        "extra": [("Custom", "a"), ("Custom", "b"), ("Empty", "")],
    },
}


@pytest.mark.parametrize("form", FORMS.values(), ids=list(FORMS))
def test_the_item_reads_back_as_the_record_written(form: dict[str, Any]) -> None:
    written = record(**form)
    assert record_from_item(message_item(written)) == written
    # AND Lambda's stream event, whose JSON carries binary as base64 text, reads the same
    assert record_from_item(as_event_json(message_item(written))) == written


def test_what_was_decided_on_receipt_survives_even_when_the_registry_changes() -> None:
    # GIVEN a STOP, and a custom keyword, to a disabled registered number, with a retention, recovered by reconcile
    number = NumberConfig(number="+15005550001", enabled=False, keywords={"PRICE": "see web"}, tags=("x", "y"))
    stop = record(number=number, retention=30, body=" stop ")
    stop["recovered"] = True
    price = record(number=number, body="price")
    assert (stop["optOutType"], price["keyword"], stop["delivered"]) == ("STOP", "PRICE", False)
    # THEN the item gives back the same decisions, entry point and expiry without the registry
    for written in (stop, price):
        item = message_item(written)
        assert record_from_item(item) == written
    assert message_item(stop)["expiresAt"] == {"N": str(stop["expiresAt"])}


def test_only_keys_ttl_and_one_document_are_stored() -> None:
    item = message_item(record(retention=7, **FORMS["mms with 10 media"]))
    assert set(item) == {"messageSid", "to", "conversation", "receivedAt", DOCUMENT, "expiresAt"}


def _deflate_as_before(data: bytes) -> bytes:
    """The compressor the item was written with until its state was sized to the input: zlib's defaults."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=40_000),
        st.text(alphabet='ab{}":,', max_size=40_000).map(str.encode),  # long chains of colliding matches
        st.text(max_size=4_000).map(lambda text: text.encode("utf-8", "surrogatepass")),
        st.integers(0, 40_000).map(lambda size: b"a" * size),  # one byte repeated: the longest chains of all
    )
)
def test_the_document_compresses_to_the_same_bytes_as_with_zlibs_default_state(data: bytes) -> None:
    # GIVEN any document, small or past every size threshold of the state
    # THEN the stored bytes are exactly those the default window and memory level give
    assert _deflate(data) == _deflate_as_before(data)


@pytest.mark.parametrize("form", FORMS.values(), ids=FORMS.keys())
def test_every_kind_of_message_compresses_as_before(form: dict[str, Any]) -> None:
    text = message_item(record(**form))[DOCUMENT]["B"][1:]
    document = zlib.decompress(text, -15)
    assert text == _deflate_as_before(document)


def test_items_written_before_this_format_still_read() -> None:
    # GIVEN an item as the table held it before (every field its own attribute), and its stream image
    written = record(**FORMS["mms with 10 media"])
    old = to_item(written)
    # THEN it reads as the same record
    assert record_from_item(old) == written


def test_an_item_whose_keys_disagree_with_its_document_or_of_an_unknown_format_is_refused() -> None:
    item = message_item(record())
    with pytest.raises(ValueError, match="to does not match"):
        record_from_item({**item, "to": {"S": "+15005550999"}})
    with pytest.raises(KeyError):
        record_from_item({name: value for name, value in item.items() if name != "conversation"})
    with pytest.raises(ValueError, match="unknown message format"):
        record_from_item({**item, DOCUMENT: {"B": b"\x02" + item[DOCUMENT]["B"][1:]}})


class Topic(TopicPublisher):
    def __init__(self) -> None:
        self.published: list[Outgoing] = []

    def publish_batch(self, batch: Any) -> list[Outgoing]:
        self.published += batch
        return []


def stream_record(image: dict[str, Any], sequence: int) -> dict[str, Any]:
    return {
        "eventID": str(sequence),
        "eventName": "INSERT",
        "dynamodb": {"NewImage": image, "SequenceNumber": str(sequence)},
    }


def test_the_fanout_publishes_an_old_and_a_new_item_alike() -> None:
    # GIVEN the same message in the stream before an upgrade (old item) and after (this format, as Lambda's JSON)
    written = record()
    old, new = Topic(), Topic()
    fan_out([stream_record(to_item(written), 1)], old, NoOptOuts())
    fan_out([stream_record(as_event_json(message_item(written)), 1)], new, NoOptOuts())
    # THEN subscribers get the same event
    assert [item.message for item in new.published] == [item.message for item in old.published]
    assert len(new.published) == 1


def test_a_numbers_and_a_conversations_messages_come_back_in_order_through_keys_only_indexes(stack: Stack) -> None:
    # GIVEN the template's table, and five messages from two senders to one number, stored out of order, one of
    # them in the format from before (an item written before the upgrade)
    client = stack.session.client("dynamodb")
    table = stack.physical["MessagesTable"]["Ref"]
    indexes = client.describe_table(TableName=table)["Table"]["GlobalSecondaryIndexes"]
    assert {index["IndexName"]: index["Projection"]["ProjectionType"] for index in indexes} == {
        "ByNumber": "KEYS_ONLY",
        "ByConversation": "KEYS_ONLY",
    }
    senders = ["+14155550001", "+14155550002", "+14155550001", "+14155550002", "+14155550001"]
    records = [record(AT + timedelta(seconds=i), body=f"message {i}", sender=s) for i, s in enumerate(senders)]
    for index, written in reversed(list(enumerate(records))):
        client.put_item(TableName=table, Item=to_item(written) if index == 2 else message_item(written))
    store = MessageStore(client, table, "")
    # THEN a number's messages in a time range come back whole, in time order (Query, then BatchGetItem)
    since, until = records[1]["receivedAt"], records[3]["receivedAt"]
    assert store.received_between(since, until, "+15005550001") == records[1:4]
    # AND one conversation's MessageSids in time order, each readable by key
    conversation = records[0]["conversation"]
    sids = store.sids_between(BY_CONVERSATION_INDEX, conversation)
    assert sids == [records[i]["messageSid"] for i in (0, 2, 4)]
    assert [store.get(sid) for sid in sids] == [records[i] for i in (0, 2, 4)]
