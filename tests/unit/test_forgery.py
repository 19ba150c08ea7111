"""Forgery: every single-character change to a signed request's body, URL or signature is rejected.

For a few valid signed messages, every position of the URL and of the signature is substituted with every
character that could stand there, deleted, and preceded by an insertion; every position of the body is
substituted with the characters that carry meaning in a form (and a neighbour), deleted, and preceded by an
insertion. The count of mutants accepted must be 0.

Two kinds of body change cannot be rejected by any verifier, because the request Twilio's scheme signs is
the same: the form decodes to the same parameters (`%2B` and `%2b`, or a literal space for `+`), or the
signed string is the same (Twilio concatenates name and value without a separator: deleting the `=` of
`ToZip=94105` gives a parameter `ToZip94105` with a blank value and the same signature; an `&` inserted
into `MessageSid=MMf5...` gives `MessageSid=M` and a blank `Mf5...`, which sorts right after it). Those are
counted separately and shown to store nothing once the genuine message is stored: they keep its MessageSid,
or leave one that is not a Twilio SID (400).
"""

from __future__ import annotations

import base64
import re
import string
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import pytest

from devtools.apigw import http_api_event, rest_api_event, rest_api_url
from devtools.lambda_runtime import Invoke
from devtools.template import Stack
from tests.unit.helpers import INTERNALS, form_of
from twilio_inbound.secret_source import SecretSource
from twilio_inbound_cli import signing
from twilio_inbound_cli.signing import (
    TEST_AUTH_TOKEN,
    TEST_WEBHOOK_URL,
    FormPairs,
    encode_form,
    inbound_form,
)

SIGNATURE_ALPHABET = string.ascii_letters + string.digits + "+/="
URL_ALPHABET = "".join(char for char in string.printable if char not in string.whitespace)
URL_INSERTIONS = "/.:?&=#%-_~aA0 "
BODY_SUBSTITUTIONS = "=&%+ ~0aZ"
BODY_INSERTIONS = "=&a"


@dataclass(frozen=True)
class Signed:
    """A valid signed message: what Twilio would send to `url`."""

    name: str
    url: str
    pairs: FormPairs
    algorithm: str = "HMAC_SHA1"

    @property
    def body(self) -> bytes:
        return encode_form(self.pairs)

    @property
    def signature(self) -> str:
        return signing.signature(self.url, self.pairs, algorithm=self.algorithm)

    def headers(self, signature: str | None = None) -> dict[str, str]:
        headers = signing.signed_headers(self.url, self.pairs, algorithm=self.algorithm)
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        return headers

    def event(
        self, *, url: str | None = None, body: bytes | None = None, signature: str | None = None
    ) -> dict[str, Any]:
        return http_api_event("POST", url or self.url, self.headers(signature), self.body if body is None else body)

    @property
    def sid(self) -> str:
        return dict(self.pairs)["MessageSid"]


SHARED_KEY_ID = "webhooks_sharedkey_1"


def verify_shared_key_signatures(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ingest function as deployed with WebhookSigning=SharedKey, the test token as the shared key's secret."""
    from dataclasses import replace

    from ingest import handler as ingest_handler
    from twilio_inbound.secrets import AccountSecrets, WebhookSecrets
    from twilio_inbound.signature import SignatureVerifier

    secrets = WebhookSecrets(single=AccountSecrets(shared_keys={SHARED_KEY_ID: TEST_AUTH_TOKEN}))
    verifier = SignatureVerifier(lambda: secrets, "shared-key")
    monkeypatch.setattr(ingest_handler, "intake", replace(ingest_handler.intake, verifier=verifier))


MESSAGES = [
    Signed(
        "sms",
        TEST_WEBHOOK_URL,
        inbound_form(body="Pay invoice 4521 to account 12-34", sender="+14155550100", message_sid="SM" + "0a" * 16),
    ),
    Signed(
        "mms-unicode",
        TEST_WEBHOOK_URL,
        inbound_form(
            body="Ünïcödé ✓ 日本語 👋 & = + %",
            media=[("https://media.example/1.jpg", "image/jpeg")],
            message_sid="MMf5fd9aea8588446b95356c0b79082c6a",  # "M" + "Mf5..." sorts as one: see above
        ),
    ),
    Signed(
        "whatsapp-query",
        TEST_WEBHOOK_URL + "?tenant=acme%20corp&route=a&route=b",
        inbound_form(
            body="hola", sender="whatsapp:+14155550199", to="whatsapp:+15005550001", message_sid="SM" + "1b" * 16
        ),
    ),
    Signed(
        "sha256",
        TEST_WEBHOOK_URL,
        inbound_form(body="signed with a shared key", message_sid="SM" + "2c" * 16),
        algorithm="HMAC_SHA256",
    ),
]
TWILIO_SID = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")


# ---------------------------------------------------------------- single-character changes
def mutations(text: str, substitutions: str, insertions: str) -> Iterator[str]:
    """Every substitution, deletion and insertion of one character, at every position."""
    for position, original in enumerate(text):
        for char in substitutions:
            if char != original:
                yield text[:position] + char + text[position + 1 :]
        yield text[:position] + text[position + 1 :]
    for position in range(len(text) + 1):
        for char in insertions:
            yield text[:position] + char + text[position:]


def body_mutations(body: str) -> Iterator[str]:
    for position, original in enumerate(body):
        neighbour = chr(ord(original) + 1) if original != "~" else "}"
        for char in BODY_SUBSTITUTIONS + neighbour:
            if char != original:
                yield body[:position] + char + body[position + 1 :]
        yield body[:position] + body[position + 1 :]
    for position in range(len(body) + 1):
        for char in BODY_INSERTIONS:
            yield body[:position] + char + body[position:]


def sendable_event(message: Signed, url: str) -> dict[str, Any] | None:
    """The message sent to `url`; None when no client could request it."""
    try:
        # an absolute URL with a host: anything else ("htt[s://...", ":ttps://...") cannot be requested
        return message.event(url=url) if urlsplit(url).netloc else None
    except ValueError:  # a port that is not a number, an unclosed "["
        return None


def seen_request(event: dict[str, Any]) -> tuple[str, str, str, str]:
    """What the function can see of the URL: scheme, host, raw path and raw query."""
    headers = event["headers"]
    return headers.get("x-forwarded-proto", ""), headers.get("host", ""), event["rawPath"], event["rawQueryString"]


@dataclass
class Tally:
    """Mutants tried and how they were answered."""

    tried: int = 0
    accepted: list[str] = field(default_factory=list)
    raised: list[str] = field(default_factory=list)  # the function raised instead of answering
    statuses: Counter[int] = field(default_factory=Counter)
    same_request: int = 0  # not a change the function can see (a fragment, the scheme's case, ...)
    unsendable: int = 0  # not a URL any client could request
    equivalent: list[bytes] = field(default_factory=list)  # body decodes to the same parameters
    collisions: list[bytes] = field(default_factory=list)  # a different form that Twilio signs identically

    def answer(self, ingest: Invoke, event: dict[str, Any], label: str) -> None:
        self.tried += 1
        try:
            response = ingest(event)
        except Exception as error:  # collected, so that the failure lists every such mutant
            self.raised.append(f"{label}: {type(error).__name__}: {error}")
            return
        self.statuses[response["statusCode"]] += 1
        if 200 <= response["statusCode"] < 300:
            self.accepted.append(label)
        else:
            assert_reveals_nothing(response)


def assert_reveals_nothing(response: dict[str, Any]) -> None:
    text = str(response.get("body")) + str(response.get("headers"))
    assert not [word for word in INTERNALS if word in text], response


@pytest.fixture
def quiet(ingest: Invoke) -> Iterator[None]:
    """The ingest function without its per-rejection warning log: tens of thousands of rejections are expected."""
    from ingest import handler as ingest_handler

    level = ingest_handler.logger.log_level
    ingest_handler.logger.setLevel("ERROR")
    yield
    ingest_handler.logger.setLevel(level)


@pytest.fixture
def message_count(stack: Stack) -> Callable[[], int]:
    client = stack.session.client("dynamodb")
    table = stack.physical["MessagesTable"]["Ref"]
    return lambda: int(client.describe_table(TableName=table)["Table"]["ItemCount"])  # moto counts live


@pytest.mark.parametrize("message", MESSAGES, ids=lambda message: message.name)
def test_every_single_character_change_is_rejected(  # noqa: PLR0917 (pytest fixtures)
    ingest: Invoke,
    quiet: None,
    message_count: Callable[[], int],
    message: Signed,
    record_property: Callable[[str, Any], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if message.algorithm == "HMAC_SHA256":
        verify_shared_key_signatures(monkeypatch)
    # GIVEN a validly signed message that has not been delivered yet
    tally = Tally()
    original_body = message.body.decode("ascii")
    original_form = form_of(message.body)

    # WHEN each single-character change of its body is posted with the original signature
    for mutant in body_mutations(original_body):
        raw = mutant.encode("utf-8")
        form = form_of(raw)
        if form is not None and signing.signature(message.url, form, algorithm=message.algorithm) == message.signature:
            # the request Twilio signs is the same one: no verifier can tell (see the module docstring)
            (tally.equivalent if form == original_form else tally.collisions).append(raw)
            continue
        tally.answer(ingest, message.event(body=raw), f"body {mutant!r}")

    # ... and of its URL (scheme, host, path, query, separators)
    original_seen = seen_request(message.event())
    for mutant in mutations(message.url, URL_ALPHABET, URL_INSERTIONS):
        event = sendable_event(message, mutant)
        if event is None:
            tally.unsendable += 1
            continue
        if seen_request(event) == original_seen:
            tally.same_request += 1
            continue
        tally.answer(ingest, event, f"url {mutant!r}")

    # ... and of its X-Twilio-Signature
    for mutant in mutations(message.signature, SIGNATURE_ALPHABET, SIGNATURE_ALPHABET):
        tally.answer(ingest, message.event(signature=mutant), f"signature {mutant!r}")

    # THEN not one is accepted, and nothing is stored
    summary = (
        f"{message.name}: {tally.tried} mutants tried, {len(tally.accepted)} accepted, {len(tally.raised)} raised, "
        f"answers {dict(tally.statuses)}; "
        f"not tried: {len(tally.equivalent)} same parameters, {len(tally.collisions)} signed identically by Twilio's "
        f"scheme, {tally.same_request} same request, {tally.unsendable} not a URL"
    )
    print(summary)
    record_property("forgery", summary)
    assert tally.accepted == []
    assert tally.raised == [], f"{len(tally.raised)} mutants made the function raise"
    assert tally.tried > 5_000
    assert message_count() == 0

    # AND the genuine message is accepted (the mutants were rejected for being changed, not for being bad)
    assert ingest(message.event())["statusCode"] == 200
    assert message_count() == 1

    # AND what Twilio's scheme cannot tell apart keeps the MessageSid or has no usable one: it stores nothing more
    for raw in tally.equivalent + tally.collisions:
        sid = dict(form_of(raw) or []).get("MessageSid", "")
        assert sid == message.sid or not TWILIO_SID.fullmatch(sid)
        assert ingest(message.event(body=raw))["statusCode"] in {200, 400}
    assert message_count() == 1


def test_the_only_signature_collisions_are_deleted_separators() -> None:
    # GIVEN Twilio's signing string (URL + name + value, sorted by name, without separators)
    message = MESSAGES[0]
    body = message.body.decode("ascii")
    collisions = []
    for position in range(len(body)):
        mutant = body[:position] + body[position + 1 :]
        form = form_of(mutant.encode())
        changed = form is not None and form != form_of(message.body)
        if changed and form is not None and signing.signature(message.url, form) == message.signature:
            collisions.append(body[position])
    # THEN only deleting an "=" between a name and its value (merging them) keeps the signature
    assert collisions, "expected Twilio's scheme to admit '=' deletions (if not, tighten the forgery test)"
    assert set(collisions) == {"="}


# ---------------------------------------------------------------- replay elsewhere
@pytest.mark.parametrize(
    "other_url",
    [
        "https://other123abc.execute-api.us-east-1.amazonaws.com/sms",  # another API
        TEST_WEBHOOK_URL.replace("us-east-1", "eu-west-1"),  # another region
        TEST_WEBHOOK_URL.replace("/sms", "/sms2"),  # another path
        TEST_WEBHOOK_URL + "/",  # trailing slash
        TEST_WEBHOOK_URL.replace("https://", "http://"),  # http instead of https
        TEST_WEBHOOK_URL + "?replayed=1",  # an added query
        TEST_WEBHOOK_URL + "?",  # an empty query is still the same URL to the function
    ],
)
def test_a_valid_request_replayed_to_another_url_is_rejected(
    ingest: Invoke, message_count: Callable[[], int], other_url: str
) -> None:
    # GIVEN a valid request signed for the webhook URL
    message = Signed("sms", TEST_WEBHOOK_URL, inbound_form())
    event = message.event(url=other_url)
    if seen_request(event) == seen_request(message.event()):
        # WHEN the "other" URL is the same request to the function THEN it verifies (the control)
        assert ingest(event)["statusCode"] == 200
        return
    # WHEN it is replayed to another URL THEN it is rejected and nothing is stored
    response = ingest(event)
    assert response["statusCode"] == 403
    assert_reveals_nothing(response)
    assert message_count() == 0


def test_replayed_query_requests_are_bound_to_their_query(ingest: Invoke, message_count: Callable[[], int]) -> None:
    # GIVEN a request signed for a URL with a query string
    message = MESSAGES[2]
    # WHEN replayed with the query changed, reordered or dropped, or through payload 1.0 re-encoding it
    for other in (
        message.url.replace("route=a&route=b", "route=b&route=a"),
        message.url.replace("acme%20corp", "acme+corp"),
        message.url.split("?")[0],
    ):
        assert ingest(message.event(url=other))["statusCode"] == 403
    # THEN every replay is rejected and nothing is stored
    assert message_count() == 0


def test_a_replay_to_the_same_url_is_acknowledged_but_stored_once(
    ingest: Invoke, message_count: Callable[[], int]
) -> None:
    # GIVEN a delivered message
    message = Signed("sms", TEST_WEBHOOK_URL, inbound_form())
    assert ingest(message.event())["statusCode"] == 200
    # WHEN the identical request is replayed (by Twilio or anyone who captured it)
    for _ in range(3):
        assert ingest(message.event())["statusCode"] == 200
    # THEN it is stored once
    assert message_count() == 1


def test_a_rest_api_replay_of_an_http_api_request_is_rejected(ingest: Invoke, message_count: Callable[[], int]) -> None:
    # GIVEN a request signed for the HTTP API URL, replayed through a REST API stage (payload 1.0, /Prod/sms)
    message = Signed("sms", TEST_WEBHOOK_URL, inbound_form())
    event = rest_api_event("POST", rest_api_url(TEST_WEBHOOK_URL), message.headers(), message.body)
    # THEN it is rejected
    assert ingest(event)["statusCode"] == 403
    assert message_count() == 0


# ---------------------------------------------------------------- what error answers reveal
def test_error_answers_reveal_no_internals(ingest: Invoke, stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest import handler as ingest_handler

    message = Signed("sms", TEST_WEBHOOK_URL, inbound_form())
    broken_base64 = {**message.event(), "body": "%%%"}
    not_utf8 = message.event(body=b"Body=%FF")
    responses = [
        ingest(message.event(signature="forged")),  # 403
        ingest(http_api_event("GET", TEST_WEBHOOK_URL, {}, b"")),  # 405
        ingest(message.event() | {"headers": {**message.event()["headers"], "content-type": "text/plain"}}),  # 415
        ingest(message.event(body=b"x" * 40_000)),  # 413
        ingest(broken_base64),  # 400
        ingest(not_utf8),  # 400
        ingest(Signed("sms", TEST_WEBHOOK_URL, [p for p in inbound_form() if p[0] != "From"]).event()),  # 400
    ]
    # a DynamoDB failure (the table is gone): 503
    client = stack.session.client("dynamodb")
    client.delete_table(TableName=stack.physical["MessagesTable"]["Ref"])
    responses.append(ingest(message.event()))
    # no token configured: 500
    monkeypatch.setattr(ingest_handler, "settings", replace(ingest_handler.settings, secrets=SecretSource()))
    responses.append(ingest(message.event()))

    statuses = [response["statusCode"] for response in responses]
    assert statuses == [403, 405, 415, 413, 400, 400, 400, 503, 500]
    for response in responses:
        # THEN no answer carries the token, a trace, an ARN or an AWS error name; each is short plain text
        assert_reveals_nothing(response)
        assert len(response["body"]) < 200
    assert base64.b64encode(TEST_AUTH_TOKEN.encode()).decode() not in str(responses)


def test_another_port_on_the_same_host_is_twilios_own_tolerance(ingest: Invoke) -> None:
    # Twilio's signing is not consistent about ports, so its RequestValidator accepts the URL with or without
    # one, and so do we (documented in SECURITY.md): the replay reaches the same host only, and is stored once.
    message = Signed("sms", TEST_WEBHOOK_URL, inbound_form())
    assert ingest(message.event(url=TEST_WEBHOOK_URL.replace(".com/", ".com:8443/")))["statusCode"] == 200
    assert ingest(message.event())["statusCode"] == 200  # the genuine delivery: a repeat, not stored again
