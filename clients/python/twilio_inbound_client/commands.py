"""The send command: the generated fields (schemas/send-command.v1.json) plus the rule the generator cannot
express, which fields go together. A SendCommand that validates is one the stack's sender accepts."""

from __future__ import annotations

from typing import Self

from pydantic import model_validator

from twilio_inbound_client.models.send_command import SendCommandFields


class SendCommand(SendCommandFields):
    """Something to send (a body, media URLs, or both; or a Content Template, `contentSid`, with its
    `contentVariables`), and either `inReplyTo` (an inbound MessageSid: the reply goes from the number it was sent
    to, to its sender, on its channel) or both `to` and `from`."""

    @model_validator(mode="after")
    def _complete(self) -> Self:
        stated_null = sorted(name for name in self.model_fields_set if getattr(self, name) is None)
        if stated_null:
            raise ValueError(f"{', '.join(stated_null)}: leave a field out rather than null")
        if self.contentSid is not None and (self.body is not None or self.mediaUrls is not None):
            raise ValueError("a template (contentSid) carries its own content: leave out body and mediaUrls")
        if self.contentVariables is not None and self.contentSid is None:
            raise ValueError("contentVariables needs contentSid")
        if not (self.body or self.mediaUrls or self.contentSid):
            raise ValueError("nothing to send: give a body, mediaUrls or contentSid")
        if self.inReplyTo is not None and (self.to is not None or self.from_ is not None):
            raise ValueError("a reply takes no to or from: they come from the message it answers")
        if self.inReplyTo is None and (self.to is None or self.from_ is None):
            raise ValueError("give inReplyTo, or both to and from")
        return self

    def to_json(self) -> str:
        """The queue message's body: the schema's field names, absent fields left out."""
        return self.model_dump_json(by_alias=True, exclude_none=True)
