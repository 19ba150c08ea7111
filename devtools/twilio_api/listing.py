"""Twilio's list reads: PageSize/Page/PageToken paging, the two page envelopes, and date filters.

2010-04-01 pages carry `uri`, `first_page_uri`, `next_page_uri`, `previous_page_uri` (relative, filters
repeated in them), `page`, `page_size`, `start`, `end` and the records under the resource's key;
messaging.twilio.com/v1 pages carry the same as absolute URLs in `meta`. `PageToken` is a cursor as in
Twilio's own next_page_uri: "PA" + the SID of the last record of the previous page ("PB" + the first one of
the next page, going back), so a page stays right while records are added.

Date filters (`DateSent`, `DateSent<`, `DateSent>`; on the wire `DateSent%3C=...`) take a day
(YYYY-MM-DD) or an instant (YYYY-MM-DDThh:mm:ssZ, what the SDK sends): `X=` that day or second, `X<=` on or
before it, `X>=` on or after it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

from devtools.twilio_api import errors

T = TypeVar("T")
PAGING_PARAMS = ("PageSize", "Page", "PageToken")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class PageRequest:
    size: int
    page: int
    token: str | None


def page_request(get: Callable[[str], str | None]) -> PageRequest:
    size = _integer(get("PageSize"), "PageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    page = _integer(get("Page"), "Page", 0, 0, None)
    token = get("PageToken") or None
    if token is not None and not (token.startswith(("PA", "PB")) and len(token) > 2):
        raise errors.invalid_parameter(f"Invalid PageToken {token}")
    return PageRequest(size, page, token)


def _integer(raw: str | None, name: str, default: int, low: int, high: int | None) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise errors.invalid_parameter(f"{name} must be an integer {bounds}")
    return value


@dataclass(frozen=True)
class Page:
    items: list[Any]
    request: PageRequest
    start: int
    has_next: bool
    first_sid: str | None
    last_sid: str | None


def select(items: Sequence[T], request: PageRequest, sid_of: Callable[[T], str]) -> Page:
    """The page of `items` (already filtered and ordered) the request asks for."""
    sids = [sid_of(item) for item in items]
    start = request.page * request.size
    if request.token is not None:
        cursor = request.token[2:]
        if cursor not in sids:
            raise errors.invalid_parameter(f"Invalid PageToken {request.token}")
        position = sids.index(cursor)
        start = position + 1 if request.token.startswith("PA") else max(0, position - request.size)
    chosen = list(items[start : start + request.size])
    return Page(
        items=chosen,
        request=request,
        start=request.page * request.size,
        has_next=start + request.size < len(items),
        first_sid=sid_of(chosen[0]) if chosen else None,
        last_sid=sid_of(chosen[-1]) if chosen else None,
    )


def _query(filters: list[tuple[str, str]], size: int, page: int, token: str | None) -> str:
    pairs = [*filters, ("PageSize", str(size)), ("Page", str(page))]
    if token:
        pairs.append(("PageToken", token))
    return urlencode(pairs)


def _links(base: str, filters: list[tuple[str, str]], page: Page) -> dict[str, str | None]:
    request = page.request
    return {
        "url": f"{base}?{_query(filters, request.size, request.page, request.token)}",
        "first": f"{base}?{_query(filters, request.size, 0, None)}",
        "next": f"{base}?{_query(filters, request.size, request.page + 1, f'PA{page.last_sid}')}"
        if page.has_next
        else None,
        "previous": f"{base}?{_query(filters, request.size, request.page - 1, f'PB{page.first_sid}')}"
        if request.page > 0 and page.first_sid
        else None,
    }


def v2010_page(
    key: str, path: str, filters: list[tuple[str, str]], page: Page, records: list[dict[str, Any]]
) -> dict[str, Any]:
    """A 2010-04-01 page: `records` are the page's items as JSON."""
    links = _links(path, filters, page)
    return {
        "end": page.start + max(len(records) - 1, 0),
        "first_page_uri": links["first"],
        key: records,
        "next_page_uri": links["next"],
        "page": page.request.page,
        "page_size": page.request.size,
        "previous_page_uri": links["previous"],
        "start": page.start,
        "uri": links["url"],
    }


def v1_page(key: str, url: str, page: Page, records: list[dict[str, Any]]) -> dict[str, Any]:
    links = _links(url, [], page)
    meta = {
        "first_page_url": links["first"],
        "key": key,
        "next_page_url": links["next"],
        "page": page.request.page,
        "page_size": page.request.size,
        "previous_page_url": links["previous"],
        "url": links["url"],
    }
    return {key: records, "meta": meta}


@dataclass(frozen=True)
class Window:
    """[start, end): either bound optional."""

    start: datetime | None = None
    end: datetime | None = None

    def holds(self, moment: datetime | None) -> bool:
        if moment is None:
            return self.start is None and self.end is None
        return (self.start is None or moment >= self.start) and (self.end is None or moment < self.end)


def date_window(name: str, get: Callable[[str], str | None]) -> tuple[Window, list[tuple[str, str]]]:
    """The window `name`, `name<` and `name>` describe, and those filters as given (for the page links)."""
    start: datetime | None = None
    end: datetime | None = None
    given: list[tuple[str, str]] = []
    for suffix in ("", "<", ">"):
        raw = get(name + suffix)
        if not raw:
            continue
        given.append((name + suffix, raw))
        moment, span = _instant(name + suffix, raw)
        if suffix in ("", ">"):
            start = moment if start is None else max(start, moment)
        if suffix in ("", "<"):
            end = moment + span if end is None else min(end, moment + span)
    return Window(start, end), given


def _instant(name: str, raw: str) -> tuple[datetime, timedelta]:
    """The moment a filter value names and how long it lasts (a day, or a second)."""
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            return datetime(day.year, day.month, day.day, tzinfo=UTC), timedelta(days=1)
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as error:
        raise errors.invalid_parameter(f"{name} must be a date (YYYY-MM-DD) or date-time, got {raw!r}") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC), timedelta(seconds=1)
