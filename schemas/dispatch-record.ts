import { z } from 'zod';
import { RecordBase } from './record-base.js';
import { Channel, Provider, Severity } from './status.js';
import { Timestamp } from './time.js';

/**
 * One page sent (or that failed to send) to one person on one channel at one escalation level.
 * Example:
 * {"v":1,"kind":"dispatch","event_id":"evt_…","incident_id":"inc_…",
 *  "alarm_arn":"arn:aws:cloudwatch:…:alarm:api-cpu",
 *  "event_time":"2026-11-28T10:00:01.000Z","message_id":"SM0123…","channel":"sms","provider":"twilio",
 *  "recipient":"+15551230001","person":"alice","level":1,"alarm_name":"api-cpu","severity":"P1",
 *  "outcome":"sent","escalate_at":"2026-11-28T10:05:01.000Z","route":"twilio"}
 */
/** The route of a page: the provider it goes by (SMS and voice: `twilio` first, `aws` second; email: `resend`). */
export const Route = z.enum(['twilio', 'aws', 'resend']);
export type Route = z.infer<typeof Route>;

export const DispatchRecord = RecordBase.extend({
  kind: z.literal('dispatch'),
  /** Twilio MessageSid, AWS End User Messaging MessageId or Resend email id; null when the provider refused it. */
  message_id: z.string().min(1).nullable(),
  channel: Channel,
  provider: Provider,
  recipient: z.string().min(1),
  person: z.string().optional(),
  level: z.number().int().min(1),
  alarm_name: z.string().optional(),
  severity: Severity.optional(),
  outcome: z.enum(['sent', 'failed']),
  error_code: z.string().optional(),
  error_message: z.string().optional(),
  /** Repeat round of the policy (0 = first pass). */
  round: z.number().int().min(0).optional(),
  /**
   * The send's outcome was unknown after a crash or a timeout and the provider lookup could not rule
   * out an earlier copy: the page was sent again and may have reached the person twice.
   */
  possible_duplicate: z.boolean().optional(),
  /** Why this person was paged: the on-call schedule, its layer, and whether an override decided it. */
  resolved_by: z
    .object({
      schedule: z.string().min(1),
      layer: z.union([z.number().int().min(0), z.string().min(1)]),
      source: z.enum(['override', 'rotation', 'ical']),
      override: z.boolean().optional(),
    })
    .optional(),
  /** Not a page: a notice to someone already paged that the incident was acknowledged or resolved. */
  notice: z.enum(['ack', 'resolve']).optional(),
  /** The team's quiet hours chose this channel (a low severity at night). */
  quiet_hours: z.boolean().optional(),
  /** When this level escalates if no page of it is confirmed or acknowledged. */
  escalate_at: Timestamp.optional(),
  /**
   * Which route carried (or tried to carry) the page: `twilio` or `aws` (AWS End User Messaging, the second route
   * for SMS and voice), `resend` for email. Absent in records written before routes were recorded (the provider's).
   */
  route: Route.optional(),
  /**
   * Sent by the other route because the same page by the first failed: which route failed and how — `error` (an
   * error answer: 5xx, a refusal, the network), `timeout`, `no_receipt` (silent until its delivery deadline),
   * `failed_receipt` (undelivered, failed…).
   */
  rerouted: z.object({ from: Route, cause: z.enum(['error', 'timeout', 'no_receipt', 'failed_receipt']) }).optional(),
});
export type DispatchRecordIn = z.input<typeof DispatchRecord>;
export type DispatchRecord = z.output<typeof DispatchRecord>;

/** The level number of fallback pages (after the policy's levels are exhausted): a pseudo-level after the last one. */
export const FALLBACK_LEVEL = 99;
