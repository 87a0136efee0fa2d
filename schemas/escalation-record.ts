import { z } from 'zod';
import { RecordBase } from './record-base.js';
import { Channel, Severity } from './status.js';

/**
 * The loop escalated: a level's deadline passed unconfirmed (`deadline`), a page failed and the
 * person is tried on another channel (`failover`), the last level ran out and the policy starts again
 * (`repeat`, to level 1 of round `round`), or the policy ran out after its repeats (`exhausted`: the
 * fallback target, if any, is paged; nobody else is). Keeping quiet: an alarm that opened inside a
 * maintenance window (`suppressed`, levels 0: nobody was paged), and an alarm that flapped back to
 * ALARM soon after its OK and continued the incident (`retrigger`, no new page). `event_time` is the
 * escalation time. No silent routing: an alarm whose team has no policy for its severity is recorded `unrouted`
 * with the `fallback` it pages instead — the team's `default_policy` (`team_default`, to_level 1), the on-call file's
 * `unrouted_fallback` (`global`, to_level 99) or nobody (`none`, to_level 0: nobody was paged).
 * By hand (incident API, console: an `action` record): `manual` (escalated to the next level now, `by` the person;
 * past the last level the `repeat` / `exhausted` record carries `by`), `reassign` (`person` paged now and made the
 * responder, `by`), `resume` (a snooze of an acknowledged incident ended: the ack is lifted and the level paged
 * again; `by` who snoozed).
 * Example:
 * {"v":1,"kind":"escalation","event_id":"evt_…","incident_id":"inc_…",
 *  "alarm_arn":"arn:aws:cloudwatch:…:alarm:api-cpu",
 *  "event_time":"2026-11-28T10:05:01.000Z","reason":"deadline","from_level":1,"to_level":2}
 */
export const EscalationRecord = RecordBase.extend({
  kind: z.literal('escalation'),
  reason: z.enum([
    'deadline',
    'failover',
    'repeat',
    'exhausted',
    'suppressed',
    'retrigger',
    'unrouted',
    'manual',
    'reassign',
    'resume',
  ]),
  /** Repeat round the escalation leads into (0 = first pass). */
  round: z.number().int().min(0).optional(),
  /** 0: no level was paged (a suppressed incident). */
  from_level: z.number().int().min(0),
  to_level: z.number().int().min(0),
  from_channel: Channel.optional(),
  to_channel: Channel.optional(),
  message_id: z.string().optional(),
  person: z.string().optional(),
  /**
   * `failover`: why — `no_receipt` when no delivery evidence came back by the page's delivery deadline (failed over
   * on silence; `silence_ms` since the send); absent when a failure receipt or a refused send caused it.
   */
  cause: z.enum(['no_receipt']).optional(),
  silence_ms: z.number().int().min(0).optional(),
  /** `suppressed`: the maintenance window's name. */
  maintenance_window: z.string().min(1).optional(),
  /** `suppressed`, `retrigger`, `unrouted`: the event id of the alarm record (its own incident id is the record's). */
  alarm_event_id: z.string().min(1).optional(),
  /** `unrouted`: what was paged instead of the missing (team, severity) policy. */
  fallback: z.enum(['team_default', 'global', 'none']).optional(),
  /** `unrouted`: the team and severity that have no policy. */
  team: z.string().min(1).optional(),
  severity: Severity.optional(),
  /** `unrouted`: the alarm's `severity` tag when it was not P1..P4 (ignored: SEVERITY_MAP / SEVERITY_DEFAULT). */
  severity_tag: z.string().min(1).max(256).optional(),
  /**
   * `failover` to the same channel by the other route (SMS or voice by AWS End User Messaging after Twilio failed):
   * the route the next page goes by (processors/paging/routes.ts).
   */
  to_route: z.enum(['twilio', 'aws']).optional(),
  /** By hand (`manual`, `reassign`, `resume`, or a `repeat` / `exhausted` by hand): who (person id or `key:<id>`). */
  by: z.string().min(1).max(128).optional(),
});
export type EscalationRecordIn = z.input<typeof EscalationRecord>;
export type EscalationRecord = z.output<typeof EscalationRecord>;
