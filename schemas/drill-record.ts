import { hash } from 'node:crypto';
import { z } from 'zod';
import { RecordBase } from './record-base.js';
import { Channel } from './status.js';
import { Timestamp } from './time.js';

/**
 * A reachability drill (processors/paging/drills; README "Reachability drills"): before a shift starts, the person
 * coming on call is sent a short test page on every channel they would be paged on and must prove it reached them.
 * Every record of one drill carries the drill id as its `incident_id` (`drl_…`, `drillId`) and the schedule's drill
 * ARN (`drillArn`) as its `alarm_arn` (the partition key): the drill's dispatches, receipts and acks are the ordinary
 * records, and the lake views leave every row of a drill out of pages, verdicts and the report (`isDrillSql`).
 *
 * `phase`:
 * - `plan`: the planner's tick (a one-time Scheduler schedule, one per hour slot): plans the drills due in the next
 *   hours as Scheduler schedules, and the next tick;
 * - `due`: a drill is due (shift start − lead), put by its Scheduler schedule; `scheduled_at` when it was planned;
 * - `window_end`: its proof window closes;
 * - `result`: what it came to: `outcome` passed / failed / skipped, `why` (skipped: `quiet_hours`, `not_on_call`,
 *   `shift_started`), each channel's evidence in `channels`, and `summary` in words.
 * Example (a result):
 * {"v":1,"kind":"drill","event_id":"evt_…","incident_id":"drl_…",
 *  "alarm_arn":"arn:pagetrail:drill:payments-primary",
 *  "event_time":"2026-12-07T08:15:00.000Z","phase":"result","schedule":"payments-primary","person":"frank",
 *  "shift_start":"2026-12-07T09:00:00.000Z","outcome":"failed","channels":[{"channel":"sms","delivered":false,
 *  "responded":false,"status":"undelivered","provider":"twilio","error_code":"30003",
 *  "explanation":"unreachable handset: …"}],"summary":"sms: undelivered (Twilio 30003: unreachable handset)"}
 */
export const DrillChannelResult = z.object({
  channel: Channel,
  /** A delivery receipt (delivered, opened, clicked; voice: answered by a person) or a response came back. */
  delivered: z.boolean(),
  /** The person answered on it: `OK <code>` reply, key 1, the email's link. */
  responded: z.boolean(),
  /** The page's last status (pending, sent, delivered, undelivered, failed…). */
  status: z.string().min(1),
  provider: z.string().optional(),
  error_code: z.string().optional(),
  /** The provider code in words (shared/provider-codes.ts), when known. */
  explanation: z.string().optional(),
});
export type DrillChannelResult = z.infer<typeof DrillChannelResult>;

export const DrillRecord = RecordBase.extend({
  kind: z.literal('drill'),
  phase: z.enum(['plan', 'due', 'window_end', 'result']),
  schedule: z.string().min(1).optional(),
  person: z.string().min(1).optional(),
  shift_start: Timestamp.optional(),
  /** When the record was scheduled (planned), to measure how late it fired. */
  scheduled_at: Timestamp.optional(),
  outcome: z.enum(['passed', 'failed', 'skipped']).optional(),
  why: z.enum(['quiet_hours', 'not_on_call', 'shift_started']).optional(),
  channels: z.array(DrillChannelResult).max(8).optional(),
  summary: z.string().max(2000).optional(),
}).superRefine((r, ctx) => {
  if (r.phase !== 'plan' && (r.schedule === undefined || r.person === undefined || r.shift_start === undefined))
    ctx.addIssue({ code: 'custom', path: ['schedule'], message: `a ${r.phase} record names schedule, person, shift` });
  if (r.phase === 'result' && r.outcome === undefined)
    ctx.addIssue({ code: 'custom', path: ['outcome'], message: 'a result has an outcome' });
});
export type DrillRecordIn = z.input<typeof DrillRecord>;
export type DrillRecord = z.output<typeof DrillRecord>;

/** Every drill id (the records' `incident_id`) starts with this: how a drill is told from an incident. */
export const DRILL_ID_PREFIX = 'drl_';

export const isDrillId = (id: string) => id.startsWith(DRILL_ID_PREFIX);

/** The drill of `person`'s shift of `schedule` starting at `shiftStart` (epoch ms): deterministic, so planned once. */
export function drillId(schedule: string, person: string, shiftStart: number): string {
  const h = hash('sha256', `${schedule}\u001f${person}\u001f${new Date(shiftStart).toISOString()}`, 'hex');
  return `${DRILL_ID_PREFIX}${h.slice(0, 24)}`;
}

/** The planner tick of the hour slot starting at `slotStart` (epoch ms). */
export const drillPlanId = (slotStart: number) =>
  `${DRILL_ID_PREFIX}plan_${new Date(slotStart).toISOString().slice(0, 13).replace(/[-T]/g, '')}`;

/** The partition key (alarm ARN) of a schedule's drills; of the planner's ticks without a schedule. */
export const drillArn = (schedule?: string) => `arn:pagetrail:drill:${schedule ?? 'planner'}`;

/** SQL: row `r` (or the unqualified row) belongs to a drill (every kind: dispatch, receipt, ack, drill…). */
export const isDrillSql = (r?: string) => `substr(${r ? `${r}.` : ''}incident_id, 1, 4) = '${DRILL_ID_PREFIX}'`;
