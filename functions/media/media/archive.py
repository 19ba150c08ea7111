"""The use case: one message's attachments into the bucket, then one media.archived event.

Per attachment: a URL that is not Twilio media is recorded as not archived (never requested); otherwise the
deterministic key is looked up first (a retry reuses what an earlier attempt wrote and verified), else the
media is fetched with the account's credentials into a spool file (early 404s and transient failures retried
here, a few seconds apart), written to S3 and read back. Only when every attachment has an outcome is the
event published, so no event names an object that does not exist. With DeleteTwilioMediaAfterArchive, each
verified attachment is deleted at Twilio before the event goes out.

Anything that may succeed later raises RetryLater: SQS redelivers the message (with backoff), then its
dead-letter queue keeps it for `twilio-inbound media replay`.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError

from media.bucket import MediaBucket, NotVerified, StoredObject, verified
from media.event import ArchivedMedia, MediaOutcome, UnarchivedMedia, media_archived_event, message_of, outgoing
from media.twilio_media import (
    CredentialsRefused,
    Downloaded,
    FetchFailed,
    MediaLocation,
    NotFetchable,
    TooLarge,
    TwilioMedia,
)
from twilio_inbound.aws_errors import describe
from twilio_inbound.media_bucket import media_key
from twilio_inbound.publishing import Publisher
from twilio_inbound.secrets import ApiCredentials, TokensUnavailable

MAX_RETRY_DELAY_SECONDS = 8.0
# A failed message's next attempt: 30, 60, 120, 240 s after its 1st..4th receive (the queue's maxReceiveCount
# of 5 then moves it to the dead-letter queue); never sooner than the in-invocation retries above could help.
NEXT_ATTEMPT_BASE_SECONDS = 30
NEXT_ATTEMPT_MAX_SECONDS = 900


class RetryLater(Exception):
    """The message must be tried again later; the text is safe to log (no credentials, no content)."""


@dataclass(frozen=True)
class ArchivePolicy:
    max_bytes: int  # larger attachments are not archived (the reason says so)
    delete_after_archive: bool = False
    fetch_attempts: int = 4  # per attachment and invocation: the first, then retries 1, 2, 4 s apart
    retry_base_seconds: float = 1.0


@dataclass
class Archived:
    event: dict[str, Any]
    media: list[MediaOutcome] = field(default_factory=list)
    stored_bytes: int = 0  # written by this invocation
    reused: int = 0  # archived by an earlier attempt, found under their key
    fetch_retries: int = 0
    deleted_at_twilio: int = 0

    @property
    def archived(self) -> int:
        return sum(1 for item in self.media if item["archived"])

    @property
    def not_archived(self) -> list[str]:
        return [item["reason"] for item in self.media if not item["archived"]]


class _Credentials:
    """The account's credentials, read from the secret the first time an attachment needs them."""

    def __init__(self, load: Callable[[str], ApiCredentials], account_sid: str) -> None:
        self._load, self._account_sid = load, account_sid
        self._value: ApiCredentials | None = None

    def __call__(self) -> ApiCredentials:
        if self._value is None:
            self._value = self._load(self._account_sid)
        return self._value


class MediaArchiver:
    def __init__(
        self,
        twilio: TwilioMedia,
        bucket: MediaBucket,
        credentials: Callable[[str], ApiCredentials],
        policy: ArchivePolicy,
        *,
        sleep: Callable[[float], None] = time.sleep,
        spool_dir: str | None = None,
    ) -> None:
        self._twilio = twilio
        self._bucket = bucket
        self._credentials = credentials
        self._policy = policy
        self._sleep = sleep
        self._spool_dir = spool_dir  # None: the system's temporary directory (/tmp on Lambda)

    def archive(self, message: Mapping[str, Any], now: str) -> Archived:
        """Every attachment's outcome and the event announcing them; RetryLater when one must be tried again."""
        result = Archived(event={})
        credentials = _Credentials(self._credentials, str(message.get("accountSid", "")))
        archived: list[MediaLocation] = []
        try:
            for index, item in enumerate(message["media"]):
                outcome, location = self._archive_one(message, index, item, credentials, result)
                result.media.append(outcome)
                if location is not None:
                    archived.append(location)
            if self._policy.delete_after_archive:
                for location in archived:
                    self._twilio.delete(location, credentials())
                    result.deleted_at_twilio += 1
        except (FetchFailed, NotVerified, TokensUnavailable, BotoCoreError, ClientError) as error:
            kind = "credentials refused" if isinstance(error, CredentialsRefused) else describe(error)
            raise RetryLater(f"{message['messageSid']}: {kind}: {error}") from error
        result.event = media_archived_event(message, result.media, now)
        return result

    def _archive_one(
        self,
        message: Mapping[str, Any],
        index: int,
        item: Mapping[str, Any],
        credentials: _Credentials,
        result: Archived,
    ) -> tuple[MediaOutcome, MediaLocation | None]:
        url, content_type = str(item.get("url", "")), str(item.get("contentType", ""))
        try:
            location = self._twilio.locate(url)
        except NotFetchable as error:
            return _unarchived(url, content_type, str(error)), None
        if (location.account_sid, location.message_sid) != (message.get("accountSid"), message["messageSid"]):
            return _unarchived(url, content_type, "names another account's or message's media: never fetched"), None
        key = media_key(message["messageSid"], index, location.media_sid, content_type)
        stored = self._bucket.find(key)
        if stored is not None:
            result.reused += 1
            stored = verified(stored, stored.size, bytes.fromhex(stored.sha256))
        else:
            try:
                stored = self._fetch_and_store(
                    location, key, url=url, content_type=content_type, credentials=credentials, result=result
                )
            except TooLarge as error:
                return _unarchived(url, content_type, str(error)), None
        return _archived(url, stored), location

    def _fetch_and_store(
        self,
        location: MediaLocation,
        key: str,
        *,
        url: str,
        content_type: str,
        credentials: _Credentials,
        result: Archived,
    ) -> StoredObject:
        with tempfile.TemporaryFile(dir=self._spool_dir) as spool:  # unlinked at once: nothing left behind
            downloaded = self._download(location, credentials, spool, content_type, result)
            stored = self._bucket.put(
                key,
                spool,
                size=downloaded.size,
                sha256=downloaded.sha256,
                content_type=downloaded.content_type,
                metadata={"message-sid": location.message_sid, "media-sid": location.media_sid, "source-url": url},
            )
        result.stored_bytes += stored.size
        return stored

    def _download(
        self, location: MediaLocation, credentials: _Credentials, spool: IO[bytes], content_type: str, result: Archived
    ) -> Downloaded:
        """Bounded attempts, 1, 2, 4 s apart (longer when Twilio says Retry-After, at most 8 s). Refused
        credentials are not retried here: they will not change within seconds."""
        failure = FetchFailed("no attempt made")
        for attempt in range(max(1, self._policy.fetch_attempts)):
            if attempt:
                result.fetch_retries += 1
                delay = max(self._policy.retry_base_seconds * 2 ** (attempt - 1), failure.retry_after)
                self._sleep(min(delay, MAX_RETRY_DELAY_SECONDS))
                spool.seek(0)
                spool.truncate()
            try:
                return self._twilio.download(location, credentials(), spool, self._policy.max_bytes, content_type)
            except CredentialsRefused:
                raise
            except FetchFailed as error:
                failure = error
        raise failure


def next_attempt_seconds(receive_count: int) -> int:
    return int(min(NEXT_ATTEMPT_BASE_SECONDS * 2 ** max(receive_count - 1, 0), NEXT_ATTEMPT_MAX_SECONDS))


def _archived(url: str, stored: StoredObject) -> ArchivedMedia:
    return {
        "url": url,
        "contentType": stored.content_type,
        "archived": True,
        "bucket": stored.bucket,
        "key": stored.key,
        "size": stored.size,
        "sha256": stored.sha256,
    }


def _unarchived(url: str, content_type: str, reason: str) -> UnarchivedMedia:
    return {"url": url, "contentType": content_type, "archived": False, "reason": reason}


def process(body: str, archiver: MediaArchiver, publisher: Publisher, now: str) -> Archived:
    """One queued message event: archive its media, then publish media.archived (RetryLater on failure)."""
    try:
        message = message_of(body)
    except ValueError as error:
        raise RetryLater(f"unusable queue message: {error}") from error
    result = archiver.archive(message, now)
    try:
        refused = publisher.publish_batch([outgoing(message, result.event)])
    except (BotoCoreError, ClientError) as error:
        raise RetryLater(f"{message['messageSid']}: media event not published: {describe(error)}") from error
    if refused:
        raise RetryLater(f"{message['messageSid']}: the media event was refused")
    return result
