"""The TwiML a messaging webhook answers, as Twilio reads it: each <Message> is a message Twilio sends.

https://www.twilio.com/docs/messaging/twiml/message: `to` and `from` default to the inbound message's sender and
the number it was sent to; `statusCallback` (a relative or absolute URL) receives the message's status callbacks.
The body is the verb's text, or its <Body> noun's. Anything else in the document (<Redirect>, `action`) is not
the stand-in's to act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin

from defusedxml import DefusedXmlException, ElementTree


@dataclass(frozen=True)
class Reply:
    body: str
    to: str  # "" for the inbound message's sender
    sender: str  # "" for the number the inbound message was sent to
    status_callback: str | None  # absolute


def replies(document: str, webhook_url: str) -> list[Reply]:
    """Each <Message> of a TwiML <Response>; [] for an empty answer or anything that is not TwiML."""
    try:
        root = ElementTree.fromstring(document)  # defusedxml: an answer from any webhook, entities refused
    except (ElementTree.ParseError, DefusedXmlException):
        return []
    if root.tag != "Response":
        return []
    found = []
    for verb in root.iter("Message"):
        body = verb.findtext("Body")
        callback = verb.get("statusCallback")
        found.append(
            Reply(
                body=body if body is not None else (verb.text or ""),
                to=verb.get("to", ""),
                sender=verb.get("from", ""),
                status_callback=urljoin(webhook_url, callback) if callback else None,
            )
        )
    return found
