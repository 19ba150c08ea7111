"""bench/sending_cost.py: the writes of one message sent, sized from what the real stores write, and the model."""

from __future__ import annotations

import itertools

import pytest

from bench.cost import PRICE
from bench.sending_cost import (
    CALLBACKS,
    USUAL_CALLBACKS,
    Options,
    SendingWork,
    SentItems,
    levers,
    message_dollars,
    sent_items,
)

# The benchmark's figures of a quick run: the sender's and the status route's CPU and calls (fixed for the test).
WORK = SendingWork(
    sender_cpu_us=3500,
    sender_calls={"dynamodb.GetItem": 2, "dynamodb.PutItem": 2, "dynamodb.UpdateItem": 2, "twilio.Messages.create": 1},
    status_cpu_us=600,
    status_calls={"dynamodb.UpdateItem": 1},
    fanout_cpu_us=400,
    source="fixed for the test",
)


@pytest.fixture(scope="module")
def items() -> SentItems:
    return sent_items()


def test_every_write_of_a_message_sent_is_one_unit_but_the_new_outbound_item(items: SentItems) -> None:
    # GIVEN a reply sent with every feature on, written by the sender's and the status route's own stores
    units = {write.what: write.units for write in items.sender}
    # THEN the intent and every status are one unit each, the new outbound item (with the create call's status: one
    # write, not two) one plus one per index it enters; it is streamed, and its status published
    assert units == {
        "intent claimed": 1,
        "intent sent": 1,
        "outbound item, with its first status (the create call's answer)": 3,
    }
    assert items.sender[-1].publishes
    assert items.sender[-1].stream_record
    assert all(write.item_bytes < 1024 for write in [*items.sender, *items.callbacks.values()])
    assert {name: write.units for name, write in items.callbacks.items()} == dict.fromkeys(
        ["sending", "sent", "delivered", "read", "repeat"], 1
    )
    # AND a status that moved is streamed and published; a repeat of one is neither
    assert items.callbacks["delivered"].publishes
    assert items.callbacks["delivered"].stream_record
    assert not items.callbacks["repeat"].publishes
    assert not items.callbacks["repeat"].stream_record


def test_each_callback_costs_an_api_request_an_invocation_and_a_write(items: SentItems) -> None:
    totals = [sum(message_dollars(items, WORK, count).values()) for count in CALLBACKS]
    steps = {round(later - earlier, 6) for earlier, later in itertools.pairwise(totals)}
    per_callback = PRICE["http_api_request"] + PRICE["lambda_request"] + PRICE["write_unit"]
    assert all(per_callback < step < per_callback + 0.1 for step in steps), steps


def test_the_function_url_saves_the_api_request_of_every_callback(items: SentItems) -> None:
    over_api = sum(message_dollars(items, WORK, USUAL_CALLBACKS).values())
    over_url = sum(message_dollars(items, WORK, USUAL_CALLBACKS, Options(http_api=False)).values())
    assert over_api - over_url == pytest.approx(USUAL_CALLBACKS * PRICE["http_api_request"])


def test_each_lever_alone_saves_something_and_all_together_save_the_most(items: SentItems) -> None:
    _, found = levers(items, WORK)
    assert all(lever.saved > 0 for lever in found)
    assert max(found, key=lambda lever: lever.saved).name == "all"
