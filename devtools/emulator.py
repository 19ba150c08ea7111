"""The local stack's AWS emulator: moto's server in a process of its own, with its hot spots mended.

In one process with the functions, the emulator and the functions took turns on one interpreter lock, so
one core of two did all the work. Alone, the emulator has a core and a lock to itself.

Some of moto's costs grew with load rather than with the work asked (found with py-spy; see
docs/PERFORMANCE.md): `lighten_emulator` replaces that code with code that returns the same answers. Its
table writes are made atomic, as DynamoDB's are, by devtools/moto_atomic.py.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import signal
import time
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Event
from typing import Any

START_SECONDS = 30


# moto's SQS asks "visible? delayed?" of each message with two clock reads (a datetime built, an epoch built,
# subtracted), and counts the queue's messages that way whenever it computes the queue's attributes: for
# every message sent (SNS's delivery included), and three times for every message received. So a send or a
# receive cost O(queue depth) clock reads, ~15 us per message queued, and a backlog slowed its own
# draining: the 5,000-message run collapsed to 12 deliveries/s. The replacements read the clock once.


def _visible_now(message: Any, now: float) -> bool:
    return bool(now > message.visible_at)  # moto's Message.visible


def _delayed_now(message: Any, now: float) -> bool:
    return bool(now < message.delayed_until)  # moto's Message.delayed


def _visible_messages(queue: Any) -> list[Any]:
    """moto's Queue.messages: the messages a receive may return."""
    from moto.core.utils import unix_time_millis

    now = unix_time_millis()
    return [message for message in queue._messages if _visible_now(message, now) and not _delayed_now(message, now)]


def _count(queue: Any, counted: Any) -> int:
    from moto.core.utils import unix_time_millis

    now = unix_time_millis()
    return sum(1 for message in queue._messages if counted(message, now))


def _sqs_retained(backend: Any, queue_name: str, message: Any) -> bool:
    """moto's retention check, reading the one attribute it needs instead of computing all of them, thrice."""
    from moto.core.utils import unix_time

    retention = int(backend.get_queue(queue_name).message_retention_period)
    return bool(retention + message.sent_timestamp / 1000 > unix_time())


def _stream_records_as_json(handler: Any) -> str:
    """GetRecords answered as moto's DynamoDB answers GetItem and Query: its own JSON dump of the records.

    moto's model-driven serializer looks up every member of every attribute value by several aliases: about
    3 ms per stream record of ours (45 attribute values), 0.25-0.5 s for a batch of 100, on the emulator's
    one core, while the webhook's writes wait behind it.
    """
    from moto.dynamodb.models.utilities import dynamo_json_dump

    limit = handler._get_param("Limit")
    result = handler.backend.get_records(handler._get_param("ShardIterator"), 1000 if limit is None else limit)
    return dynamo_json_dump({**result, "Records": [_in_milliseconds(record) for record in result["Records"]]})


def _in_milliseconds(record: dict[str, Any]) -> dict[str, Any]:
    """A copy (the record is moto's own) whose creation time is sent as moto's serializer sends it."""
    from moto.core.utils import unix_time

    created = math.floor(unix_time(record["dynamodb"]["ApproximateCreationDateTime"]) * 1000) / 1000
    return {**record, "dynamodb": {**record["dynamodb"], "ApproximateCreationDateTime": created}}


def lighten_emulator() -> None:
    """Installs the replacements (tests/unit/test_emulator.py checks each answers as moto's own does)."""
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
    from moto.sqs.models import Queue, SQSBackend

    Queue.messages = property(_visible_messages)  # type: ignore[assignment,method-assign]
    Queue.approximate_number_of_messages = property(  # type: ignore[assignment,method-assign]
        lambda queue: len(_visible_messages(queue))
    )
    Queue.approximate_number_of_messages_not_visible = property(  # type: ignore[assignment,method-assign]
        lambda queue: _count(queue, lambda message, now: not _visible_now(message, now))
    )
    Queue.approximate_number_of_messages_delayed = property(  # type: ignore[assignment,method-assign]
        lambda queue: _count(queue, _delayed_now)
    )
    SQSBackend.is_message_valid_based_on_retention_period = _sqs_retained  # type: ignore[assignment,method-assign]
    DynamoDBStreamsHandler.get_records = _stream_records_as_json  # type: ignore[assignment,method-assign]


def _serve(host: str, port: int, ready: Event, stop: Event, parent: int) -> None:
    # Ctrl-C (or a SIGTERM to the whole group) reaches us too: the parent stops us in order, after its functions
    # have finished with the emulator; if the parent is gone, we stop within a second (below).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # moto imports these on first use, under the import lock, in the middle of the first burst of requests
    # (a table's first stream record imports the Lambda backend: 0.4 s with every request waiting).
    import moto.awslambda.models
    import moto.dynamodb.models
    import moto.dynamodbstreams.models
    import moto.events.models
    import moto.s3.models
    import moto.secretsmanager.models
    import moto.sns.models
    import moto.sqs.models  # noqa: F401
    from moto.server import ThreadedMotoServer

    from devtools.iam.local import answer_denials_as_json, presigned_urls_unchecked
    from devtools.moto_atomic import serialize_dynamodb_writes
    from devtools.moto_eventbridge import deliver_to_sqs_as_eventbridge

    answer_denials_as_json()  # as AWS answers a JSON-protocol call it refuses
    presigned_urls_unchecked()  # moto cannot read a presigned URL's credentials
    lighten_emulator()
    serialize_dynamodb_writes()  # atomic writes, as DynamoDB's (devtools/moto_atomic.py)
    deliver_to_sqs_as_eventbridge()  # EventBridge's SQS targets as EventBridge delivers (devtools/moto_eventbridge.py)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    ready.set()
    # Until told to stop, or until the parent is gone (killed without a chance to stop us).
    while not stop.wait(1.0) and os.getppid() == parent:
        pass
    server.stop()


class EmulatorProcess:
    """moto's server on host:port in a child process; `start` returns once it accepts requests."""

    def __init__(self, host: str, port: int) -> None:
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no threads or locks forked
        self._ready = context.Event()
        self._stop = context.Event()
        self._process: SpawnProcess = context.Process(
            target=_serve, args=(host, port, self._ready, self._stop, os.getpid()), name="emulator", daemon=True
        )

    def start(self) -> None:
        self._process.start()
        deadline = time.monotonic() + START_SECONDS
        while not self._ready.wait(0.1):
            if not self._process.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the AWS emulator did not start")

    def stop(self) -> None:
        self._stop.set()
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
