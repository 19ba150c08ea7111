"""The media function (its folder is the CodeUri; the shared layer brings twilio_inbound)."""
