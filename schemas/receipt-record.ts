import { z } from 'zod';
import { RecordBase } from './record-base.js';
import { Channel, DeliveryStatus, Provider } from './status.js';

/**
 * A verified, normalized delivery receipt (Twilio status callback, Resend webhook, or an event posted
 * to the ingest API). `raw` keeps the verified provider payload as evidence.
 * Example:
 * {"v":1,"kind":"receipt","event_id":"evt_…","incident_id":"inc_…",
 *  "alarm_arn":"arn:aws:cloudwatch:…:alarm:api-cpu",
 *  "event_time":"2026-11-28T10:00:04.000Z","provider":"twilio","channel":"whatsapp","message_id":"SM0123…",
 *  "status":"opened","provider_status":"read","recipient":"whatsapp:+15551230001"}
 */
export const ReceiptRecord = RecordBase.extend({
  kind: z.literal('receipt'),
  provider: Provider,
  channel: Channel,
  message_id: z.string().min(1),
  /** The dispatch (page) the provider event is about, from the page reference (callback URL, tags). */
  dispatch_id: z.string().min(4).max(128).optional(),
  status: DeliveryStatus,
  provider_status: z.string().min(1),
  recipient: z.string().optional(),
  error_code: z.string().optional(),
  error_message: z.string().optional(),
  raw: z.string().optional(),
});
export type ReceiptRecordIn = z.input<typeof ReceiptRecord>;
export type ReceiptRecord = z.output<typeof ReceiptRecord>;
