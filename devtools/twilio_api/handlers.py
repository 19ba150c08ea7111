"""The Twilio operations the stand-in serves, one handler each, and the route table that names them by
Twilio's own path templates (see routing.py). The media content address is the one route Twilio's
description does not have: it is the media resource's `uri` without `.json`, documented in prose only.
"""

from __future__ import annotations

import re

from devtools.twilio_api import errors, resources
from devtools.twilio_api.listing import PAGING_PARAMS, date_window, page_request, select, v1_page, v2010_page
from devtools.twilio_api.models import Account, Media, Message, PhoneNumber, Service, utcnow
from devtools.twilio_api.routing import Call, Reply, Route
from devtools.twilio_api.sending import Owned, check_create, is_callback_url

V2010 = "/2010-04-01/Accounts/{AccountSid}"
METHODS = ("GET", "POST")


def _account(call: Call) -> Account:
    return call.engine.store.account_for(call.principal, call.path_params["AccountSid"])


def _message(call: Call, account: Account, sid: str) -> Message:
    message = call.engine.store.messages.get(sid)
    if message is None or message.account_sid != account.sid:
        raise errors.not_found(call.path)
    return message


def _filters(call: Call, *names: str) -> dict[str, str]:
    """The list filters the request gave, in Twilio's order (they are repeated in the page links)."""
    return {name: value for name in names if (value := call.get(name)) is not None}


def _media(call: Call) -> Media:
    account = _account(call)
    message = _message(call, account, call.path_params["MessageSid"])
    media = call.engine.store.media.get(call.path_params["Sid"])
    if media is None or media.message_sid != message.sid:
        raise errors.not_found(call.path)
    return media


# Accounts --------------------------------------------------------------------------------------------


def fetch_account(call: Call) -> Reply:
    account = call.engine.store.account_for(call.principal, call.path_params["Sid"], accounts_resource=True)
    return Reply(200, resources.account_json(account))


def list_accounts(call: Call) -> Reply:
    store = call.engine.store
    store.account_for(call.principal, call.principal.account.sid, accounts_resource=True)
    filters = _filters(call, "FriendlyName", "Status")
    name, status = filters.get("FriendlyName"), filters.get("Status")
    with store.lock:
        accounts = [
            account
            for account in store.accounts.values()
            if store.reachable(call.principal, account)
            and (name is None or account.friendly_name == name)
            and (status is None or account.status == status)
        ]
    page = select(accounts, page_request(call.get), lambda account: account.sid)
    records = [resources.account_json(account) for account in page.items]
    return Reply(200, v2010_page("accounts", "/2010-04-01/Accounts.json", list(filters.items()), page, records))


# Messages --------------------------------------------------------------------------------------------


def create_message(call: Call) -> Reply:
    account = _account(call)
    store = call.engine.store
    with store.lock:
        owned = Owned(
            numbers=[number for number in store.numbers.values() if number.account_sid == account.sid],
            services=store.services,
            senders=frozenset(address for address, owner in store.senders.items() if owner == account.sid),
            contents=store.contents,
        )
        draft = check_create(
            account,
            owned,
            to=call.get("To") or "",
            sender=call.get("From") or "",
            service_sid=call.get("MessagingServiceSid") or "",
            body=call.get("Body") or "",
            media_urls=call.get_all("MediaUrl"),
            status_callback=call.get("StatusCallback") or "",
            content_sid=call.get("ContentSid") or "",
            content_variables=call.get("ContentVariables") or "",
        )
        message = call.engine.create_message(account.sid, draft)
        body = resources.message_json(message, len(call.engine.media_of(message.sid)))
    return Reply(201, body)


def fetch_message(call: Call) -> Reply:
    account = _account(call)
    with call.engine.store.lock:
        message = _message(call, account, call.path_params["Sid"])
        return Reply(200, resources.message_json(message, len(call.engine.media_of(message.sid))))


def list_messages(call: Call) -> Reply:
    account = _account(call)
    store = call.engine.store
    filters = _filters(call, "To", "From")
    to, sender = filters.get("To"), filters.get("From")
    window, dates = date_window("DateSent", call.get)
    request = page_request(call.get)
    with store.lock:
        messages = [
            message
            for message in store.messages.values()
            if message.account_sid == account.sid
            and (to is None or message.to == to)
            and (sender is None or message.from_ == sender)
            and window.holds(message.date_sent)
        ]
        # Newest first, as Twilio lists them (by date sent; unsent ones by creation).
        messages.sort(key=lambda message: (message.date_sent or message.date_created, message.seq), reverse=True)
        page = select(messages, request, lambda message: message.sid)
        records = [resources.message_json(message, len(call.engine.media_of(message.sid))) for message in page.items]
    path = f"{resources.account_path(account.sid)}/Messages.json"
    return Reply(200, v2010_page("messages", path, [*filters.items(), *dates], page, records))


# Media -----------------------------------------------------------------------------------------------


def list_media(call: Call) -> Reply:
    account = _account(call)
    message = _message(call, account, call.path_params["MessageSid"])
    window, dates = date_window("DateCreated", call.get)
    items = [media for media in call.engine.media_of(message.sid) if window.holds(media.date_created)]
    page = select(items, page_request(call.get), lambda media: media.sid)
    path = f"{resources.message_path(message)}/Media.json"
    records = [resources.media_json(media) for media in page.items]
    return Reply(200, v2010_page("media_list", path, dates, page, records))


def fetch_media(call: Call) -> Reply:
    return Reply(200, resources.media_json(_media(call)))


def delete_media(call: Call) -> Reply:
    media = _media(call)
    with call.engine.store.lock:
        call.engine.store.media.pop(media.sid, None)
    return Reply(204)


def media_content(call: Call) -> Reply:
    """Basic auth here, then a redirect to the CDN listener, whose link works without credentials."""
    status, location = call.engine.media_redirect(_media(call), call.path)
    return Reply(status, None, {"Location": location})


# Incoming phone numbers ------------------------------------------------------------------------------


def _number(call: Call) -> PhoneNumber:
    account = _account(call)
    number = call.engine.store.numbers.get(call.path_params["Sid"])
    if number is None or number.account_sid != account.sid:
        raise errors.not_found(call.path)
    return number


def _number_pattern(raw: str) -> re.Pattern[str]:
    """Twilio matches part of a number, '*' standing for any one digit."""
    return re.compile(re.escape(raw).replace(r"\*", r"\d"))


def list_numbers(call: Call) -> Reply:
    account = _account(call)
    store = call.engine.store
    filters = _filters(call, "FriendlyName", "PhoneNumber")
    wanted, name = filters.get("PhoneNumber"), filters.get("FriendlyName")
    pattern = _number_pattern(wanted) if wanted else None
    with store.lock:
        numbers = [
            number
            for number in store.numbers.values()
            if number.account_sid == account.sid
            and (pattern is None or pattern.search(number.phone_number))
            and (name is None or number.friendly_name == name)
        ]
    page = select(numbers, page_request(call.get), lambda number: number.sid)
    path = f"{resources.account_path(account.sid)}/IncomingPhoneNumbers.json"
    records = [resources.number_json(number) for number in page.items]
    return Reply(200, v2010_page("incoming_phone_numbers", path, list(filters.items()), page, records))


def fetch_number(call: Call) -> Reply:
    return Reply(200, resources.number_json(_number(call)))


_NUMBER_URLS = {
    "SmsUrl": "sms_url",
    "SmsFallbackUrl": "sms_fallback_url",
    "StatusCallback": "status_callback",
    "VoiceUrl": "voice_url",
}
_NUMBER_METHODS = {
    "SmsMethod": "sms_method",
    "SmsFallbackMethod": "sms_fallback_method",
    "StatusCallbackMethod": "status_callback_method",
    "VoiceMethod": "voice_method",
}


def update_number(call: Call) -> Reply:
    number = _number(call)
    changes = _url_and_method_changes(call, _NUMBER_URLS, _NUMBER_METHODS)
    if call.has("FriendlyName"):
        changes["friendly_name"] = call.get("FriendlyName") or ""
    with call.engine.store.lock:
        for name, value in changes.items():
            setattr(number, name, value)
        number.date_updated = utcnow()
        return Reply(200, resources.number_json(number))


def _url_and_method_changes(call: Call, urls: dict[str, str], methods: dict[str, str]) -> dict[str, str | None]:
    """Validated changes: an empty URL clears it (as in Twilio); methods are GET or POST."""
    changes: dict[str, str | None] = {}
    for param, attribute in urls.items():
        if call.has(param):
            url = call.get(param) or ""
            if url and not is_callback_url(url):
                raise errors.invalid_parameter(f"{param} is not a valid URL: {url}", 21502)
            changes[attribute] = url or None
    for param, attribute in methods.items():
        if call.has(param):
            method = (call.get(param) or "").upper()
            if method not in METHODS:
                raise errors.invalid_parameter(f"{param} must be GET or POST")
            changes[attribute] = method
    return changes


# Messaging Services (messaging.twilio.com/v1) -------------------------------------------------------


def _service(call: Call, sid: str) -> Service:
    account = call.engine.store.acting_account(call.principal)
    service = call.engine.store.services.get(sid)
    if service is None or service.account_sid != account.sid:
        raise errors.not_found(call.path)
    return service


def list_services(call: Call) -> Reply:
    store = call.engine.store
    account = store.acting_account(call.principal)
    with store.lock:
        services = [service for service in store.services.values() if service.account_sid == account.sid]
    page = select(services, page_request(call.get), lambda service: service.sid)
    records = [resources.service_json(service) for service in page.items]
    return Reply(200, v1_page("services", f"{resources.MESSAGING_BASE}/v1/Services", page, records))


def fetch_service(call: Call) -> Reply:
    return Reply(200, resources.service_json(_service(call, call.path_params["Sid"])))


_SERVICE_URLS = {
    "InboundRequestUrl": "inbound_request_url",
    "FallbackUrl": "fallback_url",
    "StatusCallback": "status_callback",
}
_SERVICE_METHODS = {"InboundMethod": "inbound_method", "FallbackMethod": "fallback_method"}


def update_service(call: Call) -> Reply:
    service = _service(call, call.path_params["Sid"])
    changes: dict[str, str | bool | None] = dict(_url_and_method_changes(call, _SERVICE_URLS, _SERVICE_METHODS))
    if call.has("FriendlyName"):
        changes["friendly_name"] = call.get("FriendlyName") or ""
    if call.has("UseInboundWebhookOnNumber"):
        flag = (call.get("UseInboundWebhookOnNumber") or "").lower()
        if flag not in ("true", "false"):
            raise errors.invalid_parameter("UseInboundWebhookOnNumber must be true or false")
        changes["use_inbound_webhook_on_number"] = flag == "true"
    with call.engine.store.lock:
        for name, value in changes.items():
            setattr(service, name, value)
        service.date_updated = utcnow()
        return Reply(200, resources.service_json(service))


def _service_numbers(call: Call, service: Service) -> list[PhoneNumber]:
    with call.engine.store.lock:
        return [number for number in call.engine.store.numbers.values() if number.service_sid == service.sid]


def list_service_numbers(call: Call) -> Reply:
    service = _service(call, call.path_params["ServiceSid"])
    numbers = _service_numbers(call, service)
    page = select(numbers, page_request(call.get), lambda number: number.sid)
    records = [resources.service_number_json(service.sid, number) for number in page.items]
    url = f"{resources.service_url(service.sid)}/PhoneNumbers"
    return Reply(200, v1_page("phone_numbers", url, page, records))


def fetch_service_number(call: Call) -> Reply:
    service = _service(call, call.path_params["ServiceSid"])
    number = next((n for n in _service_numbers(call, service) if n.sid == call.path_params["Sid"]), None)
    if number is None:
        raise errors.not_found(call.path)
    return Reply(200, resources.service_number_json(service.sid, number))


# Content Templates (content.twilio.com/v1) -----------------------------------------------------------


def fetch_content(call: Call) -> Reply:
    account = call.engine.store.acting_account(call.principal)
    template = call.engine.store.contents.get(call.path_params["Sid"])
    if template is None or template.account_sid != account.sid:
        raise errors.not_found(call.path)
    return Reply(200, resources.content_json(template))


ROUTES: list[Route] = [
    Route(
        "GET",
        "/2010-04-01/Accounts.json",
        list_accounts,
        ("FriendlyName", "Status", *PAGING_PARAMS),
        accounts_resource=True,
    ),
    Route("GET", "/2010-04-01/Accounts/{Sid}.json", fetch_account, accounts_resource=True),
    Route(
        "GET",
        f"{V2010}/Messages.json",
        list_messages,
        ("To", "From", "DateSent", "DateSent<", "DateSent>", *PAGING_PARAMS),
    ),
    Route(
        "POST",
        f"{V2010}/Messages.json",
        create_message,
        ("To", "From", "MessagingServiceSid", "Body", "MediaUrl", "StatusCallback", "ContentSid", "ContentVariables"),
    ),
    Route("GET", f"{V2010}/Messages/{{Sid}}.json", fetch_message),
    Route(
        "GET",
        f"{V2010}/Messages/{{MessageSid}}/Media.json",
        list_media,
        ("DateCreated", "DateCreated<", "DateCreated>", *PAGING_PARAMS),
    ),
    Route("GET", f"{V2010}/Messages/{{MessageSid}}/Media/{{Sid}}.json", fetch_media),
    Route("DELETE", f"{V2010}/Messages/{{MessageSid}}/Media/{{Sid}}.json", delete_media),
    Route("GET", f"{V2010}/Messages/{{MessageSid}}/Media/{{Sid}}", media_content, spec=None),
    Route("GET", f"{V2010}/IncomingPhoneNumbers.json", list_numbers, ("PhoneNumber", "FriendlyName", *PAGING_PARAMS)),
    Route("GET", f"{V2010}/IncomingPhoneNumbers/{{Sid}}.json", fetch_number),
    Route(
        "POST",
        f"{V2010}/IncomingPhoneNumbers/{{Sid}}.json",
        update_number,
        ("FriendlyName", *_NUMBER_URLS, *_NUMBER_METHODS),
    ),
    Route("GET", "/v1/Services", list_services, PAGING_PARAMS, spec="messaging_v1"),
    Route("GET", "/v1/Services/{Sid}", fetch_service, spec="messaging_v1"),
    Route(
        "POST",
        "/v1/Services/{Sid}",
        update_service,
        ("FriendlyName", "UseInboundWebhookOnNumber", *_SERVICE_URLS, *_SERVICE_METHODS),
        spec="messaging_v1",
    ),
    Route("GET", "/v1/Services/{ServiceSid}/PhoneNumbers", list_service_numbers, PAGING_PARAMS, spec="messaging_v1"),
    Route("GET", "/v1/Services/{ServiceSid}/PhoneNumbers/{Sid}", fetch_service_number, spec="messaging_v1"),
    Route("GET", "/v1/Content/{Sid}", fetch_content, spec="content_v1"),
]
