"""The DynamoDB fast path (twilio_inbound.dynamo) gives what boto3's own TypeSerializer and TypeDeserializer give.

to_item and from_item skip boto3's generic type dispatch for the types our records hold; on any input they
must answer as boto3 does (the same typed value, or the same kind of error). Inputs are generated: every type
boto3 knows, nested, with the numbers DynamoDB can hold (38 significant digits), those it cannot, and
number strings that are not numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from hypothesis import given, settings
from hypothesis import strategies as st

from twilio_inbound.dynamo import _plain, from_item, to_item

SETTINGS = settings(max_examples=400, deadline=None)
LIMIT = 10**38  # DynamoDB numbers hold at most 38 significant digits


def outcome(function: Callable[[], Any]) -> str:
    """What a call gives (its value, or the type of what it raised), spelled out: repr tells 1 from True and
    1.0, and a NaN from boto3 (a malformed number string) equals a NaN."""
    try:
        return repr(function())
    except Exception as error:  # compared with what boto3 raises for the same input
        return f"raised {type(error).__name__}"


# ---------------------------------------------------------------- Python values, as records hold them
def in_dynamodb_range(number: Decimal) -> bool:
    return len(number.as_tuple().digits) <= 38 and -130 <= number.adjusted() <= 125


edge_integers = st.sampled_from([LIMIT - 1, -(LIMIT - 1), LIMIT, -LIMIT, LIMIT + 1, 2**127, 0])
scalars = st.one_of(
    st.text(),
    st.booleans(),
    st.integers(),
    edge_integers,
    st.none(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.floats(),  # boto3 refuses floats: so must the fast path
    st.binary(max_size=8),
    st.frozensets(st.text(max_size=4), max_size=3),
    st.sets(st.integers(-(10**40), 10**40), max_size=3),
    st.sets(st.binary(max_size=4), max_size=3),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=6), inner, max_size=4),
    ),
    max_leaves=12,
)
records = st.dictionaries(st.text(max_size=10), values, max_size=6)


@SETTINGS
@given(records)
def test_to_item_answers_as_boto3s_serializer(record: dict[str, Any]) -> None:
    serializer = TypeSerializer()
    expected = outcome(lambda: {name: serializer.serialize(value) for name, value in record.items()})
    assert outcome(lambda: to_item(record)) == expected


# ---------------------------------------------------------------- typed values, as DynamoDB returns them
# DynamoDB never returns more than 38 significant digits (a longer whole number would read as an int where
# boto3 raises: the one place the fast path is more lenient, and one no table or stream can reach).
dynamodb_numbers = st.one_of(
    st.integers(-(LIMIT - 1), LIMIT - 1).map(str),
    st.decimals(allow_nan=False, allow_infinity=False).filter(in_dynamodb_range).map(str),
    st.from_regex(r"-?0*[0-9]{1,20}(\.[0-9]{1,5})?", fullmatch=True),  # leading zeros, trailing fractions
)
# Not numbers at all, or not ASCII digits: boto3 decides (a malformed one becomes NaN). Not in number sets:
# a set of NaNs has no stable order to compare.
number_strings = st.one_of(dynamodb_numbers, st.text("0123456789-+.eE ²١٣", max_size=8))
typed_scalars = st.one_of(
    st.builds(lambda text: {"S": text}, st.text()),
    st.builds(lambda number: {"N": number}, number_strings),
    st.builds(lambda flag: {"BOOL": flag}, st.booleans()),
    st.just({"NULL": True}),
    st.builds(lambda data: {"B": data}, st.binary(max_size=8)),
    st.builds(lambda texts: {"SS": sorted(texts)}, st.sets(st.text(max_size=4), min_size=1, max_size=3)),
    st.builds(lambda numbers: {"NS": sorted(numbers)}, st.sets(dynamodb_numbers, min_size=1, max_size=3)),
    st.builds(lambda blobs: {"BS": sorted(blobs)}, st.sets(st.binary(max_size=4), min_size=1, max_size=3)),
)
typed_values = st.recursive(
    typed_scalars,
    lambda inner: st.one_of(
        st.builds(lambda items: {"L": items}, st.lists(inner, max_size=4)),
        st.builds(lambda fields: {"M": fields}, st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    ),
    max_leaves=12,
)
items = st.dictionaries(st.text(max_size=10), typed_values, max_size=6)


@SETTINGS
@given(items)
def test_from_item_answers_as_boto3s_deserializer(item: dict[str, Any]) -> None:
    # boto3 gives Decimals and sets; records hold ints, floats and lists (what json can encode): _plain is
    # that conversion, applied to boto3's answer
    deserializer = TypeDeserializer()
    expected = outcome(lambda: {name: _plain(deserializer.deserialize(value)) for name, value in item.items()})
    assert outcome(lambda: from_item(item)) == expected


@SETTINGS
@given(st.dictionaries(st.text(max_size=10), values))
def test_a_stored_record_reads_back_as_boto3_reads_it(record: dict[str, Any]) -> None:
    # GIVEN any record boto3 can store WHEN it is written and read back through the fast path
    try:
        item = to_item(record)
    except (TypeError, ArithmeticError):
        return  # refused on the way in, as boto3 refuses it (above)
    # THEN it reads back as boto3 reads it
    deserializer = TypeDeserializer()
    expected = outcome(lambda: {name: _plain(deserializer.deserialize(value)) for name, value in item.items()})
    assert outcome(lambda: from_item(item)) == expected
