"""The media bucket: one object per attachment, written once with its SHA-256, read back before anyone hears of it.

Each object is one PutObject of the spooled file with ChecksumSHA256: S3 computes the SHA-256 of what it stored,
refuses the write when it differs (BadDigest), and keeps it as the object's full-object checksum. (A multipart
upload would have only a checksum of part checksums, and metadata cannot be added once the hash is known.)
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from botocore.exceptions import ClientError

from twilio_inbound.media_bucket import SHA256_METADATA, content_disposition

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_MISSING = ("404", "NoSuchKey", "NotFound")


class NotVerified(Exception):
    """What S3 holds is not what was fetched (size or SHA-256): nothing may name the object yet."""


@dataclass(frozen=True)
class StoredObject:
    bucket: str
    key: str
    size: int
    content_type: str
    sha256: str  # hex, as the event carries it
    checksum_sha256: str  # S3's SHA-256 of the stored bytes (base64), "" when S3 reports none


class MediaBucket:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    @property
    def name(self) -> str:
        return self._bucket

    def find(self, key: str) -> StoredObject | None:
        """The object under `key` when a previous attempt archived it completely (with its SHA-256), else None."""
        try:
            head = self._client.head_object(Bucket=self._bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise
        sha256 = head.get("Metadata", {}).get(SHA256_METADATA, "")
        if not sha256:
            return None  # not written by this function: written again
        return StoredObject(
            self._bucket,
            key,
            head["ContentLength"],
            head.get("ContentType", ""),
            sha256,
            head.get("ChecksumSHA256", ""),
        )

    def put(
        self, key: str, body: IO[bytes], *, size: int, sha256: bytes, content_type: str, metadata: dict[str, str]
    ) -> StoredObject:
        """Writes the object, then reads back what S3 holds; NotVerified unless size and SHA-256 match."""
        body.seek(0)
        checksum = base64.b64encode(sha256).decode("ascii")
        self._client.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=body,
            ContentLength=size,
            ContentType=content_type,
            ContentDisposition=content_disposition(content_type, key),
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=checksum,
            Metadata={**metadata, SHA256_METADATA: sha256.hex()},
        )
        return verified(self.find(key), size, sha256)


def verified(stored: StoredObject | None, size: int, sha256: bytes) -> StoredObject:
    """The object, when S3 holds `size` bytes whose SHA-256 (S3's own checksum of the stored bytes, and the
    recorded one) is `sha256`; else NotVerified."""
    if stored is None:
        raise NotVerified("the object is missing after it was written")
    if stored.size != size or stored.sha256 != sha256.hex():
        raise NotVerified(f"{stored.key}: S3 holds {stored.size:,} bytes / {stored.sha256[:12]}…, fetched {size:,}")
    if stored.checksum_sha256 != base64.b64encode(sha256).decode("ascii"):
        raise NotVerified(f"{stored.key}: S3's SHA-256 of the stored bytes is not the fetched bytes'")
    return stored
