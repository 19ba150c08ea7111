"""The stand-in's records as Twilio's JSON: every field of the resource schema in Twilio's description, with
Twilio's formats (RFC 2822 dates and relative `uri`s on 2010-04-01, ISO 8601 dates and absolute `url`s on
messaging.twilio.com/v1), null where we have nothing to say.
"""

from __future__ import annotations

import math
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from devtools.twilio_api.models import Account, ContentTemplate, Media, Message, PhoneNumber, Service

API_VERSION = "2010-04-01"
MESSAGING_BASE = "https://messaging.twilio.com"  # absolute URLs name Twilio's host, as Twilio's answers do
CONTENT_BASE = "https://content.twilio.com"
ERROR_MESSAGES = {
    30003: "Unreachable destination handset",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
    30008: "Unknown error",
    63016: "Failed to send freeform message because you are outside the allowed window.",
}


def rfc2822(moment: datetime | None) -> str | None:
    return format_datetime(moment) if moment is not None else None


def iso8601(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def account_path(account_sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}"


def message_path(message: Message) -> str:
    return f"{account_path(message.account_sid)}/Messages/{message.sid}"


def media_path(media: Media) -> str:
    """Without `.json`: the media's content; Twilio's webhooks carry it as MediaUrl<n> on api.twilio.com."""
    return f"{account_path(media.account_sid)}/Messages/{media.message_sid}/Media/{media.sid}"


def account_json(account: Account) -> dict[str, Any]:
    base = account_path(account.sid)
    subresources = [
        "available_phone_numbers",
        "calls",
        "conferences",
        "incoming_phone_numbers",
        "notifications",
        "outgoing_caller_ids",
        "recordings",
        "transcriptions",
        "addresses",
        "signing_keys",
        "connect_apps",
        "sip",
        "authorized_connect_apps",
        "usage",
        "keys",
        "applications",
        "short_codes",
        "queues",
        "messages",
        "balance",
    ]
    uris = {name: f"{base}/{name.title().replace('_', '')}.json" for name in subresources}
    uris.update({"sip": f"{base}/SIP.json", "usage": f"{base}/Usage.json", "messages": f"{base}/Messages.json"})
    return {
        "auth_token": account.auth_token,
        "date_created": rfc2822(account.date_created),
        "date_updated": rfc2822(account.date_updated),
        "friendly_name": account.friendly_name,
        "owner_account_sid": account.owner_account_sid,
        "sid": account.sid,
        "status": account.status,
        "subresource_uris": uris,
        "type": "Full",
        "uri": f"{base}.json",
    }


def num_segments(body: str) -> int:
    """GSM-7 text splits at 153 characters a segment (160 alone); anything else at 67 (70 alone)."""
    single, multi = (160, 153) if body.isascii() else (70, 67)
    return 1 if len(body) <= single else math.ceil(len(body) / multi)


def message_json(message: Message, num_media: int) -> dict[str, Any]:
    path = message_path(message)
    return {
        "account_sid": message.account_sid,
        "api_version": API_VERSION,
        "body": message.body,
        "date_created": rfc2822(message.date_created),
        "date_sent": rfc2822(message.date_sent),
        "date_updated": rfc2822(message.date_updated),
        "direction": message.direction,
        "error_code": message.error_code,
        "error_message": ERROR_MESSAGES.get(message.error_code) if message.error_code else None,
        "from": message.from_,
        "messaging_service_sid": message.messaging_service_sid,
        "num_media": str(num_media),
        "num_segments": str(num_segments(message.body)),
        "price": None,
        "price_unit": "USD",
        "sid": message.sid,
        "status": message.status,
        "subresource_uris": {"media": f"{path}/Media.json", "feedback": f"{path}/Feedback.json"},
        "to": message.to,
        "uri": f"{path}.json",
    }


def media_json(media: Media) -> dict[str, Any]:
    return {
        "account_sid": media.account_sid,
        "content_type": media.content_type,
        "date_created": rfc2822(media.date_created),
        "date_updated": rfc2822(media.date_created),
        "parent_sid": media.message_sid,
        "sid": media.sid,
        "uri": f"{media_path(media)}.json",
    }


def number_json(number: PhoneNumber) -> dict[str, Any]:
    return {
        "account_sid": number.account_sid,
        "address_requirements": "none",
        "address_sid": None,
        "api_version": API_VERSION,
        "beta": False,
        "bundle_sid": None,
        "capabilities": {"voice": True, "sms": True, "mms": True, "fax": False},
        "date_created": rfc2822(number.date_created),
        "date_updated": rfc2822(number.date_updated),
        "emergency_address_sid": None,
        "emergency_address_status": "unregistered",
        "emergency_status": "Inactive",
        "friendly_name": number.friendly_name,
        "identity_sid": None,
        "origin": "twilio",
        "phone_number": number.phone_number,
        "sid": number.sid,
        "sms_application_sid": None,
        "sms_fallback_method": number.sms_fallback_method,
        "sms_fallback_url": number.sms_fallback_url,
        "sms_method": number.sms_method,
        "sms_url": number.sms_url,
        "status": "in-use",
        "status_callback": number.status_callback,
        "status_callback_method": number.status_callback_method,
        "trunk_sid": None,
        "type": "local",
        "uri": f"{account_path(number.account_sid)}/IncomingPhoneNumbers/{number.sid}.json",
        "voice_application_sid": None,
        "voice_caller_id_lookup": False,
        "voice_fallback_method": "POST",
        "voice_fallback_url": None,
        "voice_method": number.voice_method,
        "voice_receive_mode": "voice",
        "voice_url": number.voice_url,
    }


def service_url(service_sid: str) -> str:
    return f"{MESSAGING_BASE}/v1/Services/{service_sid}"


def service_json(service: Service) -> dict[str, Any]:
    url = service_url(service.sid)
    links = {
        "phone_numbers": "PhoneNumbers",
        "short_codes": "ShortCodes",
        "alpha_senders": "AlphaSenders",
        "messages": "Messages",
        "broadcasts": "Broadcasts",
        "channel_senders": "ChannelSenders",
        "us_app_to_person": "Compliance/Usa2p",
        "us_app_to_person_usecases": "Compliance/Usa2p/Usecases",
        "destination_alpha_senders": "DestinationAlphaSenders",
    }
    return {
        "account_sid": service.account_sid,
        "area_code_geomatch": True,
        "date_created": iso8601(service.date_created),
        "date_updated": iso8601(service.date_updated),
        "fallback_method": service.fallback_method,
        "fallback_to_long_code": True,
        "fallback_url": service.fallback_url,
        "friendly_name": service.friendly_name,
        "inbound_method": service.inbound_method,
        "inbound_request_url": service.inbound_request_url,
        "links": {name: f"{url}/{path}" for name, path in links.items()},
        "mms_converter": True,
        "scan_message_content": "inherit",
        "sid": service.sid,
        "smart_encoding": True,
        "status_callback": service.status_callback,
        "sticky_sender": True,
        "synchronous_validation": False,
        "url": url,
        "us_app_to_person_registered": False,
        "use_inbound_webhook_on_number": service.use_inbound_webhook_on_number,
        "usecase": "undeclared",
        "validity_period": 36000,
    }


def service_number_json(service_sid: str, number: PhoneNumber) -> dict[str, Any]:
    return {
        "account_sid": number.account_sid,
        "capabilities": ["SMS", "MMS", "Voice"],
        "country_code": "US",
        "date_created": iso8601(number.date_created),
        "date_updated": iso8601(number.date_updated),
        "phone_number": number.phone_number,
        "service_sid": service_sid,
        "sid": number.sid,
        "url": f"{service_url(service_sid)}/PhoneNumbers/{number.sid}",
    }


def content_json(template: ContentTemplate) -> dict[str, Any]:
    url = f"{CONTENT_BASE}/v1/Content/{template.sid}"
    return {
        "account_sid": template.account_sid,
        "date_created": iso8601(template.date_created),
        "date_updated": iso8601(template.date_updated),
        "friendly_name": template.friendly_name,
        "language": template.language,
        "links": {"approval_create": f"{url}/ApprovalRequests/whatsapp", "approval_fetch": f"{url}/ApprovalRequests"},
        "sid": template.sid,
        "types": {"twilio/text": {"body": template.body}},
        "url": url,
        "variables": dict(template.variables),
    }
