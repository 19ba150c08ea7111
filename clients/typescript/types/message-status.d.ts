/* Generated from schemas/ by `make generate` (json-schema-to-typescript): do not edit. */

export type Timestamp = string;
export type Sid = string;

/**
 * The SNS message body published when an outbound message's delivery status moves forward (queued, sent, delivered, undelivered, failed, read, ...), and when a send command produced no message: refused by the stack, failed at Twilio's create call, or of unknown outcome. Subscribe with a filter policy on the eventType attribute.
 */
export interface MessageStatus {
  specversion: "1.0";
  /**
   * <MessageSid>:<status>, or <idempotencyKey>:<status> when no message exists: dedupe on it (delivery is at least once).
   */
  id: string;
  source: string;
  type: "twilio-inbound.message.status";
  /**
   * The recipient's address.
   */
  subject?: string;
  time: Timestamp;
  datacontenttype: "application/json";
  dataschema: "urn:twilio-inbound:schema:message-status:v1";
  data: {
    /**
     * Twilio's MessageSid; empty when Twilio never created the message (refused, failed at create, unknown).
     */
    messageSid: "" | Sid;
    /**
     * The send command's key; empty for a message not sent through the stack's queue.
     */
    idempotencyKey: string;
    accountSid: string;
    /**
     * Empty unless a Messaging Service sent it.
     */
    messagingServiceSid: string;
    /**
     * The sending number or address (empty until a Messaging Service has picked one).
     */
    from: string;
    to: string;
    /**
     * sms, mms, whatsapp, ... (empty when the recipient is unknown)
     */
    channel: string;
    /**
     * Twilio's MessageStatus (accepted, scheduled, queued, sending, sent, delivered, undelivered, failed, canceled, partially_delivered, read), or the stack's own: refused (not sent: opted-out recipient, unregistered or disabled sender, unknown inReplyTo), unknown (the create call's outcome is unknown: not sent again). failed with an empty messageSid: Twilio refused the create call (errorCode says why).
     */
    status: string;
    /**
     * Twilio's error code (30003 unreachable handset, 21610 unsubscribed recipient, ...), kept once reported. A refused command carries Twilio's code for the same refusal when Twilio has one: 21610 opted-out recipient, 63016 outside WhatsApp's window, 21910 sender and recipient of different channels.
     */
    errorCode: null | number;
    /**
     * Why, for refused, unknown and create-failed outcomes; else empty.
     */
    reason: string;
    /**
     * The inbound MessageSid the command answered, or empty.
     */
    inReplyTo: "" | Sid;
    timestamp: Timestamp;
  };
  [k: string]: unknown;
}
