"""Property tests: whatever reaches the webhook, the answer follows the documented status rules.

An independent oracle (docs/reference/webhook-answers.md) predicts the allowed answers of each generated
request from what the request is, not from how the handler is written. Where a request breaks several rules
at once, any of their answers is allowed. Invariants on every request: the handler never raises, the status
is one the rules allow, 200 only with a valid signature, and nothing is written to any table unless the
signature is valid and the message usable.

Function-scoped fixtures live across hypothesis examples, so each signed message gets a fresh MessageSid and
storage is checked by counting every table's items before and after.
"""

from __future__ import annotations

import base64
import binascii
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import get_signature_algorithm

from devtools.apigw import http_api_event, rest_api_event, rest_api_url
from devtools.lambda_runtime import Invoke
from devtools.template import Stack
from tests.unit.helpers import INTERNALS, form_of
from twilio_inbound.message import FORM_MEDIA_TYPE, SINGLE_VALUED
from twilio_inbound_cli.signing import (
    FORM_CONTENT_TYPE,
    TEST_AUTH_TOKEN,
    TEST_WEBHOOK_URL,
    FormPairs,
    encode_form,
    inbound_form,
    new_message_sid,
)
from twilio_inbound_cli.signing import signature as twilio_signature

MAX_BODY_BYTES = 32 * 1024  # docs/reference/webhook-answers.md: MAX_BODY_BYTES
REST_URL = rest_api_url(TEST_WEBHOOK_URL)
CANONICAL_HOST = urlsplit(TEST_WEBHOOK_URL).netloc
SID = "\x00sid\x00"  # placeholder in generated forms, replaced by a fresh MessageSid per example
REJECTIONS = {400, 403, 405, 413, 415}

PROPERTY_SETTINGS = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


# ---------------------------------------------------------------- the requests
@dataclass(frozen=True)
class Request:
    """One HTTP request to the webhook, and how API Gateway hands it over."""

    body: bytes | FormPairs  # raw bytes, or a form (encoded after SID is replaced)
    method: str = "POST"
    content_type: str | None = FORM_CONTENT_TYPE
    transport: str = "base64"  # base64 | text | broken-base64 (API Gateway's isBase64Encoded and body)
    breakage: int = 0  # which corruption broken-base64 applies
    signing: str = "valid"  # valid | missing | blank | wrong-token | other-url | garbage | padded
    garbage: str = ""
    settings_header: str | None = None
    odd_headers: dict[str, str] = field(default_factory=dict)
    header_case: str = "lower"  # names as sent: lower | title | upper
    version: str = "2.0"
    query: str = ""
    host: str | None = None  # a Host header other than the URL's (the signature then cannot be valid)


CONTROLLED_HEADERS = {"content-type", "x-twilio-signature", "x-twilio-webhooks-signature-settings", "host"}
CONTROLLED_HEADERS |= {"x-forwarded-proto", "x-forwarded-port"}


def recased(name: str) -> set[str]:
    """What a header name becomes once sent in any case and lower-cased again (a long s upper-cases to S)."""
    return {name.lower(), name.upper().lower(), name.title().lower()}


def url_of(request: Request) -> str:
    base = TEST_WEBHOOK_URL if request.version == "2.0" else REST_URL
    return base + (f"?{request.query}" if request.query else "")


def materialize(request: Request) -> tuple[bytes, str]:
    """The body bytes, with a fresh MessageSid wherever the form asked for one; and that MessageSid."""
    if isinstance(request.body, bytes):
        return request.body, ""
    sid = new_message_sid()
    return encode_form([(name, value.replace(SID, sid)) for name, value in request.body]), sid


def _break_base64(text: str, breakage: int) -> str:
    position = breakage % (len(text) + 1)
    if breakage % 4 == 0:
        return text[:position] + "%" + text[position:]  # a character outside the alphabet
    if breakage % 4 == 1:
        return text[:position] + " " + text[position:]  # whitespace inside
    if breakage % 4 == 2:
        return text + "A"  # one character too many
    return text.rstrip("=") + "!"  # padding replaced by junk


def _signature_header(request: Request, body: bytes) -> str | None:
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        pairs = []
    algorithm = get_signature_algorithm(request.settings_header)
    if algorithm.upper() not in ("HMAC_SHA1", "HMAC_SHA256"):
        algorithm = "HMAC_SHA1"  # a real signature still, under an algorithm the header does not name
    url = url_of(request)
    signers: dict[str, Callable[[], str | None]] = {
        "valid": lambda: twilio_signature(url, pairs, algorithm=algorithm),
        "padded": lambda: (
            f"  {twilio_signature(url, pairs, algorithm=algorithm)} "
        ),  # HTTP strips surrounding whitespace
        "wrong-token": lambda: twilio_signature(url, pairs, "not-" + TEST_AUTH_TOKEN, algorithm),
        "other-url": lambda: twilio_signature(url.replace("/sms", "/sms2"), pairs, algorithm=algorithm),
        "blank": lambda: "",
        "garbage": lambda: request.garbage,
        "missing": lambda: None,
    }
    return signers[request.signing]()


def event_for(request: Request, body: bytes) -> dict[str, Any]:
    headers: dict[str, str] = dict(request.odd_headers)
    if request.content_type is not None:
        headers["content-type"] = request.content_type
    signature = _signature_header(request, body)
    if signature is not None:
        headers["x-twilio-signature"] = signature
    if request.settings_header is not None:
        headers["x-twilio-webhooks-signature-settings"] = request.settings_header
    build = http_api_event if request.version == "2.0" else rest_api_event
    event = build(request.method, url_of(request), headers, b"")
    # the method exactly as the client spelled it (the builders upper-case it, as API Gateway would for a known one)
    if request.version == "2.0":
        event["requestContext"]["http"]["method"] = request.method
    else:
        event["httpMethod"] = request.method
    if request.host is not None:
        event["headers"] = {name: value for name, value in event["headers"].items() if name.lower() != "host"}
        event["headers"]["host"] = request.host
    if request.transport == "text":
        # API Gateway passes a text body as a str; bytes that are not UTF-8 would arrive replaced.
        event["body"], event["isBase64Encoded"] = body.decode("utf-8", errors="replace"), False
    else:
        encoded = base64.b64encode(body).decode("ascii")
        if request.transport == "broken-base64":
            encoded = _break_base64(encoded, request.breakage)
        event["body"], event["isBase64Encoded"] = encoded, True
    recase = {"lower": str.lower, "title": str.title, "upper": str.upper}[request.header_case]
    event["headers"] = {recase(name): value for name, value in event["headers"].items()}
    return event


# ---------------------------------------------------- the oracle: docs/reference/webhook-answers.md
@dataclass(frozen=True)
class Expected:
    statuses: frozenset[int]
    form: FormPairs | None  # the parameters, when the body is a readable form


def _header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def _method(event: dict[str, Any]) -> str:
    return str(event["requestContext"]["http"]["method"] if event.get("version") == "2.0" else event["httpMethod"])


def _body_bytes(event: dict[str, Any]) -> bytes | None:
    """The body the caller sent; None when API Gateway's base64 is not valid base64."""
    if not event["isBase64Encoded"]:
        return str(event["body"]).encode("utf-8")
    try:
        return base64.b64decode(event["body"], validate=True)
    except (binascii.Error, ValueError):
        return None


def _validly_signed(request: Request, event: dict[str, Any], form: FormPairs) -> bool:
    signature = (_header(event, "x-twilio-signature") or "").strip()
    # The webhook under test verifies auth token signatures (the default signing mode): a request that says it
    # was signed with a shared key (any name=value in the settings header) is refused, whatever it carries.
    settings = _header(event, "x-twilio-webhooks-signature-settings") or ""
    if not signature or any("=" in part for part in settings.split(",")):
        return False
    return signature == twilio_signature(url_of(request), form)


def _first(form: FormPairs, name: str) -> str:
    return next((value for key, value in form if key == name), "")


CANONICAL_SID = re.compile(r"[A-Z]{2}[0-9a-f]{32}")
CANONICAL_ADDRESS = re.compile(r"(whatsapp:)?\+[0-9]{6,15}")


def _message_verdict(form: FormPairs) -> frozenset[int]:
    """200 for a usable message, 400 for a malformed one, either where the answer table leaves it open
    ("MessageSid, From or To missing or malformed": an odd address or SID may be judged either way)."""
    if any(key in ("SmsStatus", "MessageStatus") and value != "received" for key, value in form):
        return frozenset({400})  # a status callback posted to the inbound route
    required = {name: _first(form, name) for name in ("MessageSid", "From", "To")}
    if not all(value.strip() for value in required.values()):
        return frozenset({400})
    if any(sum(key == name for key, _ in form) > 1 for name in SINGLE_VALUED):
        return frozenset({400})
    counts = [_first(form, name).strip() for name in ("NumMedia", "NumSegments")]
    if any(not char.isdigit() for count in counts for char in count):
        return frozenset({400})  # a count with a non-digit in it is not a number
    usual = (
        CANONICAL_SID.fullmatch(required["MessageSid"])
        and all(CANONICAL_ADDRESS.fullmatch(required[name]) for name in ("From", "To"))
        and all(count.isascii() and len(count) <= 3 for count in counts)
        and all(name for name, _ in form)
    )
    return frozenset({200}) if usual else frozenset({200, 400})


def _body_answers(event: dict[str, Any]) -> tuple[set[int], FormPairs | None]:
    """What the body alone calls for, and the form it holds (None when it is not a readable form)."""
    body = _body_bytes(event)
    if body is None:
        return {400}, None
    statuses = {413} if len(body) > MAX_BODY_BYTES else set()
    form = form_of(body)
    if form is None:
        statuses.add(400)
    return statuses, form


def expected_answers(request: Request, event: dict[str, Any]) -> Expected:
    shape: set[int] = set()
    lenient: set[int] = set()
    method = _method(event)
    if not (method.isascii() and method.upper() == "POST"):
        shape.add(405)
    elif method != "POST":
        lenient.add(405)  # methods are case-sensitive (RFC 9110): "post" may be taken as POST or refused
    media_type = (_header(event, "content-type") or "").split(";")[0].strip().lower()
    if media_type != FORM_MEDIA_TYPE:
        shape.add(415)
    body_statuses, form = _body_answers(event)
    shape |= body_statuses
    if shape:
        return Expected(frozenset(shape), form)
    assert form is not None
    if request.host is not None:
        return Expected(frozenset({400, 403}) | lenient, form)  # signed for another host, or no usable host
    if not _validly_signed(request, event, form):
        return Expected(frozenset({403}) | lenient, form)  # an unsigned caller learns nothing about the fields
    return Expected(_message_verdict(form) | lenient, form)


# ---------------------------------------------------------------- what is stored
def verbatim(form: FormPairs) -> dict[str, Any]:
    grouped: dict[str, list[str]] = {}
    for name, value in form:
        grouped.setdefault(name, []).append(value)
    return {name: values[0] if len(values) == 1 else values for name, values in grouped.items()}


@dataclass
class Tables:
    stack: Stack

    def __post_init__(self) -> None:
        self.client = self.stack.session.client("dynamodb")
        self.messages = self.stack.physical["MessagesTable"]["Ref"]
        self.names = self.client.list_tables()["TableNames"]

    def counts(self) -> dict[str, int]:
        """Items in every table the stack has: the messages, and anything else ingest might write.

        moto keeps ItemCount live (AWS refreshes it every few hours), and reading it does not slow down as
        the examples fill the table, as a Scan would.
        """
        return {name: int(self.client.describe_table(TableName=name)["Table"]["ItemCount"]) for name in self.names}

    def message(self, sid: str) -> dict[str, Any] | None:
        from twilio_inbound.message_item import item_values

        item = self.client.get_item(TableName=self.messages, Key={"messageSid": {"S": sid}}, ConsistentRead=True)
        return item_values(item["Item"]) if "Item" in item else None


@pytest.fixture
def tables(stack: Stack) -> Tables:
    return Tables(stack)


@dataclass
class Outcome:
    response: dict[str, Any]
    expected: Expected
    sid: str


def send(ingest: Invoke, tables: Tables, request: Request) -> Outcome:
    """Sends one request and checks every invariant; returns what happened for further checks."""
    body, fresh_sid = materialize(request)
    event = event_for(request, body)
    expected = expected_answers(request, event)
    sid = _first(expected.form, "MessageSid") if expected.form else ""
    # A generated MessageSid is new; any other one (drawn text) may have been stored by an earlier example.
    known_before = sid != fresh_sid and 0 < len(sid.encode()) <= 2048 and tables.message(sid) is not None
    before = tables.counts()

    response = ingest(event)  # THEN it never raises

    status = response["statusCode"]
    assert status in expected.statuses, (status, response.get("body"), expected.statuses)
    headers = {name.lower(): value for name, value in (response.get("headers") or {}).items()}
    after = tables.counts()
    if status == 200:
        assert headers["content-type"].startswith("text/xml")
        assert "<Response" in response["body"]
        stored = tables.message(sid)
        assert stored is not None, "answered 200 but not stored"
        if not known_before:
            assert after[tables.messages] == before[tables.messages] + 1
            assert expected.form is not None
            assert stored["parameters"] == verbatim(expected.form)
    else:
        assert after == before, "a rejected request wrote something"
        assert not any(word in response["body"] for word in INTERNALS), response["body"]
        if status == 405:
            assert headers["allow"] == "POST"
    return Outcome(response, expected, sid)


# ---------------------------------------------------------------- strategies
# Each request starts as a valid signed message and gets up to three things made odd, so that every rule
# is exercised on its own and together with others (a fully random request is almost never validly signed).
TWILIO_NAMES = ["Body", "From", "To", "MessageSid", "NumMedia", "NumSegments", "MediaUrl0", "OptOutType", "Tag"]
METHOD_CHARS = string.ascii_letters + "!#$%&'*+-.^_`|~" + string.digits  # RFC 9110 token characters
ANY_TEXT = st.text(max_size=40)
FORMISH_TEXT = st.text(alphabet=st.sampled_from("=&%+;?#/ aZ09é😀\u00a0\t\r\n"), max_size=60)
COUNTS = st.sampled_from(["0", "1", "2", "", " 3 ", "x", "-1", "1.5", "0x1", "²", "١٢", "9" * 40]) | ANY_TEXT


@st.composite
def forms(draw: st.DrawFn) -> FormPairs:
    """Twilio-like forms, with fields dropped, blanked or odd, repeated keys and blank values."""
    odd = draw(st.sets(st.sampled_from(["from", "to", "counts", "dropped", "extras", "body"]), max_size=2))
    sender = (
        draw(st.sampled_from(["+15005550006", "whatsapp:+14155550199", " ", ""]) | ANY_TEXT)
        if "from" in odd
        else "+15005550006"
    )
    to = (
        draw(st.sampled_from(["+15005550001", "whatsapp:+15005550001", ""]) | ANY_TEXT)
        if "to" in odd
        else "+15005550001"
    )
    body = draw(ANY_TEXT | st.sampled_from(["STOP", "start", "HELP"])) if "body" in odd else "hi"
    pairs = inbound_form(body=body, sender=sender, to=to, message_sid=SID)
    if "counts" in odd:
        replacements = {"NumMedia": draw(COUNTS), "NumSegments": draw(COUNTS)}
        pairs = [(name, replacements.get(name, value)) for name, value in pairs]
    if "dropped" in odd:
        dropped = draw(st.sets(st.sampled_from(["MessageSid", "From", "To", "NumMedia", "Body"]), min_size=1))
        pairs = [(name, value) for name, value in pairs if name not in dropped]
    if "extras" in odd:
        names = st.sampled_from(TWILIO_NAMES) | ANY_TEXT  # blank names too
        pairs += draw(st.lists(st.tuples(names, ANY_TEXT), min_size=1, max_size=5))
    return pairs


def padded_form(size: int, sid: str = SID) -> FormPairs:
    """An inbound form whose encoding is exactly `size` bytes once `sid` is a real MessageSid."""
    pairs = inbound_form(body="", message_sid=sid)
    real = [(name, value.replace(SID, new_message_sid())) for name, value in pairs]
    padding = size - len(encode_form(real))
    assert padding >= 0
    return [(name, "x" * padding if name == "Body" else value) for name, value in pairs]


ODD_BODIES = st.one_of(
    st.binary(max_size=300),
    FORMISH_TEXT.map(lambda text: text.encode("utf-8")),
    st.lists(st.tuples(ANY_TEXT, ANY_TEXT), max_size=6).map(lambda pairs: urlencode(pairs).encode()),
    # sizes around and over the cap: a form whose Body pads it to the size drawn
    st.integers(min_value=MAX_BODY_BYTES - 3, max_value=MAX_BODY_BYTES + 3).map(padded_form),
    st.sampled_from([64 * 1024, 256 * 1024]).map(lambda size: b"Body=" + b"x" * size),
)
ODD: dict[str, st.SearchStrategy[Any]] = {
    "body": ODD_BODIES,
    "method": st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "post", "POST "])
    | st.text(alphabet=METHOD_CHARS, min_size=1, max_size=12),
    "content_type": st.sampled_from(
        [
            FORM_MEDIA_TYPE,
            "APPLICATION/X-WWW-FORM-URLENCODED ; charset=ISO-8859-1",
            f"{FORM_MEDIA_TYPE}x",
            "application/json",
            "multipart/form-data; boundary=x",
            "text/plain",
            "",
            None,
        ]
    )
    | ANY_TEXT,
    "transport": st.sampled_from(["text", "broken-base64"]),
    "signing": st.sampled_from(["missing", "blank", "wrong-token", "other-url", "garbage", "padded"]),
    "settings_header": st.sampled_from(["key=k,algorithm=HMAC_SHA1", "key=k,algorithm=HMAC_SHA256", "algorithm=MD5"])
    | ANY_TEXT,
    "odd_headers": st.dictionaries(
        ANY_TEXT.filter(lambda name: name.strip() != "" and not recased(name) & CONTROLLED_HEADERS),
        ANY_TEXT,
        min_size=1,
        max_size=4,
    ),
    "header_case": st.sampled_from(["title", "upper"]),
    "version": st.just("1.0"),
    "query": st.sampled_from(["tenant=acme&x=%20y&flag", "a=1&a=2&b="]),
    # Host headers a client can send: another host, a port that is not a number, brackets, nothing
    "host": st.sampled_from(["x:abc", "[", "a]b", "[::1", "h:99999999", "ABC123DEFG.execute-api.example", ""])
    | ANY_TEXT.filter(lambda host: host not in (CANONICAL_HOST, CANONICAL_HOST + ":443")),
}


@st.composite
def requests(draw: st.DrawFn) -> Request:
    odd = draw(st.sets(st.sampled_from(sorted(ODD)), max_size=3))
    changes: dict[str, Any] = {name: draw(ODD[name]) for name in sorted(odd)}
    if "body" not in changes:
        changes["body"] = draw(forms())
    if "transport" in changes:
        changes["breakage"] = draw(st.integers(min_value=0, max_value=10_000))
    if changes.get("signing") == "garbage":
        changes["garbage"] = draw(st.text(max_size=40))
    if changes.get("version") == "1.0":
        changes.pop("query", None)  # payload 1.0 can only re-encode a query (docs/reference/webhook-answers.md)
    return Request(**changes)


# ---------------------------------------------------------------- the properties
@PROPERTY_SETTINGS
@given(request=requests())
def test_any_request_is_answered_by_the_documented_rules(ingest: Invoke, tables: Tables, request: Request) -> None:
    # GIVEN any request (method, content type, headers, body, encoding, signature) WHEN the webhook answers
    # THEN the status is one the answer table allows, 200 only when validly signed, nothing stored otherwise
    send(ingest, tables, request)


@settings(PROPERTY_SETTINGS, max_examples=100)
@given(
    extras=st.lists(
        # Keys Twilio may repeat or that it does not send: a repeated MessageSid, From, Body, ... is a 400
        # (test_security_review.py), as the signature cannot tell which value Twilio sent.
        st.tuples(st.sampled_from(["Tag", "MediaUrl0", "ProfileName", "Ünïcode", "a b", "x&y=z"]), ANY_TEXT),
        min_size=1,
        max_size=8,
    ),
    transport=st.sampled_from(["base64", "text"]),
)
def test_repeated_keys_and_blank_values_signed_correctly_are_kept(
    ingest: Invoke, tables: Tables, extras: FormPairs, transport: str
) -> None:
    # GIVEN a correctly signed form whose extra keys repeat (also over standard ones) and whose values may be blank
    request = Request(body=inbound_form(message_sid=SID) + extras, transport=transport)
    # WHEN it is posted
    outcome = send(ingest, tables, request)
    # THEN it is accepted and stored, every value of every repeated key kept in order
    assert outcome.response["statusCode"] == 200
    stored = tables.message(outcome.sid)
    assert stored is not None
    for name, _ in extras:
        values = [value for key, value in outcome.expected.form or [] if key == name]
        assert stored["parameters"][name] == (values[0] if len(values) == 1 else values)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(min_value=MAX_BODY_BYTES - 16, max_value=MAX_BODY_BYTES + 16), signed=st.booleans())
def test_body_size_cap_is_exact(ingest: Invoke, tables: Tables, size: int, signed: bool) -> None:
    # GIVEN a form of exactly `size` bytes, signed or not
    request = Request(body=padded_form(size), signing="valid" if signed else "missing")
    # WHEN it is posted
    status = send(ingest, tables, request).response["statusCode"]
    # THEN up to the cap it is judged on its signature; over it, 413 before the signature is even looked at
    if size > MAX_BODY_BYTES:
        assert status == 413
    else:
        assert status == (200 if signed else 403)


# ---------------------------------------------------------------- examples the properties found (kept as such)
def _signed_with(ingest: Invoke, tables: Tables, pairs: FormPairs, transport: str = "base64") -> Outcome:
    return send(ingest, tables, Request(body=pairs, transport=transport))


@pytest.mark.parametrize("count", ["²", "١٢", "9" * 40, "9" * 5000])
@pytest.mark.parametrize("name", ["NumMedia", "NumSegments"])
def test_unusual_counts_are_answered_not_raised(ingest: Invoke, tables: Tables, name: str, count: str) -> None:
    # GIVEN a signed message whose count is a non-ASCII digit or too long for a number DynamoDB stores
    pairs = [(key, count if key == name else value) for key, value in inbound_form(message_sid=SID)]
    # WHEN it is posted THEN it is answered (400, or 200 and stored intact), never an unhandled error
    outcome = _signed_with(ingest, tables, pairs)
    assert outcome.response["statusCode"] in {200, 400}


@pytest.mark.parametrize("field", ["MessageSid", "From", "To"])
def test_oversized_addresses_and_sids_are_a_client_error_not_a_retry(
    ingest: Invoke, tables: Tables, field: str
) -> None:
    # GIVEN a signed message whose SID or address exceeds what DynamoDB accepts in a key (2 KiB)
    pairs = [(key, value + "5" * 3000 if key == field else value) for key, value in inbound_form(message_sid=SID)]
    # WHEN it is posted THEN the answer is 400 or 200, never 503: Twilio would retry a 503 for nothing
    assert _signed_with(ingest, tables, pairs).response["statusCode"] in {200, 400}


def test_opt_out_from_an_oversized_sender_is_a_client_error(ingest: Invoke, tables: Tables) -> None:
    # GIVEN a signed STOP whose sender is longer than a DynamoDB sort key may be (1 KiB)
    pairs = inbound_form(body="STOP", sender="+1" + "5" * 1500, message_sid=SID, extra=[("OptOutType", "STOP")])
    # THEN it is answered 400 or stored, never 503
    assert _signed_with(ingest, tables, pairs).response["statusCode"] in {200, 400}


@pytest.mark.parametrize("body", ["hello", "STOP"])
def test_addresses_long_in_bytes_are_a_client_error_not_a_retry(ingest: Invoke, tables: Tables, body: str) -> None:
    # GIVEN a signed message whose addresses are 256 characters of 4 bytes each: within a character cap, but
    # over DynamoDB's key limits (2 KiB for the to|from conversation key, 1 KiB for the opt-out sort key)
    pairs = inbound_form(body=body, sender="😀" * 256, to="😀" * 256, message_sid=SID)
    # THEN it is answered 400 or stored, never 503
    assert _signed_with(ingest, tables, pairs).response["statusCode"] in {200, 400}


def test_a_blank_parameter_name_is_answered_and_never_stored_broken(ingest: Invoke, tables: Tables) -> None:
    # GIVEN a signed form with a parameter whose name is empty ("=value"): DynamoDB refuses empty map keys
    pairs = inbound_form(message_sid=SID, extra=[("", "nameless")])
    # WHEN it is posted THEN 400, or 200 with a stored item that reads back (send checks both)
    assert _signed_with(ingest, tables, pairs).response["statusCode"] in {200, 400}


def test_a_text_body_that_is_not_unicode_is_a_400(ingest: Invoke, tables: Tables) -> None:
    # GIVEN a payload 1.0 text body holding a lone surrogate (JSON can carry "\udcff")
    event = event_for(Request(body=b""), b"")
    event["body"], event["isBase64Encoded"] = "Body=\udcff", False
    before = tables.counts()
    # WHEN it reaches the function THEN it is a bad body, not an unhandled error
    assert ingest(event)["statusCode"] == 400
    assert tables.counts() == before


@pytest.mark.parametrize("method", ["poſt", "PO\u0405T", "POST\x00"])
def test_only_the_ascii_method_post_is_post(ingest: Invoke, tables: Tables, method: str) -> None:
    # GIVEN a validly signed message sent with a method that merely looks like POST ("ſ".upper() == "S")
    outcome = send(ingest, tables, Request(body=inbound_form(message_sid=SID), method=method))
    # THEN it is a 405
    assert outcome.response["statusCode"] == 405


@pytest.mark.parametrize("host", ["abc:notaport", "abc[", "[::1", "abc]:443"])
def test_a_host_header_that_is_not_a_host_is_rejected_not_raised(ingest: Invoke, tables: Tables, host: str) -> None:
    # GIVEN a signed message sent with a Host header no URL can have (a client chooses its Host header)
    request = Request(body=inbound_form(message_sid=SID), host=host)
    # WHEN it reaches the function THEN it is rejected (the signature cannot cover it), never an error
    assert send(ingest, tables, request).response["statusCode"] in {400, 403}


def test_odd_event_shapes_are_answered(ingest: Invoke, tables: Tables) -> None:
    # GIVEN events with parts missing or null, as a misconfigured integration might send
    request = Request(body=inbound_form(message_sid=SID))
    base = event_for(request, materialize(request)[0])
    variants: list[Callable[[dict[str, Any]], None]] = [
        lambda event: event.update(headers=None),
        lambda event: event.update(body=None),
        lambda event: event.pop("body"),
        lambda event: event.pop("isBase64Encoded"),
        lambda event: event.update(rawPath=""),
        lambda event: event["requestContext"].pop("http"),
    ]
    before = tables.counts()
    for change in variants:
        event = {**base, "requestContext": dict(base["requestContext"]), "headers": dict(base["headers"])}
        change(event)
        # WHEN each reaches the function THEN it is rejected without raising, and nothing is stored
        assert ingest(event)["statusCode"] in REJECTIONS
    assert tables.counts() == before
