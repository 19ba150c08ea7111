/* Generated from schemas/ by `make generate` (json-schema-to-typescript): do not edit. */

export type Timestamp = string;

/**
 * Published once per message with media, after its message.received event, when every attachment is archived in the stack's media bucket (and read back) or known not to be archivable. Every object it names exists.
 */
export interface MediaArchived {
  specversion: "1.0";
  /**
   * <MessageSid>:media: dedupe on it (delivery is at least once).
   */
  id: string;
  source: string;
  type: "twilio-inbound.media.archived";
  /**
   * The sender's address.
   */
  subject?: string;
  time: Timestamp;
  datacontenttype: "application/json";
  dataschema: "urn:twilio-inbound:schema:media-archived:v1";
  data: {
    messageSid: string;
    accountSid: string;
    from: string;
    to: string;
    channel: string;
    numMedia: number;
    /**
     * As in the message event: the registered number, or null.
     */
    entryPoint: {
      [k: string]: unknown;
    } | null;
    archivedAt: Timestamp;
    /**
     * One entry per MediaUrlN of the message, in order.
     *
     * @maxItems 10
     */
    media: (Archived | NotArchived)[];
  };
  [k: string]: unknown;
}
export interface Archived {
  /**
   * The MediaUrl Twilio sent.
   */
  url: string;
  /**
   * As stored: the type Twilio served.
   */
  contentType: string;
  archived: true;
  bucket: string;
  /**
   * media/<MessageSid>/<index>-<MediaSid><extension>
   */
  key: string;
  size: number;
  sha256: string;
}
export interface NotArchived {
  url: string;
  /**
   * The webhook's MediaContentType.
   */
  contentType: string;
  archived: false;
  /**
   * Why: not a Twilio media URL (never fetched), over the size limit, ...
   */
  reason: string;
}
