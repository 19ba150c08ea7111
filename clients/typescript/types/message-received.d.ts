/* Generated from schemas/ by `make generate` (json-schema-to-typescript): do not edit. */

export type Timestamp = string;
export type MessageSid = string;

/**
 * The SNS message body published for every new inbound message. `data` uses the field names of Twilio Event Streams' Messaging.InboundMessageV1, plus media, channel and the verbatim parameters.
 */
export interface MessageReceived {
  specversion: "1.0";
  /**
   * The MessageSid: dedupe on it (delivery is at least once).
   */
  id: string;
  source: string;
  type: "twilio-inbound.message.received";
  /**
   * The sender's address.
   */
  subject?: string;
  time: Timestamp;
  datacontenttype: "application/json";
  dataschema: "urn:twilio-inbound:schema:message-received:v1";
  data: {
    messageSid: MessageSid;
    accountSid: string;
    /**
     * Empty when the number is not in a Messaging Service.
     */
    messagingServiceSid: string;
    from: string;
    to: string;
    body: string;
    numMedia: number;
    numSegments: number;
    fromCity: string;
    fromState: string;
    fromZip: string;
    fromCountry: string;
    toCity: string;
    toState: string;
    toZip: string;
    toCountry: string;
    optOutType: "" | "STOP" | "START" | "HELP";
    timestamp: Timestamp;
    /**
     * @maxItems 10
     */
    media: {
      url: string;
      contentType: string;
    }[];
    /**
     * sms, mms, whatsapp, messenger, rcs, ...
     */
    channel: string;
    /**
     * The body, upper-cased, when it is a standard keyword (STOP, HELP, ...) or one the number has a reply for; else empty.
     */
    keyword: string;
    /**
     * The registered number the message came to, or null when it is not in the registry.
     */
    entryPoint: null | {
      number: string;
      name: string;
      routeKey: string;
      tags: string[];
      language: string;
    };
    /**
     * Present only on a message the webhook never received: reconcile stored it from Twilio's message log. Fields Twilio's API does not return (fromCity ... toCountry, optOutType from Advanced Opt-Out) are empty, and parameters holds what the API returned.
     */
    recovered?: true;
    /**
     * The sender has opted out of this number (STOP, and no START since) when the event was published.
     */
    optedOut: boolean;
    /**
     * Reply correlation: the last message the stack sent in this conversation (the same number and sender) before this one was received, within the stack's ReplyWindowMinutes, or null. Deterministic: a replay names the same one. Its idempotencyKey is also the inReplyToKey message attribute, so a service subscribes to the answers to its own messages.
     */
    inReplyTo: null | {
      messageSid: MessageSid;
      /**
       * The send command's key; empty for a reply the webhook answered in TwiML (an auto-reply or a keyword reply).
       */
      idempotencyKey: string;
      /**
       * When the stack handed it to Twilio.
       */
      sentAt: string;
    };
    /**
     * Every parameter Twilio posted, verbatim; a repeated parameter is an array.
     */
    parameters: {
      [k: string]: string | string[];
    };
  };
  [k: string]: unknown;
}
