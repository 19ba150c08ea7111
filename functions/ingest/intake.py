"""One webhook request, from API Gateway event to stored record: the ingest function's whole flow."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from settings import IngestSettings
from signature import SignatureVerifier
from store import MessageStore
from twilio_inbound.message import InvalidMessage, StorageOptions, build_record
from webhook import RequestRejected, check_shape, parse_form, request_from_event, request_url


@dataclass(frozen=True)
class Accepted:
    record: dict[str, Any]
    stored: bool  # False: a repeat delivery, acknowledged and not stored again


def receive(
    event: dict[str, Any],
    settings: IngestSettings,
    verifier: SignatureVerifier,
    store: MessageStore,
    now: Callable[[], datetime],
) -> Accepted:
    """Raises RequestRejected (4xx), TokensUnavailable (500) or an AWS error (5xx); otherwise accepted."""
    request = request_from_event(event)
    check_shape(request, settings.max_body_bytes)
    params = parse_form(request.body)
    # Verify before reading any field: an unsigned request learns nothing about what we expect.
    verifier.verify(request, request_url(request, settings.public_base_url), params)
    try:
        record = build_record(params, now(), StorageOptions(settings.retention_days))
    except InvalidMessage as error:
        raise RequestRejected(400, str(error)) from error
    return Accepted(record, store.put_new(record))
