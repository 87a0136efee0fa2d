import { z } from 'zod';
import { RecordBase } from './record-base.js';
import { Channel } from './status.js';

/**
 * A person acknowledged the incident: stops escalation.
 * Example:
 * {"v":1,"kind":"ack","event_id":"evt_…","incident_id":"inc_…","alarm_arn":"arn:aws:cloudwatch:…:alarm:api-cpu",
 *  "event_time":"2026-11-28T10:01:30.000Z","channel":"sms","via":"sms_reply","person":"alice",
 *  "recipient":"+15551230001"}
 */
export const AckRecord = RecordBase.extend({
  kind: z.literal('ack'),
  channel: Channel,
  /**
   * `voice_key`: the person pressed 1 during a voice page (TwiML Gather); `events-v2`: an Events API v2 `acknowledge`
   * for the incident's dedup_key (the paging engine writes it; no person); `api` / `console`: a signed-in person or an
   * API key acted on the incident API (producers/receiver/api; `person` names the person or `key:<id>`).
   */
  via: z.enum(['sms_reply', 'whatsapp_reply', 'email_link', 'voice_key', 'api', 'console', 'events-v2']),
  person: z.string().optional(),
  recipient: z.string().optional(),
  message_id: z.string().optional(),
});
export type AckRecordIn = z.input<typeof AckRecord>;
export type AckRecord = z.output<typeof AckRecord>;
