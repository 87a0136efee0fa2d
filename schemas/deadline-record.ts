import { z } from 'zod';
import { RecordBase } from './record-base.js';
import { Timestamp } from './time.js';

/**
 * A deadline came due: written to the stream by the scheduler (EventBridge Scheduler on AWS, its local
 * emulator under `make up`) from the one-time schedule the paging handler created when it paged a
 * level. The paging handler escalates when it reads one whose level is still current and unconfirmed;
 * any other (stale, already escalated, acked, resolved) is a no-op. `purpose: settle` wakes the
 * handler to finish the incident's outbox: settle a send whose outcome was unknown (a provider call that
 * timed out), or — put on the stream by the handler itself while the Scheduler is down — create the
 * deadlines it could not.
 * `purpose: delivery` is a page's delivery deadline: its `dispatch_id` names the page; if no delivery evidence
 * (delivered, opened, clicked) has come back by then, the person is failed over to their next channel, as a failure
 * receipt would (the escalation record says `cause: no_receipt`).
 * `event_time` is when the deadline was due (not when it fired: AWS fires within a minute of it).
 * `late_ms`: the paging handler put it on the stream itself this long after it was due (the Scheduler could
 * not take it in time: an outage); absent when it was scheduled, or put on time.
 * Example:
 * {"v":1,"kind":"deadline","event_id":"evt_…","incident_id":"inc_…",
 *  "alarm_arn":"arn:aws:cloudwatch:…:alarm:api-cpu",
 *  "event_time":"2026-11-28T10:05:01.000Z","purpose":"level","round":0,"level":1}
 */
export const DeadlineRecord = RecordBase.extend({
  kind: z.literal('deadline'),
  purpose: z.enum(['level', 'settle', 'delivery']).default('level'),
  /** `delivery`: the page (its dispatch id) whose delivery evidence is due. */
  dispatch_id: z.string().min(1).optional(),
  /** Repeat round of the policy (0 = first pass). */
  round: z.number().int().min(0).default(0),
  level: z.number().int().min(1),
  /** When the schedule was created (to measure how late it fired). */
  scheduled_at: Timestamp.optional(),
  /** Put on the stream this long after it was due (ms): see above. */
  late_ms: z.number().int().min(0).optional(),
});
export type DeadlineRecordIn = z.input<typeof DeadlineRecord>;
export type DeadlineRecord = z.output<typeof DeadlineRecord>;
