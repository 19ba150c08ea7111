"""The sender function (its folder is the CodeUri; the shared layer brings twilio_inbound, requirements.txt the
twilio SDK)."""
