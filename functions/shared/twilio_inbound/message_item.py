"""An inbound message as the messages table stores it: the keys as attributes, the rest in one compressed document.

Every write of a message (the item, and its entry in each of the two KEYS_ONLY indexes) stays under 1 KB, one
write unit each, for an SMS of up to ~1,000 characters or an MMS with 10 media (bench/cost.py measures it):

| attribute | type | holds | used by |
|---|---|---|---|
| `messageSid` | S | MessageSid | the table's key |
| `to` | S | the number called | ByNumber's partition key |
| `conversation` | S | `to` + "|" + `from` | ByConversation's partition key |
| `receivedAt` | S | ISO 8601 UTC, to the millisecond | both indexes' sort key |
| `d` | B | a format byte + raw DEFLATE of a JSON document | everything else |
| `expiresAt` | N | epoch seconds (only with a retention) | the table's TTL |

The document holds the parameters exactly as Twilio sent them (`p`) and what was decided on receipt that the
parameters alone do not say, each only when it says something: the keyword and opt-out type as classified with
the number's keywords of the day (`k`, `o`), a disabled number (`x`), the entry point (`e`), a message stored by
reconcile (`r`), the reply the webhook answered in TwiML (`a`: Twilio sent it; its status callbacks store it in the
thread). Every normalized field (from, body, cities, media, channel, counts, ...) is derived again on
reading by the same build_record, so the parameters are stored once and the record read back is the record
written. Items stored before this format (every field its own attribute) are read as they are.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any, cast

from twilio_inbound.dynamo import from_item
from twilio_inbound.message import FormParams, InboundForm, MessageRecord, build_record

DOCUMENT = "d"
# Raw DEFLATE (no zlib header or checksum: DynamoDB checks what it stores) of compact UTF-8 JSON.
FORMAT_DEFLATE_JSON = 1
_WINDOW_BITS = -15  # what the stream may refer back to; a smaller window's stream reads with this one
_MAX_MEM_LEVEL = 8  # zlib's default
_MIN_LOOKAHEAD = 262  # zlib's MIN_LOOKAHEAD: a match may reach back 2^window_bits - 262 bytes
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # once per container, not per message
# The largest document the webhook can write: a form of at most MAX_BODY_BYTES (32 KiB) whose every byte JSON
# writes as \u00XX (6 bytes), plus an entry point (a registry item: DynamoDB's 400 KB). A document inflating past
# this was not written by us (DEFLATE reaches ~1000:1: a 100 KiB item could claim 100 MiB): it is refused unread.
MAX_DOCUMENT_BYTES = 1024 * 1024


def _deflate(data: bytes) -> bytes:
    """Level 9 raw DEFLATE, byte for byte what zlib's default window and memory level give, with state sized to
    the input: the default allocates and clears 256 KiB per call, which costs a message more than compressing it
    and evicts the caches the table write then needs. A window holding the whole input and a symbol buffer
    holding every symbol leave nothing for the larger state to change (tests/unit/test_message_item.py holds the
    output equal to the default's)."""
    size = len(data)
    window_bits = min(-_WINDOW_BITS, max(9, (size + _MIN_LOOKAHEAD).bit_length()))
    mem_level = min(_MAX_MEM_LEVEL, max(1, (size + 1).bit_length() - 6))  # symbol buffer: 2^(mem_level + 6)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -window_bits, mem_level)
    return compressor.compress(data) + compressor.flush()


def _document(record: MessageRecord) -> dict[str, Any]:
    document: dict[str, Any] = {"p": record["parameters"]}
    if record["keyword"]:
        document["k"] = record["keyword"]
    if record["optOutType"]:
        document["o"] = record["optOutType"]
    if record["delivered"] is False:
        document["x"] = 1
    if "entryPoint" in record:
        document["e"] = record["entryPoint"]
    if record.get("recovered"):
        document["r"] = 1
    if record.get("reply"):
        document["a"] = record["reply"]
    return document


def message_item(record: MessageRecord) -> dict[str, Any]:
    """build_record's record -> the item PutItem stores (typed JSON)."""
    text = _JSON.encode(_document(record))
    item: dict[str, Any] = {
        "messageSid": {"S": record["messageSid"]},
        "to": {"S": record["to"]},
        "conversation": {"S": record["conversation"]},
        "receivedAt": {"S": record["receivedAt"]},
        DOCUMENT: {"B": bytes([FORMAT_DEFLATE_JSON]) + _deflate(text.encode())},
    }
    if "expiresAt" in record:
        item["expiresAt"] = {"N": str(record["expiresAt"])}
    return item


def _blob(value: Any) -> bytes:
    # GetItem and the local stream give bytes; Lambda's stream event (JSON) gives binary as base64 text.
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        return base64.b64decode(value, validate=True)
    raise TypeError(f"{DOCUMENT} is not binary")


def _inflate(data: bytes) -> bytes:
    """The document, never more than MAX_DOCUMENT_BYTES of it: ValueError past that (nothing larger is held)."""
    inflater = zlib.decompressobj(_WINDOW_BITS)
    text = inflater.decompress(data, MAX_DOCUMENT_BYTES)
    if inflater.unconsumed_tail or not inflater.eof:
        raise ValueError(f"the message document is over {MAX_DOCUMENT_BYTES:,} bytes inflated, or cut short: refused")
    return text


def _record_of_document(item: dict[str, Any]) -> MessageRecord:
    blob = _blob(item[DOCUMENT].get("B"))
    if blob[:1] != bytes([FORMAT_DEFLATE_JSON]):
        raise ValueError(f"unknown message format {blob[:1]!r}")
    document = json.loads(_inflate(blob[1:]))
    params: FormParams = {
        name: list(value) if isinstance(value, list) else [value] for name, value in document["p"].items()
    }
    # The parameters passed check_parameters when they were stored; build_record derives the same fields again,
    # and keeps receivedAt as stored, to the character.
    record = build_record(InboundForm(params), item["receivedAt"]["S"])
    for name in ("messageSid", "to", "conversation"):  # KeyError when absent: not an item we wrote
        if item[name].get("S") != record[name]:
            raise ValueError(f"{name} does not match the stored parameters")
    record["keyword"] = document.get("k", "")
    record["optOutType"] = document.get("o", "")
    record["delivered"] = "x" not in document
    if "e" in document:
        record["entryPoint"] = document["e"]
    if "r" in document:
        record["recovered"] = True
    if "a" in document:
        record["reply"] = document["a"]
    if "expiresAt" in item:
        record["expiresAt"] = int(item["expiresAt"]["N"])
    return record


def item_values(item: dict[str, Any]) -> dict[str, Any]:
    """A stored item or stream image of either direction as plain values: an inbound message in this format
    decoded to its record, anything else (outbound messages, items written before this format) as stored."""
    if DOCUMENT in item:
        return cast(dict[str, Any], _record_of_document(item))
    return from_item(item)
