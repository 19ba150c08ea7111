"""A stand-in for Twilio's REST API (developer-only: tests and `make local`), held to Twilio's own OpenAPI
description: accounts and API keys, Messages (create, fetch, list, status callbacks), Media (metadata, content
behind Basic auth and a CDN redirect), IncomingPhoneNumbers and Messaging Services, fault injection.

`TwilioStandIn` runs it in-process; `python -m devtools.twilio_api` runs it on its own; `sdk.twilio_client`
points the official SDK at it. See docs/reference/twilio-stand-in.md.
"""

from devtools.twilio_api.models import MediaSpec
from devtools.twilio_api.sending import FAILED_TO, MAGIC_FROM, UNDELIVERED_TO
from devtools.twilio_api.standin import TwilioStandIn

__all__ = ["FAILED_TO", "MAGIC_FROM", "UNDELIVERED_TO", "MediaSpec", "TwilioStandIn"]
