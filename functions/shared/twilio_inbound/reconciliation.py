"""Reconcile: Twilio's log of inbound messages against the messages table, and recovery of the missing ones.

Twilio does not retry a messaging webhook by default, so a message that arrived while the webhook was down (or
misconfigured) exists only in Twilio's Messages log. Reconcile lists the inbound messages to the given numbers
in a window (paged, through the SDK), compares them with the table, and, asked to, stores the missing ones
exactly as the webhook would have: the form the webhook would have received, rebuilt from what the API returns,
through check_parameters and build_record, written with the conditional put on MessageSid (so a message stored
meanwhile, or by another run, is never stored twice) and marked `recovered`. The table's stream then publishes
it like any other message.

Used by `twilio-inbound reconcile` and the scheduled reconcile function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from twilio.base.exceptions import TwilioException

from twilio_inbound.clock import utc_now
from twilio_inbound.message import (
    FormParams,
    InvalidMessage,
    MessageRecord,
    StorageOptions,
    build_record,
    check_parameters,
    opt_out_change,
)
from twilio_inbound.messages_table import MessageStore
from twilio_inbound.numbers import OptOutChange
from twilio_inbound.numbers_table import NumberRegistry
from twilio_inbound.opt_outs_table import OptOutStore
from twilio_inbound.twilio_rest import TWILIO_API_BASE, OutOfTime, twilio_failure

PAGE_SIZE = 1000  # messages per list request: Twilio's largest page, one request per thousand
LOOKUP_BATCH = 100  # messages compared with the table per BatchGetItem
COMPARED_FIELDS = (("body", "body"), ("from", "from_"), ("to", "to"), ("numMedia", "num_media"))


@dataclass(frozen=True)
class Difference:
    message_sid: str
    fields: tuple[str, ...]  # record fields whose value differs from Twilio's


@dataclass
class Report:
    """What one run found. `complete` is False when it stopped at its deadline (the next run covers the rest)."""

    numbers: list[str] = field(default_factory=list)
    checked: int = 0  # inbound messages Twilio listed
    present: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    different: list[Difference] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)  # stored by this run
    failed: dict[str, str] = field(default_factory=dict)  # MessageSid -> why it could not be stored
    # Sent longer ago than RetentionDays: the table has deleted them (or is about to), so they are neither
    # compared nor stored again (a backfill would publish an expired message to every subscriber as new).
    past_retention: list[str] = field(default_factory=list)
    complete: bool = True

    def merge(self, other: Report) -> None:
        self.numbers += other.numbers
        self.checked += other.checked
        self.present += other.present
        self.missing += other.missing
        self.different += other.different
        self.recovered += other.recovered
        self.failed.update(other.failed)
        self.past_retention += other.past_retention
        self.complete = self.complete and other.complete


def webhook_form(message: Any, media: Iterable[Any]) -> FormParams:
    """The form the webhook would have received for this inbound message resource, limited to what Twilio's API
    returns: no FromCity/ToZip/... (the API has none), no OptOutType (Advanced Opt-Out decides it at delivery)."""
    items = list(media)
    params: FormParams = {
        "MessageSid": [message.sid],
        "AccountSid": [message.account_sid],
        "From": [message.from_ or ""],
        "To": [message.to or ""],
        "Body": [message.body or ""],
        "NumMedia": [str(len(items))],
        "NumSegments": [str(message.num_segments or "1")],
    }
    if message.messaging_service_sid:
        params["MessagingServiceSid"] = [message.messaging_service_sid]
    for index, item in enumerate(items):
        # As the webhook carries it: the media resource's address without ".json", on Twilio's API host.
        params[f"MediaUrl{index}"] = [TWILIO_API_BASE + str(item.uri).removesuffix(".json")]
        params[f"MediaContentType{index}"] = [item.content_type or ""]
    return params


def _differences(record: MessageRecord, message: Any) -> tuple[str, ...]:
    theirs = {"body": message.body or "", "from": message.from_ or "", "to": message.to or ""}
    theirs["numMedia"] = int(message.num_media or 0)
    return tuple(name for name, _ in COMPARED_FIELDS if record.get(name) != theirs[name])


class Reconciler:
    def __init__(
        self,
        store: MessageStore,
        registry: NumberRegistry,
        optouts: OptOutStore,
        options: StorageOptions | None = None,
        *,
        time_left: Callable[[], float] = lambda: float("inf"),
        page_size: int = PAGE_SIZE,
        now: Callable[[], datetime] = utc_now,
        advance: Callable[[int], object] = lambda checked: None,
        consistent_reads: bool = True,
    ) -> None:
        """`time_left`: seconds until the run must stop (checked between batches; the client's own deadline
        stops a request that would start later). `advance(n)`: n more of Twilio's messages were compared.
        `consistent_reads=False` for a window that ends minutes ago: the table's reads then cost half (a message
        stored meanwhile and not yet seen is kept once by the conditional write, and counted present)."""
        self._now = now
        self._store = store
        self._registry = registry
        self._optouts = optouts
        self._options = options or StorageOptions()
        self._time_left = time_left
        self._page_size = page_size
        self._consistent_reads = consistent_reads
        self._advance = advance

    def run(
        self, client: Any, numbers: Iterable[str], since: datetime, until: datetime, *, backfill: bool = False
    ) -> Report:
        """Inbound messages to `numbers` that Twilio sent between `since` and `until` (inclusive, to the second)
        compared with the table; with `backfill`, the missing ones stored."""
        report = Report()
        for number in numbers:
            report.numbers.append(number)
            try:
                for batch in _batches(self._inbound(client, number, since, until), LOOKUP_BATCH):
                    self._compare(client, batch, report, backfill)
                    self._advance(len(batch))
                    if self._time_left() <= 0:
                        report.complete = False
                        return report
            except OutOfTime:
                report.complete = False
                return report
        return report

    def _inbound(self, client: Any, number: str, since: datetime, until: datetime) -> Iterator[Any]:
        # The SDK follows next_page_uri itself; the list has inbound and outbound messages to this address.
        listed = client.messages.stream(
            to=number, date_sent_after=since, date_sent_before=until, page_size=self._page_size
        )
        return (message for message in listed if message.direction == "inbound")

    def _compare(self, client: Any, batch: list[Any], report: Report, backfill: bool) -> None:
        report.checked += len(batch)
        retention = self._options.retention_days
        if retention > 0:
            cutoff = self._now() - timedelta(days=retention)
            expired = [message for message in batch if (message.date_sent or message.date_created) <= cutoff]
            report.past_retention += [message.sid for message in expired]
            batch = [message for message in batch if message not in expired]
        listed = (message.sid for message in batch)
        stored = {
            record["messageSid"]: record for record in self._store.get_many(listed, consistent=self._consistent_reads)
        }
        for message in batch:
            record = stored.get(message.sid)
            if record is not None:
                report.present.append(message.sid)
                differing = _differences(record, message)
                if differing:
                    report.different.append(Difference(message.sid, differing))
                continue
            report.missing.append(message.sid)
            if backfill:
                self._recover(client, message, report)

    def _recover(self, client: Any, message: Any, report: Report) -> None:
        media = client.messages(message.sid).media.list() if int(message.num_media or 0) else []
        try:
            form = check_parameters(webhook_form(message, media))
            number = self._registry.lookup(form.first("To"), form.first("MessagingServiceSid"))
            received_at: datetime = message.date_sent or message.date_created
            record = build_record(form, received_at, self._options, number)
        except InvalidMessage as error:
            report.failed[message.sid] = str(error)
            return
        record["recovered"] = True
        if self._store.put_new(record, self._late_change_applies(record)):
            report.recovered.append(message.sid)
        else:
            # Stored meanwhile (the webhook's retry, another run): the conditional write kept it once.
            report.missing.remove(message.sid)
            report.present.append(message.sid)

    def _late_change_applies(self, record: MessageRecord) -> OptOutChange | None:
        """A recovered STOP/START changes the sender's state only if nothing newer has changed it since: a STOP
        the webhook missed must not undo the START that followed it."""
        change = opt_out_change(record)
        if change is None:
            return None
        last = self._optouts.changed_at(change.scopes, change.sender)
        return change if last is None or last <= change.at else None


def reconcile_accounts(
    reconciler: Reconciler,
    clients: Mapping[str, Any],
    registered: Iterable[str],
    since: datetime,
    until: datetime,
    *,
    backfill: bool,
) -> Report:
    """One run over every account (account SID -> its client): each lists the messages to its own numbers."""
    report = Report()
    entries = list(registered)
    for client in clients.values():
        report.merge(reconciler.run(client, inbound_addresses(client, entries), since, until, backfill=backfill))
        if not report.complete:
            break
    return report


def inbound_addresses(client: Any, registered: Iterable[str]) -> list[str]:
    """The addresses whose inbound messages to list: registered numbers and channel addresses as they are, a
    registered Messaging Service as its phone numbers (a service of another account is skipped)."""
    addresses: list[str] = []
    for entry in registered:
        if not entry.startswith("MG"):
            addresses.append(entry)
            continue
        try:
            addresses += [
                number.phone_number
                for number in client.messaging.v1.services(entry).phone_numbers.stream(page_size=PAGE_SIZE)
            ]
        except TwilioException as error:
            failure = twilio_failure(error)
            if failure is None or failure.status != 404:
                raise
    return list(dict.fromkeys(addresses))


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
