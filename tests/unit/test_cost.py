"""bench/cost.py: DynamoDB's size rules, the stored message's write units, and the cost targets."""

from __future__ import annotations

import pytest

from bench.cost import (
    BEFORE_INDEXES,
    CORPUS,
    TARGET_KIND,
    TARGETS,
    Workload,
    corpus_record,
    correlation_dollars,
    eventbridge_dollars,
    index_entry,
    item_size,
    measure,
    stored,
    target_rows,
    template_layout,
    write_units,
)
from twilio_inbound.dynamo import to_item
from twilio_inbound.message_item import message_item

# The benchmark's figures of a full run (docs/PERFORMANCE.md): 1 PutItem per message, 11 calls per 100 records.
WORK = Workload(1, 753, 0.11, 0.10, 380, "fixed for the test")


def test_sizes_follow_the_documented_rules() -> None:
    # GIVEN one attribute of each type, sized by hand from "DynamoDB item sizes and formats"
    item = {
        "s": {"S": "héllo"},  # 1 + 6 (é is 2 bytes in UTF-8)
        "n": {"N": "-12300.0"},  # 1 + (3 significant digits -> 2 bytes) + 1
        "i": {"N": "1795491289"},  # 1 + (10 digits -> 5) + 1
        "b": {"B": b"\x00\x01\x02"},  # 1 + 3 raw bytes
        "t": {"BOOL": True},  # 1 + 1
        "z": {"NULL": True},  # 1 + 1
        "l": {"L": [{"S": "ab"}, {"N": "7"}]},  # 1 + 3 + (1 + 2) + (1 + 2)
        "m": {"M": {"k": {"S": "v"}}},  # 1 + 3 + (1 + 1 + 1)
        "ss": {"SS": ["a", "bc"]},  # 2 + 3
    }
    # THEN each is its name plus its value, and a list or map adds 3 plus 1 per element
    assert item_size(item) == 7 + 4 + 7 + 4 + 2 + 2 + 10 + 7 + 5
    assert [write_units(size) for size in (1, 1024, 1025, 4096)] == [1, 1, 2, 4]


def test_an_index_entry_holds_what_its_projection_says() -> None:
    item = {"messageSid": {"S": "SM1"}, "to": {"S": "+1"}, "receivedAt": {"S": "t"}, "d": {"B": b"x" * 900}}
    keys = {"keys": ("to", "receivedAt")}
    assert index_entry(item, "messageSid", {**keys, "projection": "ALL"}) == item
    assert set(index_entry(item, "messageSid", {**keys, "projection": "KEYS_ONLY"}) or {}) == {
        "messageSid",
        "to",
        "receivedAt",
    }
    assert "d" in (index_entry(item, "messageSid", {**keys, "projection": "INCLUDE", "include": ("d",)}) or {})
    # AND an item without the index's key is not in the index (an outbound message before its number is known)
    assert index_entry(item, "messageSid", {"keys": ("conversation", "receivedAt"), "projection": "ALL"}) is None


def test_the_template_indexes_project_keys_only() -> None:
    key, indexes = template_layout()
    assert key == "messageSid"
    assert {name: spec["projection"] for name, spec in indexes.items()} == {
        "ByNumber": "KEYS_ONLY",
        "ByConversation": "KEYS_ONLY",
    }


@pytest.mark.parametrize("kind", [kind for kind in CORPUS if kind != "SMS 1600 chars"])
def test_every_write_of_a_message_is_one_unit(kind: str) -> None:
    # GIVEN a message with every feature on (Messaging Service, registered number, retention), as stored now
    key, indexes = template_layout()
    record = corpus_record(kind)
    after = stored(message_item(record), key, indexes)
    # THEN the item and each index entry are under 1 KB: three write units
    assert after.item_bytes < 1024
    assert all(size < 1024 for size in after.index_bytes.values())
    assert after.write_units == 3
    # AND before (every field an attribute, ALL-projection indexes) it was twice that or more
    assert stored(to_item(record), key, BEFORE_INDEXES).write_units >= 6


def test_a_160_character_sms_meets_both_targets() -> None:
    costs = measure(WORK)
    rows = {row.name: row for row in target_rows(costs)}
    assert all(row.ok for row in rows.values()), [row.failure() for row in rows.values()]
    (sms,) = [cost for cost in costs if cost.kind == TARGET_KIND]
    assert sms.after_http_api - sms.after_function_url == pytest.approx(1.00)  # the HTTP API's request charge
    assert sms.after_function_url <= TARGETS["function_url"]
    assert sms.before_http_api > 5  # 6 write units before


def test_the_bus_adds_a_put_event_per_message_and_the_archive_its_bytes() -> None:
    # GIVEN the 160-character SMS's event (about 2 KB: one 64 KB chunk)
    (sms,) = [cost for cost in measure(WORK) if cost.kind == TARGET_KIND]
    parts = eventbridge_dollars(sms.event_bytes, WORK)
    # THEN EventBridge bills one custom event per message ($1.00 per million), the archive ~$0.10 per GB of events,
    # and the fanout waits a round trip per 10 events: twenty times SNS's share (a PublishBatch of 10 per request)
    assert parts["put_events"] == 1.00
    assert parts["archive"] == pytest.approx(sms.event_bytes * 1e6 / 1024**3 * 0.10)
    assert sms.eventbridge == pytest.approx(sum(parts.values()))
    assert sms.eventbridge / sms.parts_after_http_api["sns"] > 20


def test_reply_correlation_reads_a_query_and_an_item_per_inbound_message() -> None:
    # a Query of ByConversation and one item read, each half a read unit ($0.125 per million units), and the
    # fanout's wait for the two calls
    parts = correlation_dollars()
    assert parts["reads"] == pytest.approx(0.125)
    assert 0 < parts["fanout_lambda"] < parts["reads"]
    (sms,) = [cost for cost in measure(WORK) if cost.kind == TARGET_KIND]
    assert sms.correlation == pytest.approx(sum(parts.values()))
