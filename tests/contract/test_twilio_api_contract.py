"""The stand-in against Twilio's own OpenAPI description (@twilio/cli-core 9.0.0): every route an operation of
the description, every parameter it reads declared there, every answer (errors included) valid against the
declared schema field for field, paging as Twilio pages. The `twilio` fixture also checks every request and
answer of every test in this folder against the description and fails the test on any disagreement.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest
import requests

from devtools.twilio_api import MediaSpec, TwilioStandIn
from devtools.twilio_api.handlers import ROUTES, V2010
from devtools.twilio_api.models import Account, ContentTemplate, Media, Message, PhoneNumber, Service
from devtools.twilio_api.resources import message_json
from devtools.twilio_api.routing import Route
from devtools.twilio_api.spec import TwilioSpec

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])


def route_id(route: Route) -> str:
    return f"{route.method} {route.path}"


def test_every_route_is_an_operation_of_twilios_description(spec: TwilioSpec) -> None:
    missing = [route_id(r) for r in ROUTES if r.spec and spec.operation(r.spec, r.path, r.method) is None]
    assert missing == []


def test_the_one_route_twilio_does_not_describe_is_media_content(spec: TwilioSpec) -> None:
    # Twilio serves a media item's bytes at its `uri` without ".json"; the description only has the metadata.
    undescribed = [route_id(route) for route in ROUTES if route.spec is None]
    content = f"{V2010}/Messages/{{MessageSid}}/Media/{{Sid}}"
    assert undescribed == [f"GET {content}"]
    assert spec.operation("api_v2010", content, "GET") is None
    assert spec.operation("api_v2010", content + ".json", "GET") is not None


@pytest.mark.parametrize("route", [route for route in ROUTES if route.spec], ids=route_id)
def test_every_parameter_a_route_reads_is_declared_by_its_operation(spec: TwilioSpec, route: Route) -> None:
    assert route.spec is not None
    operation = spec.operation(route.spec, route.path, route.method) or {}
    path_params = {param["name"] for param in operation.get("parameters", []) if param["in"] == "path"}
    assert set(re.findall(r"\{(\w+)\}", route.path)) == path_params
    assert set(route.params) - spec.declared_params(route.spec, route.path, route.method) == set()


@dataclass(frozen=True)
class Seeded:
    account: Account
    number: PhoneNumber
    service: Service
    inbound: Message
    media: Media
    outbound: Message
    content: ContentTemplate


@pytest.fixture
def seeded(twilio: TwilioStandIn, account: Account, client: Any) -> Seeded:
    number = twilio.add_number(account.sid, "+15005550001", sms_url="https://example.com/sms")
    service = twilio.add_service(account.sid, friendly_name="Support", number_sids=[number.sid])
    inbound = twilio.add_inbound_message(
        account.sid, sender="+15005550006", to=number.phone_number, body="photo", media=[MediaSpec(), MediaSpec()]
    )
    outbound = client.messages.create(to="+15005550006", from_=number.phone_number, body="hello")
    content = twilio.add_content(account.sid, "Your appointment is on {{1}}.", variables={"1": "Monday"})
    media = twilio.media_of(inbound.sid)[0]
    return Seeded(account, number, service, inbound, media, twilio.message(outbound.sid), content)


# One request per route: (path, parameters, expected status). Parameters go in the query of a GET/DELETE
# and in the form of a POST.
Request = tuple[str, dict[str, str], int]
CASES: dict[str, Callable[[Seeded], Request]] = {
    "GET /2010-04-01/Accounts.json": lambda s: ("/2010-04-01/Accounts.json", {"Status": "active"}, 200),
    "GET /2010-04-01/Accounts/{Sid}.json": lambda s: (f"/2010-04-01/Accounts/{s.account.sid}.json", {}, 200),
    f"GET {V2010}/Messages.json": lambda s: (
        f"/2010-04-01/Accounts/{s.account.sid}/Messages.json",
        {"To": s.number.phone_number, "DateSent>": "2020-01-01", "PageSize": "1"},
        200,
    ),
    f"POST {V2010}/Messages.json": lambda s: (
        f"/2010-04-01/Accounts/{s.account.sid}/Messages.json",
        {
            "To": "+15005550006",
            "MessagingServiceSid": s.service.sid,
            "Body": "hi",
            "MediaUrl": "https://example.com/a.png",
        },
        201,
    ),
    f"GET {V2010}/Messages/{{Sid}}.json": lambda s: (
        f"/2010-04-01/Accounts/{s.account.sid}/Messages/{s.outbound.sid}.json",
        {},
        200,
    ),
    f"GET {V2010}/Messages/{{MessageSid}}/Media.json": lambda s: (
        f"/2010-04-01/Accounts/{s.account.sid}/Messages/{s.inbound.sid}/Media.json",
        {"PageSize": "1"},
        200,
    ),
    f"GET {V2010}/Messages/{{MessageSid}}/Media/{{Sid}}.json": lambda s: (
        f"/2010-04-01/Accounts/{s.account.sid}/Messages/{s.inbound.sid}/Media/{s.media.sid}.json",
        {},
        200,
    ),
    f"DELETE {V2010}/Messages/{{MessageSid}}/Media/{{Sid}}.json": lambda s: (
        f"/2010-04-01/Accounts/{s.account.sid}/Messages/{s.inbound.sid}/Media/{s.media.sid}.json",
        {},
        204,
    ),
    f"GET {V2010}/Messages/{{MessageSid}}/Media/{{Sid}}": lambda s: (
        f"/2010-04-01/Accounts/{s.account.sid}/Messages/{s.inbound.sid}/Media/{s.media.sid}",
        {},
        307,
    ),
    f"GET {V2010}/IncomingPhoneNumbers.json": lambda s: (
        f"/2010-04-01/Accounts/{s.account.sid}/IncomingPhoneNumbers.json",
        {"PhoneNumber": "+1500555*001"},
        200,
    ),
    f"GET {V2010}/IncomingPhoneNumbers/{{Sid}}.json": lambda s: (
        f"/2010-04-01/Accounts/{s.account.sid}/IncomingPhoneNumbers/{s.number.sid}.json",
        {},
        200,
    ),
    f"POST {V2010}/IncomingPhoneNumbers/{{Sid}}.json": lambda s: (
        f"/2010-04-01/Accounts/{s.account.sid}/IncomingPhoneNumbers/{s.number.sid}.json",
        {"SmsUrl": "https://example.com/sms2", "SmsMethod": "POST", "SmsFallbackUrl": ""},
        200,
    ),
    "GET /v1/Services": lambda s: ("/v1/Services", {"PageSize": "5"}, 200),
    "GET /v1/Services/{Sid}": lambda s: (f"/v1/Services/{s.service.sid}", {}, 200),
    "POST /v1/Services/{Sid}": lambda s: (
        f"/v1/Services/{s.service.sid}",
        {"InboundRequestUrl": "https://example.com/in", "InboundMethod": "POST", "UseInboundWebhookOnNumber": "true"},
        200,
    ),
    "GET /v1/Services/{ServiceSid}/PhoneNumbers": lambda s: (f"/v1/Services/{s.service.sid}/PhoneNumbers", {}, 200),
    "GET /v1/Services/{ServiceSid}/PhoneNumbers/{Sid}": lambda s: (
        f"/v1/Services/{s.service.sid}/PhoneNumbers/{s.number.sid}",
        {},
        200,
    ),
    "GET /v1/Content/{Sid}": lambda s: (f"/v1/Content/{s.content.sid}", {}, 200),
}


def test_every_route_has_a_contract_case() -> None:
    assert set(CASES) == {route_id(route) for route in ROUTES}


def call(twilio: TwilioStandIn, account: Account, method: str, path: str, params: dict[str, str]) -> requests.Response:
    query, form = (None, params) if method == "POST" else (params, None)
    return requests.request(
        method,
        twilio.base_url + path,
        params=query,
        data=form,
        auth=(account.sid, account.auth_token),
        allow_redirects=False,
        timeout=10,
    )


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_every_answer_matches_the_declared_schema(
    twilio: TwilioStandIn, spec: TwilioSpec, seeded: Seeded, route: Route
) -> None:
    path, params, status = CASES[route_id(route)](seeded)
    response = call(twilio, seeded.account, route.method, path, params)
    assert response.status_code == status, response.text
    if route.spec is None:  # media content: a redirect without a JSON body
        assert response.headers["Location"].startswith(twilio.cdn_url)
        return
    body = response.json() if response.content else None
    assert spec.check_response(route.spec, route.path, route.method, status, body) == []
    if body is not None:
        assert response.headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    ("method", "path", "auth", "status", "code"),
    [
        ("GET", "/2010-04-01/Accounts/{account}/Messages.json", "none", 401, 20003),
        ("GET", "/2010-04-01/Accounts/{account}/Messages.json", "wrong", 401, 20003),
        ("GET", "/2010-04-01/Accounts/{account}/Messages/SM00000000000000000000000000000000.json", "ok", 404, 20404),
        ("GET", "/2010-04-01/Accounts/{account}/Calls.json", "ok", 404, 20404),
        ("PUT", "/2010-04-01/Accounts/{account}/Messages.json", "ok", 405, 20004),
        ("GET", "/2010-04-01/Accounts/{account}/Messages.json?PageSize=1001", "ok", 400, 20001),
        ("POST", "/2010-04-01/Accounts/{account}/Messages.json", "ok", 400, 21604),
    ],
)
def test_error_answers_have_twilios_error_shape(
    twilio: TwilioStandIn,
    spec: TwilioSpec,
    account: Account,
    *,
    method: str,
    path: str,
    auth: str,
    status: int,
    code: int,
) -> None:
    credentials = {"none": None, "wrong": (account.sid, "not-the-token"), "ok": (account.sid, account.auth_token)}[auth]
    response = requests.request(
        method, twilio.base_url + path.format(account=account.sid), auth=credentials, timeout=10
    )
    body = response.json()
    assert (response.status_code, body["code"], body["status"]) == (status, code, status)
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert spec.check_response("api_v2010", "", "", status, body) == []


def test_the_schema_check_catches_answers_twilio_would_not_give(spec: TwilioSpec) -> None:
    # GIVEN a message as the stand-in answers it, which the description accepts
    message = Message(
        sid="SM" + "a" * 32, account_sid="AC" + "b" * 32, direction="inbound", from_="+15005550006", to="+15005550001",
        body="hi", status="received", seq=0,
    )  # fmt: skip
    path, method = f"{V2010}/Messages/{{Sid}}.json", "GET"
    good = message_json(message, 0)
    assert spec.check_response("api_v2010", path, method, 200, good) == []

    def problems(body: dict[str, Any]) -> list[str]:
        return spec.check_response("api_v2010", path, method, 200, body)

    # THEN each way of getting it wrong is caught
    assert problems({key: value for key, value in good.items() if key != "num_media"})  # a field missing
    assert problems({**good, "media_urls": []})  # a field Twilio does not have
    assert problems({**good, "status": "done"})  # not one of the statuses
    assert problems({**good, "date_created": "2026-01-15T09:30:00Z"})  # ISO 8601 where Twilio has RFC 2822
    assert problems({**good, "sid": "XX" + "a" * 32})  # not a message SID
    assert problems({**good, "num_media": 0})  # a number where Twilio sends a string
    assert problems(message_json(replace(message, error_code=30003), 0)) == []
    assert spec.check_response("api_v2010", path, method, 201, good)  # a status the operation does not declare


# Paging ------------------------------------------------------------------------------------------------------


def test_messages_page_as_twilio_pages(twilio: TwilioStandIn, account: Account, client: Any) -> None:
    # GIVEN five inbound messages
    twilio.add_number(account.sid, "+15005550001")
    sids = [
        twilio.add_inbound_message(account.sid, sender="+15005550006", to="+15005550001", body=str(i)).sid
        for i in range(5)
    ]
    path = f"/2010-04-01/Accounts/{account.sid}/Messages.json"
    # WHEN a client follows next_page_uri two at a time
    pages, uri = [], f"{path}?To=%2B15005550001&PageSize=2"
    while uri:
        page = requests.get(twilio.base_url + uri, auth=(account.sid, account.auth_token), timeout=10).json()
        pages.append(page)
        uri = page["next_page_uri"]
    # THEN pages carry Twilio's paging fields, newest first, every message once
    assert [[m["body"] for m in page["messages"]] for page in pages] == [["4", "3"], ["2", "1"], ["0"]]
    assert [(p["page"], p["page_size"], p["start"], p["end"]) for p in pages] == [
        (0, 2, 0, 1),
        (1, 2, 2, 3),
        (2, 2, 4, 4),
    ]
    first = pages[0]
    assert first["uri"] == f"{path}?To=%2B15005550001&PageSize=2&Page=0"
    assert first["first_page_uri"] == first["uri"]
    assert first["previous_page_uri"] is None
    assert first["next_page_uri"] == f"{path}?To=%2B15005550001&PageSize=2&Page=1&PageToken=PA{sids[3]}"
    assert pages[1]["previous_page_uri"] == f"{path}?To=%2B15005550001&PageSize=2&Page=0&PageToken=PB{sids[2]}"
    previous = requests.get(
        twilio.base_url + pages[1]["previous_page_uri"], auth=(account.sid, account.auth_token), timeout=10
    ).json()
    assert [m["sid"] for m in previous["messages"]] == [sids[4], sids[3]]
    # AND the SDK, following the same links through its own paging, sees them all
    assert [m.body for m in client.messages.list(to="+15005550001", page_size=2)] == ["4", "3", "2", "1", "0"]
    assert len(client.messages.list(limit=3, page_size=2)) == 3


def test_messaging_services_page_with_absolute_twilio_urls(
    twilio: TwilioStandIn, account: Account, client: Any
) -> None:
    services = [twilio.add_service(account.sid, friendly_name=f"s{i}") for i in range(3)]
    page = requests.get(
        twilio.base_url + "/v1/Services?PageSize=2", auth=(account.sid, account.auth_token), timeout=10
    ).json()
    assert page["meta"]["key"] == "services"
    assert page["meta"]["url"] == "https://messaging.twilio.com/v1/Services?PageSize=2&Page=0"
    assert (
        page["meta"]["next_page_url"]
        == f"https://messaging.twilio.com/v1/Services?PageSize=2&Page=1&PageToken=PA{services[1].sid}"
    )
    # The SDK follows the absolute next_page_url; the redirecting client keeps it on the stand-in.
    assert [service.friendly_name for service in client.messaging.v1.services.list(page_size=2)] == ["s0", "s1", "s2"]


def test_a_page_token_that_names_nothing_is_refused(twilio: TwilioStandIn, account: Account) -> None:
    response = requests.get(
        f"{twilio.base_url}/2010-04-01/Accounts/{account.sid}/Messages.json?PageToken=PASM{'0' * 32}",
        auth=(account.sid, account.auth_token),
        timeout=10,
    )
    assert (response.status_code, response.json()["code"]) == (400, 20001)
