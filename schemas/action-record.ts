import { z } from 'zod';
import { RecordBase } from './record-base.js';

/**
 * A person (or an API key) acted on an incident by the incident API or the console (producers/receiver/api), other
 * than acknowledging it (that is an `ack` record, via `api` / `console`): `resolve` resolves the incident by hand
 * (the paging engine stops it and tells the people paged, as when the alarm goes back to OK); `note` adds a note to
 * its history (the engine changes nothing; the lake keeps it). `person`: the person's id, or `key:<key id>`.
 * `escalate`: go to the next level now, as the level's deadline would (the engine writes an `escalation` record,
 * reason `manual`, `by` the person); `reassign`: page `to_person` now and make them the incident's responder
 * (escalation record reason `reassign`); `snooze`: pause the escalation `minutes` (5..1440) minutes
 * (docs/design/closed-loop.md "Escalate, reassign, snooze"). `from_level` / `round`: the level the person saw when
 * acting (escalate, reassign): an escalate from a level the incident has left already is a no-op.
 * Example (written by POST /api/v1/incidents/{id}/resolve):
 * {"v":1,"kind":"action","event_id":"evt_…","incident_id":"inc_…",
 *  "alarm_arn":"arn:aws:cloudwatch:…:alarm:api-cpu","event_time":"2026-12-07T03:10:00.000Z",
 *  "action":"resolve","via":"api","person":"alice",
 *  "note":"rolled back the deploy"}
 */
export const ActionRecord = RecordBase.extend({
  kind: z.literal('action'),
  action: z.enum(['resolve', 'note', 'escalate', 'reassign', 'snooze']),
  via: z.enum(['api', 'console']),
  person: z.string().min(1).max(128),
  /** Required for `note`; optional words with `resolve`. */
  note: z.string().min(1).max(2000).optional(),
  /** `reassign`: the person paged and made the responder (a person id of the on-call file). */
  to_person: z.string().min(1).max(128).optional(),
  /** `snooze`: how long the escalation pauses. */
  minutes: z.number().int().min(5).max(1440).optional(),
  /** `escalate`, `reassign`: the round and level the incident was at when the person acted. */
  round: z.number().int().min(0).optional(),
  from_level: z.number().int().min(0).optional(),
});
export type ActionRecordIn = z.input<typeof ActionRecord>;
export type ActionRecord = z.output<typeof ActionRecord>;
