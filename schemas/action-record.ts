import { z } from 'zod';
import { RecordBase } from './record-base.js';

/**
 * A person (or an API key) acted on an incident by the incident API or the console (producers/receiver/api), other
 * than acknowledging it (that is an `ack` record, via `api` / `console`): `resolve` resolves the incident by hand
 * (the paging engine stops it and tells the people paged, as when the alarm goes back to OK); `note` adds a note to
 * its history (the engine changes nothing; the lake keeps it). `person`: the person's id, or `key:<key id>`.
 * Example (written by POST /api/v1/incidents/{id}/resolve):
 * {"v":1,"kind":"action","event_id":"evt_…","incident_id":"inc_…",
 *  "alarm_arn":"arn:aws:cloudwatch:…:alarm:api-cpu","event_time":"2026-12-07T03:10:00.000Z",
 *  "action":"resolve","via":"api","person":"alice",
 *  "note":"rolled back the deploy"}
 */
export const ActionRecord = RecordBase.extend({
  kind: z.literal('action'),
  action: z.enum(['resolve', 'note']),
  via: z.enum(['api', 'console']),
  person: z.string().min(1).max(128),
  /** Required for `note`; optional words with `resolve`. */
  note: z.string().min(1).max(2000).optional(),
});
export type ActionRecordIn = z.input<typeof ActionRecord>;
export type ActionRecord = z.output<typeof ActionRecord>;
