/* Generated from schemas/ by `make generate` (json-schema-to-typescript): do not edit. */

/**
 * The JSON body a service puts on the stack's outbound queue (OutboundQueueUrl) to send an SMS, MMS or WhatsApp message. Either inReplyTo (an inbound MessageSid: sender, recipient and channel come from that message), or both to and from; a body and/or mediaUrls, or a Content Template (contentSid). A command that does not match goes to the queue's dead-letter queue with the reason, never retried. A free-form WhatsApp message (no contentSid) to a customer whose 24-hour window is closed is refused before Twilio is called (a message.status event, status refused, with the reason).
 */
export interface SendCommandFields {
  /**
   * Yours, unique per message you mean to send: a command delivered again with the same key is never sent twice (for 30 days). Reusing a key for a different command is refused.
   */
  idempotencyKey: string;
  /**
   * The recipient: E.164 (+14155550100) or a channel address (whatsapp:+14155550100, a WhatsApp business-scoped user ID whatsapp:US.13491208655302741918, rcs:+14155550100).
   */
  to?: string;
  /**
   * A registered, enabled number or channel address (+15005550001, whatsapp:+15005550001), a registered entry point's name (support-line), or a registered Messaging Service SID (MG...).
   */
  from?: string;
  /**
   * The text, at most 1,600 characters (Twilio's limit).
   */
  body?: string;
  /**
   * Up to 10 public https:// URLs Twilio fetches and attaches (MMS, WhatsApp).
   *
   * @maxItems 10
   */
  mediaUrls?: string[];
  /**
   * The MessageSid of a stored inbound message: the reply goes from the number it was sent to, to its sender, on its channel.
   */
  inReplyTo?: string;
  /**
   * A Content Template (Twilio's Content API, HX...) instead of a body: passed to Twilio as ContentSid. The only kind of WhatsApp message allowed outside the customer's 24-hour window (an approved template).
   */
  contentSid?: string;
  /**
   * The template's variables and their values ({"1": "12/1", "2": "3pm"}), passed to Twilio as ContentVariables (a JSON string). Only with contentSid; a variable left out takes the template's default.
   */
  contentVariables?: {
    [k: string]: string;
  };
  /**
   * Which of the secret's accounts sends, when it holds several (default: the inbound message's for inReplyTo, else the secret's only account).
   */
  accountSid?: string;
}
