import { z } from 'zod';

/**
 * One status vocabulary for every channel. Provider statuses map onto it (the provider's own word
 * is kept beside it as `provider_status`). `opened` means a person saw the page: an email open or a
 * WhatsApp read receipt.
 */
export const DeliveryStatus = z.enum([
  'queued', // accepted by the provider, not yet handed on
  'sent', // handed to the carrier / mail exchanger
  'delivered', // reached the device / mailbox
  'delayed', // provider reports a temporary delivery delay
  'opened', // seen: WhatsApp `read`, email `opened`
  'clicked', // a link in the email was followed
  'undelivered', // carrier could not deliver
  'failed', // the provider did not send it
  'bounced', // mailbox rejected it
  'complained', // marked as spam
  'suppressed', // provider refused: recipient on a suppression list
  'canceled',
  'received', // an inbound message (reply) reached us
]);
export type DeliveryStatus = z.infer<typeof DeliveryStatus>;

/** Statuses that say a page will not reach the person on that channel: fail over at once. */
export const FAILED_STATUSES: ReadonlySet<DeliveryStatus> = new Set([
  'undelivered',
  'failed',
  'bounced',
  'suppressed',
  'canceled',
  'complained',
]);

/** Statuses that confirm the page reached the person (stop the level's deadline). */
export const CONFIRMED_STATUSES: ReadonlySet<DeliveryStatus> = new Set(['delivered', 'opened', 'clicked']);

export const Channel = z.enum(['sms', 'whatsapp', 'email', 'voice', 'webhook', 'other']);
export type Channel = z.infer<typeof Channel>;

/** `aws`: AWS End User Messaging SMS and Voice (the second route for SMS and voice). */
export const Provider = z.enum(['twilio', 'resend', 'aws', 'external']);
export type Provider = z.infer<typeof Provider>;

export const Severity = z.enum(['P1', 'P2', 'P3', 'P4']);
export type Severity = z.infer<typeof Severity>;
