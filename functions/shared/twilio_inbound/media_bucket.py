"""The media bucket's key layout: media/<MessageSid>/<index>-<MediaSid><extension>.

Keys say what they are (which message, which attachment, which Twilio media) and are decided before anything
is fetched, so a retry finds the object an earlier attempt wrote. Used by the media function (writes) and
`twilio-inbound media url` (finds a message's object and presigns it), with how each object is served.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MEDIA_PREFIX = "media/"
# Object metadata (x-amz-meta-*) the media function writes with every object.
SHA256_METADATA = "sha256"
# Extensions for the types Twilio accepts (MMS, WhatsApp): a fixed table, so keys do not depend on the
# runtime's mimetypes database. Anything else gets ".bin".
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/bmp": ".bmp",
    "image/tiff": ".tiff",
    "image/heic": ".heic",
    "video/mp4": ".mp4",
    "video/3gpp": ".3gp",
    "video/3gp": ".3gp",
    "video/quicktime": ".mov",
    "video/mpeg": ".mpeg",
    "video/webm": ".webm",
    "audio/mpeg": ".mp3",
    "audio/mp3": ".mp3",
    "audio/mp4": ".m4a",
    "audio/aac": ".aac",
    "audio/amr": ".amr",
    "audio/ogg": ".ogg",
    "audio/wav": ".wav",
    "audio/3gpp": ".3gp",
    "application/pdf": ".pdf",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.ms-powerpoint": ".ppt",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "application/zip": ".zip",
    "text/plain": ".txt",
    "text/csv": ".csv",
    "text/calendar": ".ics",
    "text/vcard": ".vcf",
    "text/x-vcard": ".vcf",
    "text/directory": ".vcf",
}
_SID = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")
# What a browser shows inline without running anything: raster images, audio, video. Anything else (text/html,
# image/svg+xml, XML, PDF, scripts, unknown types) is served as a download, so that a presigned URL never opens a
# sender's active content as a page on the bucket's origin.
_INLINE = re.compile(r"image/(jpeg|jpg|png|gif|webp|bmp|tiff|heic)|audio/[a-z0-9.+-]+|video/[a-z0-9.+-]+")


class NoSuchMedia(LookupError):
    pass


def extension_for(content_type: str) -> str:
    return EXTENSIONS.get(content_type.partition(";")[0].strip().lower(), ".bin")


def content_disposition(content_type: str, key: str) -> str:
    """How S3 serves the object: inline for passive media, else as an attachment named after the key."""
    if _INLINE.fullmatch(content_type.partition(";")[0].strip().lower()):
        return "inline"
    return f'attachment; filename="{key.rpartition("/")[2]}"'


def message_prefix(message_sid: str) -> str:
    if not _SID.fullmatch(message_sid):
        raise ValueError(f"not a MessageSid: {message_sid!r}")
    return f"{MEDIA_PREFIX}{message_sid}/"


def media_key(message_sid: str, index: int, media_sid: str, content_type: str) -> str:
    if not _SID.fullmatch(media_sid):
        raise ValueError(f"not a media SID: {media_sid!r}")
    return f"{message_prefix(message_sid)}{index}-{media_sid}{extension_for(content_type)}"


def find_media_key(s3: S3Client, bucket: str, message_sid: str, index: int) -> str:
    """The key of a message's attachment `index` (0-based), as archived."""
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{message_prefix(message_sid)}{index}-", MaxKeys=2)
    keys = [item["Key"] for item in listed.get("Contents", [])]
    if not keys:
        raise NoSuchMedia(f"no archived media {index} for {message_sid} in {bucket}")
    return keys[0]
