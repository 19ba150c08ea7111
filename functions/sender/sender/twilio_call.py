"""One Messages.create through the official SDK, and what each way it can fail means for the command.

429, 5xx              Twilio did not create the message: retried here with exponential backoff and jitter,
                      a bounded number of times, then the command goes back to SQS (RetryLater)
no connection         nothing was sent (refused, DNS, connect timeout): the same
other 4xx             permanent (21211 invalid number, 21610 unsubscribed recipient, 21606 not our number,
                      ...): never retried (PermanentFailure)
read timeout, a       the request went out, the answer did not come back: Twilio may or may not have created
connection lost       the message (OutcomeUnknown); the caller does not send it again
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests
from twilio.base.exceptions import TwilioRestException
from urllib3.exceptions import NameResolutionError, NewConnectionError

from twilio_inbound.outbound import Created, Route
from twilio_inbound.twilio_rest import SDK_PREFIX, Backoff


class CallFailed(Exception):
    """The reason is safe to publish: Twilio's code and message, or what happened on the network."""

    def __init__(self, reason: str, error_code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error_code = error_code


class PermanentFailure(CallFailed):
    pass


class RetryLater(CallFailed):
    pass


class OutcomeUnknown(CallFailed):
    pass


def _never_sent(error: requests.RequestException) -> bool:
    """The request did not leave: a connect timeout, a refused connection, an unknown host."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(reason, NewConnectionError | NameResolutionError)


def _classify(error: TwilioRestException | requests.RequestException) -> CallFailed:
    if isinstance(error, TwilioRestException):
        message = SDK_PREFIX.sub("", str(error.msg))  # "Unable to create record: ..." -> Twilio's own words
        reason = f"Twilio answered {error.status}" + (f" (error {error.code})" if error.code else "") + f": {message}"
        if error.status == 429 or error.status >= 500:
            return RetryLater(reason, error.code)
        return PermanentFailure(reason, error.code)
    if _never_sent(error):
        return RetryLater(f"Twilio's API could not be reached ({type(error).__name__})")
    return OutcomeUnknown(f"no answer from Twilio's API ({type(error).__name__}): the message may have been created")


def create_message(
    client: Any,
    route: Route,
    *,
    body: str,
    media_urls: tuple[str, ...],
    content_sid: str = "",
    content_variables: tuple[tuple[str, str], ...] = (),
    status_callback: str,
    backoff: Backoff,  # its attempts and delays (no Retry-After: the SDK's exception does not carry it)
    sleep: Callable[[float], None],
    now: Callable[[], str],  # the time of Twilio's answer (clock.iso_millis)
) -> Created:
    """Messages.create, retried for 429/5xx and unreached connections; raises RetryLater, PermanentFailure or
    OutcomeUnknown. A Content Template goes as Twilio's ContentSid, its variables as ContentVariables (a JSON
    object in a string, as the Messages API defines it)."""
    optional = {
        "from_": route.sender,
        "messaging_service_sid": route.service_sid,
        "body": body,
        "media_url": list(media_urls),
        "content_sid": content_sid,
        "content_variables": json.dumps(dict(content_variables), ensure_ascii=False) if content_variables else "",
    }
    arguments = {"to": route.to, "status_callback": status_callback, **{k: v for k, v in optional.items() if v}}
    failure: CallFailed = RetryLater("not attempted")
    for attempt in range(backoff.attempts):
        if attempt:
            sleep(backoff.delay(attempt))
        try:
            message = client.messages.create(**arguments)
        except (TwilioRestException, requests.RequestException) as error:
            failure = _classify(error)
            if not isinstance(failure, RetryLater):
                raise failure from error
            continue
        return Created(
            message_sid=str(message.sid),
            status=str(message.status or "queued"),
            sender=str(message.from_ or ""),
            num_segments=int(message.num_segments or 1),
            at=now(),
            body=str(message.body or "") if content_sid else "",
        )
    raise failure
