"""Makes moto's DynamoDB writes atomic, as DynamoDB's are, for the local stack and the tests that write from
several threads (the webhook and /status routes, the pollers, the Twilio API stand-in's callbacks).

moto checks a write's condition and then applies the write, with nothing in between to stop another thread; and
its stream numbers a record by the shard's length before appending it. Two concurrent writes to one item can then
both pass a condition DynamoDB lets only one pass, and two stream records can share a sequence number, so that a
stream reader gets one of them twice. Holding one lock per write restores both guarantees. (Seen before it: the
two-way integration test under `make test`'s parallel load got one status event twice in 2 of about 6 runs; none
in 14 runs since. Not reproduced in isolation, so the exact interleaving is not proven.) Reads take the same lock:
moto copies an item it reads while a write may be changing it in place ("dictionary changed size during
iteration", seen once in a sender test reading a message its status callbacks were updating), and DynamoDB never
shows half a write.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "execute_statement")
READS = ("get_item", "query", "scan")  # BatchGetItem reads through get_item
_LOCK = threading.RLock()  # re-entrant: some writes call others (execute_statement -> put_item)


def _serialized(write: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(write)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return write(*args, **kwargs)

    locked.serialized = True  # type: ignore[attr-defined]
    return locked


def serialize_dynamodb_writes() -> None:
    """Writes and reads one at a time. Idempotent; affects every moto DynamoDB backend of this process (in-process
    mocks and moto's server)."""
    for name in (*WRITES, *READS):
        operation = getattr(DynamoDBBackend, name)
        if not getattr(operation, "serialized", False):
            setattr(DynamoDBBackend, name, _serialized(operation))
