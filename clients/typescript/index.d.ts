// The events a twilio-inbound stack publishes and the command it sends, as TypeScript types. types/ is generated
// from the JSON Schemas (schemas/) by `make generate`; `make test` fails when it differs from a fresh generation.
import type { MediaArchived } from "./types/media-archived";
import type { MessageReceived } from "./types/message-received";
import type { MessageStatus } from "./types/message-status";
import type { SendCommandFields } from "./types/send-command";

export type { MediaArchived, MessageReceived, MessageStatus, SendCommandFields };

/** Any event of the stack: narrow on `type`. */
export type TwilioInboundEvent = MessageReceived | MediaArchived | MessageStatus;
export type EventType = TwilioInboundEvent["type"];

/**
 * A send command the stack's sender accepts: something to send (body or mediaUrls), and either inReplyTo (an
 * inbound MessageSid) or both to and from. The schema's allOf, which the generated interface cannot express.
 */
export type SendCommand = SendCommandFields &
  ({ inReplyTo: string; to?: never; from?: never } | { inReplyTo?: never; to: string; from: string }) &
  ({ body: string } | { mediaUrls: string[] });
