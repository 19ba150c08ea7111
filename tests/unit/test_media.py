"""The media function end to end in one process: webhook -> table -> stream -> fanout -> SNS -> media queue ->
media function -> S3 + twilio-inbound.media.archived, against the Twilio API stand-in on 127.0.0.1 (every
request and answer checked against Twilio's OpenAPI description) and moto for AWS.

These tests open sockets to 127.0.0.1 only (pytest-socket's allow_hosts marker): any attempt to fetch media
from another host fails the test.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import jsonschema
import pytest

from devtools.lambda_runtime import Invoke, load_function
from devtools.pollers import QueuePoller, StreamPoller
from devtools.template import ROOT, Stack
from devtools.twilio_api import MediaSpec, TwilioStandIn
from devtools.twilio_api.content import content_sha256
from devtools.twilio_api.models import Account, Media
from devtools.twilio_api.spec import TwilioSpec
from media.settings import MediaSettings
from media.twilio_media import FetchFailed, TooLarge, TwilioMedia
from tests.unit.helpers import Injector, drain, signed_event, subscribe_queue
from twilio_inbound.cloudevent import EVENT_TYPE, MEDIA_ARCHIVED_TYPE
from twilio_inbound.secrets import ApiCredentials
from twilio_inbound_cli.media_command import move_dead_letters
from twilio_inbound_cli.signing import inbound_form

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

SCHEMA = json.loads((ROOT / "schemas" / "media-archived.v1.json").read_text())
NUMBER, SENDER = "+15005550001", "+15005550006"
SECRET_NAME = "twilio-inbound-test/twilio"
# The stack's secret (changed by name here: moto's ARNs end in a random suffix), read afresh on every call,
# retries without pauses.
FUNCTION_ENV = {
    "TOKEN_CACHE_SECONDS": "0",
    "FETCH_RETRY_BASE_SECONDS": "0",
}
MAX_RECEIVES = 5  # MediaQueue's maxReceiveCount


@pytest.fixture
def account(twilio: TwilioStandIn) -> Account:
    return twilio.add_account(friendly_name="Media")


@dataclass
class Pipeline:
    stack: Stack
    twilio: TwilioStandIn
    account: Account
    ingest: Invoke
    stream: StreamPoller
    media: QueuePoller
    subscriber: str
    configure: Callable[..., None]

    def receive(self, *media: MediaSpec, urls: Sequence[tuple[str, str]] = (), body: str = "photo") -> str:
        """Twilio receives a message with this media and posts the webhook; the fanout publishes it."""
        message = self.twilio.add_inbound_message(self.account.sid, sender=SENDER, to=NUMBER, body=body, media=media)
        pairs = [(self.twilio.media_url(item), item.content_type) for item in self.twilio.media_of(message.sid)]
        form = inbound_form(body=body, media=[*pairs, *urls], message_sid=message.sid, account_sid=self.account.sid)
        assert self.ingest(signed_event(form))["statusCode"] == 200
        while self.stream.poll_once():
            pass
        return message.sid

    def archive(self, times: int = 1) -> None:
        """The media function's queue event source, `times` receives."""
        for _ in range(times):
            self.media.poll_once()

    def events(self) -> dict[str, list[dict[str, Any]]]:
        received = drain(self.stack, self.subscriber)
        return {
            kind: [item["event"] for item in received if item["event"]["type"] == kind]
            for kind in (EVENT_TYPE, MEDIA_ARCHIVED_TYPE)
        }

    def depth(self, queue: str) -> int:
        attributes = self.stack.session.client("sqs").get_queue_attributes(
            QueueUrl=self.stack.physical[queue]["Ref"],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def objects(self) -> dict[str, dict[str, Any]]:
        """Every object in the media bucket: its bytes' SHA-256, size, type and metadata."""
        s3 = self.stack.session.client("s3")
        bucket = self.stack.physical["MediaBucket"]["Ref"]
        found = {}
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            got = s3.get_object(Bucket=bucket, Key=item["Key"])
            body = got["Body"].read()
            found[item["Key"]] = {
                "sha256": hashlib.sha256(body).hexdigest(),
                "size": len(body),
                "contentType": got["ContentType"],
                "metadata": got["Metadata"],
            }
        return found

    def api_requests(self, media: Media) -> list[int]:
        """The statuses of the API's answers to content requests for this media item."""
        return [
            record.status
            for record in self.twilio.requests("api")
            if record.method == "GET" and record.path.endswith(media.sid)
        ]


@pytest.fixture
def pipeline(
    stack: Stack,
    twilio: TwilioStandIn,
    account: Account,
    *,
    ingest: Invoke,
    fanout: Invoke,
    monkeypatch: pytest.MonkeyPatch,
) -> Pipeline:
    stack.session.client("secretsmanager").put_secret_value(SecretId=SECRET_NAME, SecretString=account.auth_token)
    functions = stack.functions()
    environment = {**FUNCTION_ENV, "TWILIO_API_URL": twilio.base_url}
    invoke = load_function(functions["MediaFunction"], environment)
    from media import handler

    def configure(s3: Any = None, **overrides: str) -> None:
        """The function's settings for this test (its module was imported once, with the first test's)."""
        settings = MediaSettings.from_env({**functions["MediaFunction"].environment, **environment, **overrides})
        monkeypatch.setattr(handler, "settings", settings)
        monkeypatch.setattr(handler, "archiver", handler.build_archiver(settings, s3=s3, sleep=lambda _: None))

    configure()
    (stream_source,) = functions["FanoutFunction"].events
    (queue_source,) = functions["MediaFunction"].events
    return Pipeline(
        stack,
        twilio,
        account,
        ingest,
        StreamPoller(stack.session, stream_source.arn, fanout, stream_source.properties, function="FanoutFunction"),
        # A failed message comes back at once (the deployed queue waits 30 s, doubling), to see every retry.
        QueuePoller(
            stack.session,
            queue_source.arn,
            invoke,
            queue_source.properties,
            retry_visibility=0,
            function="MediaFunction",
        ),
        subscribe_queue(stack),
        configure,
    )


def archived_entries(event: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for item in event["data"]["media"] if item["archived"]]


# ------------------------------------------------------------------------------------------ the happy path
def test_an_mms_is_announced_at_once_and_its_media_archived_then_announced_once(pipeline: Pipeline) -> None:
    # GIVEN an MMS with a photo and a video, held by Twilio
    sid = pipeline.receive(
        MediaSpec(content_type="image/jpeg", size=300_000), MediaSpec(content_type="video/mp4", size=2_000_000)
    )
    media = pipeline.twilio.media_of(sid)
    # THEN the message event is out before any media work, and the media queue holds the message
    before = pipeline.events()
    assert [event["id"] for event in before[EVENT_TYPE]] == [sid]
    assert before[MEDIA_ARCHIVED_TYPE] == []
    assert pipeline.depth("MediaQueue") == 1

    # WHEN the media function runs
    pipeline.archive()

    # THEN both files are in the bucket, byte for byte, under keys that say what they are
    objects = pipeline.objects()
    expected_keys = [f"media/{sid}/0-{media[0].sid}.jpg", f"media/{sid}/1-{media[1].sid}.mp4"]
    assert sorted(objects) == expected_keys
    for key, item in zip(expected_keys, media, strict=True):
        assert objects[key]["sha256"] == content_sha256(item.seed, item.size)
        assert (objects[key]["size"], objects[key]["contentType"]) == (item.size, item.content_type)
        assert objects[key]["metadata"]["sha256"] == objects[key]["sha256"]
        assert objects[key]["metadata"]["media-sid"] == item.sid
    # AND one media.archived event names them, schema-valid; the message event is not published again
    after = pipeline.events()
    assert after[EVENT_TYPE] == []
    (event,) = after[MEDIA_ARCHIVED_TYPE]
    jsonschema.validate(event, SCHEMA)
    assert event["id"] == f"{sid}:media"
    bucket = pipeline.stack.physical["MediaBucket"]["Ref"]
    assert event["data"]["media"] == [
        {
            "url": pipeline.twilio.media_url(item),
            "contentType": item.content_type,
            "archived": True,
            "bucket": bucket,
            "key": key,
            "size": item.size,
            "sha256": content_sha256(item.seed, item.size),
        }
        for key, item in zip(expected_keys, media, strict=True)
    ]
    assert pipeline.depth("MediaQueue") == pipeline.depth("MediaDeadLetterQueue") == 0


def test_text_only_messages_never_reach_the_media_queue(pipeline: Pipeline) -> None:
    # GIVEN a text message and an MMS
    pipeline.receive(body="just text")
    assert pipeline.depth("MediaQueue") == 0
    pipeline.receive(MediaSpec(size=10))
    # THEN only the MMS waits for media work; the text message's event went out at once
    assert pipeline.depth("MediaQueue") == 1
    assert len(pipeline.events()[EVENT_TYPE]) == 2


def test_ten_attachments_of_every_kind_archive_in_one_invocation(pipeline: Pipeline) -> None:
    kinds = ["image/jpeg", "image/png", "image/gif", "video/mp4", "video/3gpp", "audio/ogg", "audio/mpeg"]
    kinds += ["application/pdf", "text/vcard", "application/x-unknown"]
    sid = pipeline.receive(*(MediaSpec(content_type=kind, size=200_000 + index) for index, kind in enumerate(kinds)))
    pipeline.archive()
    (event,) = pipeline.events()[MEDIA_ARCHIVED_TYPE]
    jsonschema.validate(event, SCHEMA)
    keys = [item["key"] for item in archived_entries(event)]
    extensions = [".jpg", ".png", ".gif", ".mp4", ".3gp", ".ogg", ".mp3", ".pdf", ".vcf", ".bin"]
    media = pipeline.twilio.media_of(sid)
    assert keys == [
        f"media/{sid}/{i}-{item.sid}{ext}" for i, (item, ext) in enumerate(zip(media, extensions, strict=True))
    ]
    objects = pipeline.objects()
    assert [objects[key]["sha256"] for key in keys] == [content_sha256(item.seed, item.size) for item in media]


# ------------------------------------------------------------------------------------------ credentials
def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_credentials_go_to_twilios_api_only_and_never_follow_the_redirect(pipeline: Pipeline) -> None:
    sid = pipeline.receive(MediaSpec(size=50_000), MediaSpec(size=60_000, redirect_status=302))
    pipeline.archive()
    assert len(archived_entries(pipeline.events()[MEDIA_ARCHIVED_TYPE][0])) == 2
    api = [record for record in pipeline.twilio.requests("api") if sid in record.path]
    cdn = pipeline.twilio.requests("cdn")
    # THEN the API saw the account's credentials; the CDN it redirected to (another host:port) saw none
    assert [record.authorization for record in api] == [basic(pipeline.account.sid, pipeline.account.auth_token)] * 2
    assert len(cdn) == 2
    assert [record.authorization for record in cdn] == [None, None]


def test_an_api_key_in_the_secret_is_used_instead_of_the_auth_token(pipeline: Pipeline) -> None:
    key = pipeline.twilio.add_api_key(pipeline.account.sid)
    secret = {"primary": pipeline.account.auth_token, "apiKeySid": key.sid, "apiKeySecret": key.secret}
    pipeline.stack.session.client("secretsmanager").put_secret_value(
        SecretId=SECRET_NAME, SecretString=json.dumps(secret)
    )
    sid = pipeline.receive(MediaSpec(size=1000))
    pipeline.archive()
    assert len(archived_entries(pipeline.events()[MEDIA_ARCHIVED_TYPE][0])) == 1
    (request,) = [record for record in pipeline.twilio.requests("api") if sid in record.path]
    assert request.authorization == basic(key.sid, key.secret)


def test_refused_credentials_retry_then_dead_letter_and_replay_archives_once_fixed(pipeline: Pipeline) -> None:
    # GIVEN a secret holding a wrong token
    secrets = pipeline.stack.session.client("secretsmanager")
    secrets.put_secret_value(SecretId=SECRET_NAME, SecretString="a-wrong-token")
    sid = pipeline.receive(MediaSpec(size=1000))
    # WHEN the media function tries, and SQS redelivers, until the queue's maxReceiveCount
    pipeline.archive(MAX_RECEIVES + 1)
    # THEN Twilio answered 401 each time (no retry within an invocation), nothing was stored or announced,
    # and the message waits in the media dead-letter queue
    assert pipeline.api_requests(pipeline.twilio.media_of(sid)[0]) == [401] * MAX_RECEIVES
    assert pipeline.objects() == {}
    assert pipeline.events()[MEDIA_ARCHIVED_TYPE] == []
    assert (pipeline.depth("MediaQueue"), pipeline.depth("MediaDeadLetterQueue")) == (0, 1)

    # WHEN the secret is fixed and the dead letters replayed (twilio-inbound media replay)
    secrets.put_secret_value(SecretId=SECRET_NAME, SecretString=pipeline.account.auth_token)
    sqs = pipeline.stack.session.client("sqs")
    moved = move_dead_letters(
        sqs, pipeline.stack.physical["MediaDeadLetterQueue"]["Ref"], pipeline.stack.physical["MediaQueue"]["Ref"]
    )
    pipeline.archive()
    # THEN the media is archived and announced once, and both queues are empty
    assert moved == 1
    (event,) = pipeline.events()[MEDIA_ARCHIVED_TYPE]
    assert [item["key"] for item in archived_entries(event)] == list(pipeline.objects())
    assert (pipeline.depth("MediaQueue"), pipeline.depth("MediaDeadLetterQueue")) == (0, 0)


# ------------------------------------------------------------------------------------------ Twilio lagging, failing
def test_early_404s_are_retried_within_the_invocation(pipeline: Pipeline) -> None:
    sid = pipeline.receive(MediaSpec(size=5000, not_found_first=2))
    pipeline.archive()
    assert pipeline.api_requests(pipeline.twilio.media_of(sid)[0]) == [404, 404, 307]
    assert len(archived_entries(pipeline.events()[MEDIA_ARCHIVED_TYPE][0])) == 1


def test_media_lagging_longer_comes_back_through_the_queue(pipeline: Pipeline) -> None:
    sid = pipeline.receive(MediaSpec(size=5000, not_found_first=5, cdn_errors=1))
    pipeline.archive()  # 4 attempts: 404s
    assert pipeline.events()[MEDIA_ARCHIVED_TYPE] == []
    pipeline.archive()  # the 5th 404, a 307 to a CDN answering 503, then the media
    assert pipeline.api_requests(pipeline.twilio.media_of(sid)[0]) == [404] * 5 + [307, 307]
    assert len(pipeline.events()[MEDIA_ARCHIVED_TYPE]) == 1
    assert pipeline.depth("MediaDeadLetterQueue") == 0


def test_a_retry_reuses_what_an_earlier_attempt_archived(pipeline: Pipeline) -> None:
    # GIVEN two attachments, the second failing at Twilio for longer than one invocation's attempts
    sid = pipeline.receive(MediaSpec(size=4000), MediaSpec(size=3000, server_errors=4))
    first, second = pipeline.twilio.media_of(sid)
    pipeline.archive()
    assert list(pipeline.objects()) == [f"media/{sid}/0-{first.sid}.jpg"]
    assert pipeline.events()[MEDIA_ARCHIVED_TYPE] == []
    # WHEN SQS redelivers THEN the first is not fetched again, the second is archived, one event names both
    pipeline.archive()
    assert pipeline.api_requests(first) == [307]
    assert pipeline.api_requests(second) == [500] * 4 + [307]
    (event,) = pipeline.events()[MEDIA_ARCHIVED_TYPE]
    assert len(archived_entries(event)) == 2


def test_an_s3_failure_is_retried_then_dead_lettered_then_replayed(pipeline: Pipeline) -> None:
    # GIVEN S3 refusing every write (after botocore's own retries)
    s3 = boto3.client("s3")
    pipeline.configure(s3=s3)
    sid = pipeline.receive(MediaSpec(size=2000))
    with Injector(s3, "before-call.s3.PutObject", (500, "InternalError")) as failing:
        pipeline.archive(MAX_RECEIVES + 1)
    # THEN each receive tried once, nothing was announced, and the message is in the dead-letter queue
    assert failing.attempts == MAX_RECEIVES
    assert pipeline.objects() == {}
    assert pipeline.events()[MEDIA_ARCHIVED_TYPE] == []
    assert pipeline.depth("MediaDeadLetterQueue") == 1
    # WHEN S3 is back and the dead letters are replayed THEN the media is archived and announced once
    sqs = pipeline.stack.session.client("sqs")
    dead_letters, queue = (pipeline.stack.physical[name]["Ref"] for name in ("MediaDeadLetterQueue", "MediaQueue"))
    assert move_dead_letters(sqs, dead_letters, queue) == 1
    pipeline.archive()
    assert len(archived_entries(pipeline.events()[MEDIA_ARCHIVED_TYPE][0])) == 1
    assert list(pipeline.objects()) == [f"media/{sid}/0-{pipeline.twilio.media_of(sid)[0].sid}.jpg"]


# ------------------------------------------------------------------------------------------ what is never fetched
def test_media_urls_off_twilios_api_are_never_fetched_and_say_why(pipeline: Pipeline) -> None:
    account, unknown_message = pipeline.account.sid, "MM" + "0" * 32
    path = f"/2010-04-01/Accounts/{account}/Messages/{unknown_message}/Media/ME{'1' * 32}"
    urls = [
        "https://example.com/cat.jpg",
        "https://api.twilio.com.evil.example" + path,
        "http://api.twilio.com" + path,  # not HTTPS
        "https://api.twilio.com:8443" + path,
        "https://user:pass@api.twilio.com" + path,
        "https://api.twilio.com/2010-04-01/Accounts/" + account,  # Twilio's host, but not media
        "https://api.twilio.com" + path.replace(account, "AC" + "9" * 32),  # another account's media
        "https://api.twilio.com" + path,  # this account's, but another message's
    ]
    sid = pipeline.receive(urls=[(url, "image/jpeg") for url in urls])
    pipeline.archive()
    (event,) = pipeline.events()[MEDIA_ARCHIVED_TYPE]
    jsonschema.validate(event, SCHEMA)
    assert [item["archived"] for item in event["data"]["media"]] == [False] * len(urls)
    reasons = [item["reason"] for item in event["data"]["media"]]
    assert reasons[0] == "not on a Twilio API host (https://example.com): never fetched"
    assert all(reason.endswith("never fetched") for reason in reasons), reasons
    assert pipeline.twilio.requests("api") == pipeline.twilio.requests("cdn") == []
    assert pipeline.objects() == {}
    assert event["id"] == f"{sid}:media"


def test_an_oversized_file_is_refused_cleanly_and_the_rest_archived(pipeline: Pipeline) -> None:
    pipeline.configure(MAX_MEDIA_BYTES="100000")
    sid = pipeline.receive(MediaSpec(size=100_000), MediaSpec(content_type="video/mp4", size=100_001))
    pipeline.archive()
    (event,) = pipeline.events()[MEDIA_ARCHIVED_TYPE]
    first, second = event["data"]["media"]
    assert first["archived"] is True
    assert second == {
        "url": pipeline.twilio.media_url(pipeline.twilio.media_of(sid)[1]),
        "contentType": "video/mp4",
        "archived": False,
        "reason": "100,001 bytes, over the 100,000-byte limit: not archived",
    }
    assert list(pipeline.objects()) == [first["key"]]
    assert pipeline.depth("MediaDeadLetterQueue") == 0


# ------------------------------------------------------------------------------------------ deletion at Twilio
def test_media_is_deleted_at_twilio_after_its_copy_is_verified(pipeline: Pipeline) -> None:
    pipeline.configure(DELETE_TWILIO_MEDIA_AFTER_ARCHIVE="true")
    sid = pipeline.receive(MediaSpec(size=7000), MediaSpec(size=8000))
    media = pipeline.twilio.media_of(sid)
    pipeline.archive()
    (event,) = pipeline.events()[MEDIA_ARCHIVED_TYPE]
    assert [item["sha256"] for item in archived_entries(event)] == [content_sha256(m.seed, m.size) for m in media]
    assert pipeline.twilio.media_of(sid) == []
    deletes = [record for record in pipeline.twilio.requests("api") if record.method == "DELETE"]
    assert [(record.path, record.status) for record in deletes] == [
        (f"/2010-04-01/Accounts/{pipeline.account.sid}/Messages/{sid}/Media/{item.sid}.json", 204) for item in media
    ]


def test_media_is_not_deleted_at_twilio_when_the_copy_does_not_verify(pipeline: Pipeline) -> None:
    # GIVEN S3 reporting another SHA-256 for what it stored
    s3 = boto3.client("s3")
    pipeline.configure(s3=s3, DELETE_TWILIO_MEDIA_AFTER_ARCHIVE="true")

    def corrupt(parsed: dict[str, Any], **_: Any) -> None:
        if "ChecksumSHA256" in parsed:
            parsed["ChecksumSHA256"] = base64.b64encode(b"\0" * 32).decode()

    s3.meta.events.register("after-call.s3.HeadObject", corrupt)
    sid = pipeline.receive(MediaSpec(size=7000))
    pipeline.archive()
    # THEN nothing is deleted at Twilio, nothing announced, and the message is retried
    assert [record for record in pipeline.twilio.requests("api") if record.method == "DELETE"] == []
    assert len(pipeline.twilio.media_of(sid)) == 1
    assert pipeline.events()[MEDIA_ARCHIVED_TYPE] == []
    assert pipeline.depth("MediaQueue") == 1


# ------------------------------------------------------------------------------------------ the HTTP client itself
class _Scripted(ThreadingHTTPServer):
    """Answers every GET with `answer(path)`: (status, headers, body chunks). Records the headers it got."""

    daemon_threads = True

    def __init__(self, answer: Callable[[str], tuple[int, dict[str, str], list[bytes]]]) -> None:
        self.answer = answer
        self.seen: list[dict[str, str]] = []
        super().__init__(("127.0.0.1", 0), _ScriptedHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ScriptedHandler(BaseHTTPRequestHandler):
    server: _Scripted
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.server.seen.append({name.lower(): value for name, value in self.headers.items()})
        status, headers, chunks = self.server.answer(self.path)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for chunk in chunks:
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def scripted() -> Iterator[Callable[[Callable[[str], tuple[int, dict[str, str], list[bytes]]]], _Scripted]]:
    servers: list[_Scripted] = []

    def start(answer: Callable[[str], tuple[int, dict[str, str], list[bytes]]]) -> _Scripted:
        server = _Scripted(answer)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


MEDIA = "/2010-04-01/Accounts/AC" + "a" * 32 + "/Messages/MM" + "b" * 32 + "/Media/ME" + "c" * 32
CREDENTIALS = ApiCredentials("AC" + "a" * 32, "token")


def test_redirects_are_bounded(scripted: Any, tmp_path: Any) -> None:
    server = scripted(lambda path: (302, {"Location": path}, []))
    client = TwilioMedia(server.url)
    with (tmp_path / "sink").open("wb") as sink, pytest.raises(FetchFailed, match="more than 3 redirects"):
        client.download(client.locate("https://api.twilio.com" + MEDIA), CREDENTIALS, sink, 1000, "image/jpeg")
    assert len(server.seen) == 4


def test_a_stream_without_content_length_is_cut_off_at_the_limit(scripted: Any, tmp_path: Any) -> None:
    server = scripted(lambda path: (200, {"Content-Type": "video/mp4"}, [b"x" * 65536] * 32))  # 2 MiB, chunked
    client = TwilioMedia(server.url)
    with (tmp_path / "sink").open("wb") as sink, pytest.raises(TooLarge, match="over the 1,000,000-byte limit"):
        client.download(client.locate(server.url + MEDIA), CREDENTIALS, sink, 1_000_000, "video/mp4")
    assert (tmp_path / "sink").stat().st_size <= 1_000_000


def test_authorization_stays_behind_when_a_redirect_leaves_the_api_host(scripted: Any, tmp_path: Any) -> None:
    cdn = scripted(lambda path: (200, {"Content-Type": "image/png"}, [b"png-bytes"]))
    api = scripted(lambda path: (307, {"Location": cdn.url + "/signed?token=abc"}, []))
    client = TwilioMedia(api.url)
    with (tmp_path / "sink").open("wb") as sink:
        got = client.download(client.locate(api.url + MEDIA), CREDENTIALS, sink, 1000, "image/jpeg")
    assert (got.size, got.content_type, got.sha256) == (9, "image/png", hashlib.sha256(b"png-bytes").digest())
    assert api.seen[0]["authorization"].startswith("Basic ")
    assert "authorization" not in cdn.seen[0]


# ------------------------------------------------------------------------------------------ Twilio's description
def _sid_for(pattern: str) -> str:
    prefix = re.search(r"[A-Z]{2}", pattern)
    assert prefix is not None, pattern
    return prefix.group() + "0123456789abcdef" * 2


def test_the_media_urls_fetched_and_deleted_are_twilios_media_resource(spec: TwilioSpec) -> None:
    # The Media resource as Twilio describes it: its path, its SIDs' patterns, and a DELETE answering 204.
    path = "/2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}/Media/{Sid}.json"
    operation = spec.operation("api_v2010", path, "DELETE")
    assert operation is not None
    assert spec.declares_status("api_v2010", path, "DELETE", 204)
    patterns = {param["name"]: param["schema"]["pattern"] for param in operation["parameters"] if param["in"] == "path"}
    sids = {name: _sid_for(pattern) for name, pattern in patterns.items()}
    assert all(re.fullmatch(patterns[name], sid) for name, sid in sids.items())
    resource = "https://api.twilio.com" + path.format(**sids)
    # THEN the content URL (the resource without .json, what MediaUrlN carries) is one the function fetches,
    # and the URL it deletes is the resource itself
    location = TwilioMedia().locate(resource.removesuffix(".json"))
    assert location.resource_url == resource
    assert (location.account_sid, location.message_sid, location.media_sid) == (
        sids["AccountSid"], sids["MessageSid"], sids["Sid"]
    )  # fmt: skip


# ------------------------------------------------------------------------------------------ issue 20, items 9 and 10
@pytest.mark.parametrize("value", ["²", "1²", "12 34", "-5"])
def test_9_a_content_length_that_is_not_ascii_digits_is_ignored_not_a_crash(
    scripted: Any, tmp_path: Any, value: str
) -> None:
    server = scripted(lambda path: (200, {"Content-Type": "image/jpeg", "Content-Length": value}, [b"x" * 100]))
    client = TwilioMedia(server.url)
    with (tmp_path / "sink").open("wb") as sink:
        got = client.download(client.locate("https://api.twilio.com" + MEDIA), CREDENTIALS, sink, 1000, "image/jpeg")
    assert got.size == 100


def test_9_a_retry_after_that_is_not_ascii_digits_is_a_retry_without_a_wait(scripted: Any, tmp_path: Any) -> None:
    server = scripted(lambda path: (429, {"Retry-After": "²"}, []))
    client = TwilioMedia(server.url)
    with (tmp_path / "sink").open("wb") as sink, pytest.raises(FetchFailed) as failed:
        client.download(client.locate("https://api.twilio.com" + MEDIA), CREDENTIALS, sink, 1000, "image/jpeg")
    assert failed.value.retry_after == 0.0


@pytest.fixture
def media_bucket(stack: Stack) -> tuple[Any, str]:
    return stack.session.client("s3"), stack.physical["MediaBucket"]["Ref"]


@pytest.mark.parametrize(
    ("content_type", "served_as"),
    [
        ("text/html", 'attachment; filename="0-ME' + "c" * 32 + '.bin"'),
        ("image/svg+xml", 'attachment; filename="0-ME' + "c" * 32 + '.bin"'),
        ("application/pdf", 'attachment; filename="0-ME' + "c" * 32 + '.pdf"'),
        ("image/jpeg", "inline"),
        ("video/mp4", "inline"),
    ],
)
def test_10_active_content_is_archived_as_a_download(
    media_bucket: tuple[Any, str], tmp_path: Any, content_type: str, served_as: str
) -> None:
    from media.bucket import MediaBucket
    from twilio_inbound.media_bucket import media_key

    s3, name = media_bucket
    key = media_key("MM" + "b" * 32, 0, "ME" + "c" * 32, content_type)
    body = tmp_path / "body"
    body.write_bytes(b"<svg onload=alert(1)>")
    with body.open("rb") as stream:
        MediaBucket(s3, name).put(
            key,
            stream,
            size=21,
            sha256=hashlib.sha256(body.read_bytes()).digest(),
            content_type=content_type,
            metadata={},
        )
    assert s3.head_object(Bucket=name, Key=key)["ContentDisposition"] == served_as


def test_10_a_presigned_url_serves_active_content_as_a_download_even_if_archived_before(
    stack: Stack, media_bucket: tuple[Any, str], tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from twilio_inbound_cli.main import main

    s3, name = media_bucket
    sid = "MM" + "b" * 32
    # GIVEN an HTML attachment archived with no Content-Disposition (as the media function wrote them before)
    s3.put_object(Bucket=name, Key=f"media/{sid}/0-ME{'c' * 32}.bin", Body=b"<script>", ContentType="text/html")
    s3.put_object(Bucket=name, Key=f"media/{sid}/1-ME{'d' * 32}.jpg", Body=b"\xff\xd8", ContentType="image/jpeg")
    outputs = {**stack.outputs(), "Region": "us-east-1", "EmulatorEndpoint": ""}
    (tmp_path / "outputs.json").write_text(json.dumps(outputs))
    monkeypatch.setenv("TWILIO_INBOUND_OUTPUTS", str(tmp_path / "outputs.json"))
    # WHEN an operator prints presigned URLs for both
    assert main(["media", "url", sid, "0"]) == 0
    assert main(["media", "url", sid, "1"]) == 0
    html, jpeg = capsys.readouterr().out.split()
    # THEN the HTML one is served as a download, the picture inline
    assert "response-content-disposition=attachment" in html
    assert "response-content-disposition=inline" in jpeg
