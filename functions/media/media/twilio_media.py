"""Twilio's media over plain HTTP: which URLs are fetched, who gets the credentials, redirects, streaming, deletion.

- A MediaUrl is fetched only when it is a Twilio media URL on a Twilio API host (api.twilio.com, or
  api.<region>.twilio.com / api.<edge>.<region>.twilio.com) over HTTPS. Anything else is never requested.
- Basic auth goes only to those hosts. Twilio answers with a redirect to its CDN: redirects are followed by
  hand, at most MAX_REDIRECTS, and a hop to any other host goes without the Authorization header.
- The body streams into a sink in CHUNK_BYTES pieces, hashed on the way (SHA-256) and cut off past the size
  limit: a file is never held whole in memory.

With a stand-in (`api_url`, e.g. the local stack's http://127.0.0.1:5010), requests for Twilio API hosts go
there instead (path kept, as devtools/twilio_api/sdk.redirect_url does), exactly that scheme://host:port gets
the credentials, and plain-HTTP redirects are allowed. Nothing then reaches the real Twilio.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import re
import ssl
from dataclasses import dataclass
from typing import IO
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

from twilio_inbound.http_fields import header_int
from twilio_inbound.secrets import ApiCredentials

MAX_REDIRECTS = 3
CHUNK_BYTES = 1024 * 1024
USER_AGENT = "twilio-inbound-media/1.0"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
# api.twilio.com, api.ie1.twilio.com, api.dublin.ie1.twilio.com (the SDK's product[.edge][.region] form).
TWILIO_API_HOST = re.compile(r"api(\.[a-z0-9]+){0,2}\.twilio\.com")
MEDIA_PATH = re.compile(
    r"/2010-04-01/Accounts/(?P<account>AC[0-9a-fA-F]{32})/Messages/(?P<message>[A-Z]{2}[0-9a-fA-F]{32})"
    r"/Media/(?P<media>ME[0-9a-fA-F]{32})"
)


class NotFetchable(Exception):
    """The URL will never be fetched (not Twilio's, not a media URL, too large); the text says why."""


class TooLarge(NotFetchable):
    pass


class FetchFailed(Exception):
    """This attempt failed; another may succeed. `retry_after`: seconds Twilio asked to wait (429)."""

    def __init__(self, reason: str, retry_after: float = 0.0) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class NotYetAvailable(FetchFailed):
    """404 from Twilio's API: media can lag the webhook by seconds."""


class CredentialsRefused(FetchFailed):
    """401/403 from Twilio's API: the secret's token or API key is wrong (fix it, then replay)."""


def basic_auth(credentials: ApiCredentials) -> str:
    pair = f"{credentials.username}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


@dataclass(frozen=True)
class MediaLocation:
    url: str  # where the content is requested (the stand-in's address when one is configured)
    account_sid: str
    message_sid: str
    media_sid: str

    @property
    def resource_url(self) -> str:
        """The Media resource (DELETE removes it at Twilio): the content URL plus .json."""
        return self.url + ".json"


@dataclass(frozen=True)
class Downloaded:
    size: int
    sha256: bytes  # the digest of exactly the bytes written to the sink
    content_type: str  # as served; the webhook's MediaContentType when the answer has none


def _is_twilio_api(parts: SplitResult) -> bool:
    return (
        parts.scheme == "https"
        and TWILIO_API_HOST.fullmatch(parts.hostname or "") is not None
        and parts.port in (None, 443)
        and parts.username is None
        and parts.password is None
    )


class TwilioMedia:
    def __init__(self, api_url: str = "", timeout: float = 30.0) -> None:
        """`api_url`: a stand-in for Twilio's API (empty: Twilio itself)."""
        self._base = urlsplit(api_url.rstrip("/")) if api_url else None
        self._timeout = timeout
        self._tls = ssl.create_default_context()

    def locate(self, url: str) -> MediaLocation:
        """Where a MediaUrl is fetched from; NotFetchable when it must never be requested."""
        parts = urlsplit(url.strip())
        try:
            _ = parts.port
        except ValueError as error:
            raise NotFetchable("not a valid URL: never fetched") from error
        if not (_is_twilio_api(parts) or self._is_standin(parts)):
            host = parts.hostname or "no host"
            raise NotFetchable(f"not on a Twilio API host ({parts.scheme}://{host}): never fetched")
        found = MEDIA_PATH.fullmatch(parts.path)
        if found is None or parts.query or parts.fragment:
            raise NotFetchable("not a Twilio media URL (/2010-04-01/Accounts/AC…/Messages/…/Media/ME…): never fetched")
        target = parts
        if self._base is not None and not self._is_standin(parts):
            target = parts._replace(
                scheme=self._base.scheme, netloc=self._base.netloc, path=self._base.path + parts.path
            )
        return MediaLocation(urlunsplit(target), found["account"], found["message"], found["media"])

    def download(
        self, location: MediaLocation, credentials: ApiCredentials, sink: IO[bytes], max_bytes: int, content_type: str
    ) -> Downloaded:
        """Streams the media into `sink`. Raises TooLarge, NotYetAvailable, CredentialsRefused or FetchFailed."""
        url = location.url
        for hop in range(MAX_REDIRECTS + 1):
            parts = urlsplit(url)
            authorized = self._authorized(parts)
            headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}
            if authorized:
                headers["Authorization"] = basic_auth(credentials)
            connection = self._connect(parts)
            try:
                connection.request("GET", urlunsplit(("", "", parts.path or "/", parts.query, "")), headers=headers)
                response = connection.getresponse()
                if response.status in REDIRECTS:
                    url = self._next_hop(url, response.getheader("Location") or "")
                    continue
                if response.status != 200:
                    raise _failure(response, authorized and hop == 0, parts.hostname or "")
                return _stream(response, sink, max_bytes, content_type)
            except (OSError, http.client.HTTPException) as error:
                raise FetchFailed(f"{type(error).__name__} from {parts.hostname}") from error
            finally:
                connection.close()
        raise FetchFailed(f"more than {MAX_REDIRECTS} redirects")

    def delete(self, location: MediaLocation, credentials: ApiCredentials) -> None:
        """Deletes the Media resource at Twilio; one already gone (404) counts as deleted."""
        parts = urlsplit(location.resource_url)
        connection = self._connect(parts)
        try:
            connection.request(
                "DELETE",
                parts.path,
                headers={
                    "User-Agent": USER_AGENT,
                    "Accept": "application/json",
                    "Authorization": basic_auth(credentials),
                },
            )
            response = connection.getresponse()
            response.read()
            if response.status not in (204, 404):
                raise _failure(response, True, parts.hostname or "")
        except (OSError, http.client.HTTPException) as error:
            raise FetchFailed(f"{type(error).__name__} from {parts.hostname}") from error
        finally:
            connection.close()

    # ----------------------------------------------------------------------------------------------------
    def _is_standin(self, parts: SplitResult) -> bool:
        base = self._base
        return base is not None and (parts.scheme, parts.netloc) == (base.scheme, base.netloc)

    def _authorized(self, parts: SplitResult) -> bool:
        """Whether this host may see the credentials: Twilio's API, or exactly the configured stand-in."""
        return self._is_standin(parts) if self._base is not None else _is_twilio_api(parts)

    def _next_hop(self, current: str, location: str) -> str:
        if not location:
            raise FetchFailed("redirect without a Location")
        target = urljoin(current, location)
        scheme = urlsplit(target).scheme
        if scheme != "https" and not (self._base is not None and scheme == "http"):
            raise FetchFailed(f"redirect to a {scheme or 'relative'} URL refused (HTTPS only)")
        return target

    def _connect(self, parts: SplitResult) -> http.client.HTTPConnection:
        host, port = parts.hostname or "", parts.port
        if parts.scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=self._timeout, context=self._tls)
        return http.client.HTTPConnection(host, port, timeout=self._timeout)


def _failure(response: http.client.HTTPResponse, authorized: bool, host: str) -> FetchFailed:
    """`authorized`: the answer came from Twilio's API to our credentials (not from the CDN after a redirect)."""
    status = response.status
    if authorized and status == 404:
        return NotYetAvailable(f"404 from {host}: not (yet) available")
    if authorized and status in (401, 403):
        return CredentialsRefused(f"{status} from {host}: the credentials were refused")
    retry_after = header_int(response.getheader("Retry-After"))
    return FetchFailed(f"HTTP {status} from {host}", retry_after=float(retry_after or 0))


def _stream(response: http.client.HTTPResponse, sink: IO[bytes], max_bytes: int, content_type: str) -> Downloaded:
    declared = header_int(response.getheader("Content-Length"))
    if declared is not None and declared > max_bytes:
        raise TooLarge(f"{declared:,} bytes, over the {max_bytes:,}-byte limit: not archived")
    digest = hashlib.sha256()
    size = 0
    buffer = memoryview(bytearray(CHUNK_BYTES))
    while count := response.readinto(buffer):
        size += count
        if size > max_bytes:
            raise TooLarge(f"over the {max_bytes:,}-byte limit: not archived")
        digest.update(buffer[:count])
        sink.write(buffer[:count])
    if declared is not None and size != declared:
        raise FetchFailed(f"truncated: {size:,} of {declared:,} bytes")
    served = (response.getheader("Content-Type") or "").strip()
    return Downloaded(size, digest.digest(), served or content_type)
