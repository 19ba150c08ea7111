"""Code shared by the twilio-inbound functions (deployed as a Lambda layer)."""
