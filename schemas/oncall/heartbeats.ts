import { z } from 'zod';
import { Severity } from '../status.js';
import { alertAlarmId } from '../ids.js';

/**
 * The on-call file's `heartbeats` section: checks that must check in (a cron job, a batch, Alertmanager's always-firing
 * `Watchdog` alert) at least every `period_s`; `grace_s` later than that without one, an incident opens for `team` at
 * `severity` through the same routing, escalation and lake as any alarm (source `heartbeat`); the next check-in
 * resolves it (processors/paging/heartbeats.ts; docs/design/closed-loop.md "Heartbeats"). A check is watched from its
 * first check-in on (a check that never checked in has missed nothing: healthchecks.io's "new" state likewise).
 *
 * A check checks in with `GET|POST /heartbeat/<token>`; the token is `<check id>.<HMAC-SHA256(HEARTBEAT_SECRET,
 * check id)>` (shared/heartbeat-token.ts; `make heartbeat-url CHECK=<id>` prints the URL).
 *
 * `preset: "watchdog"`: the check is fed by an Alertmanager webhook receiver whose route sends only the `Watchdog`
 * alert (kube-prometheus' always-firing alert); only a notification with a firing alert counts as a check-in (a
 * resolved one means the Watchdog stopped). Its defaults: name "Alertmanager Watchdog", period 5 min, grace 5 min
 * (Alertmanager repeats a firing group every `repeat_interval`: set it to 1m on that route; README "Heartbeats").
 *
 * Example: {"nightly-backup": {"period_s": 86400, "grace_s": 3600, "team": "db", "severity": "P3",
 *  "name": "Nightly backup", "description": "pg_dump of the orders database, 02:00 UTC"},
 *  "prometheus-watchdog": {"preset": "watchdog", "team": "app", "severity": "P2"}}
 */

/** A check id: letters, digits, `_` and `-` (no dot: the token is `<check id>.<mac>`). */
export const CheckId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and -, at most 64');

/** The shortest period (tests); on AWS a deadline fires up to 60 s after its time: keep period + grace well above. */
export const MIN_PERIOD_S = 1;

const WATCHDOG = { name: 'Alertmanager Watchdog', period_s: 300, grace_s: 300 } as const;

export const HeartbeatCheck = z
  .strictObject({
    preset: z.enum(['watchdog']).optional(),
    /** Seconds between check-ins (the job's schedule). */
    period_s: z
      .number()
      .int()
      .min(MIN_PERIOD_S)
      .max(31 * 86_400)
      .optional(),
    /** Seconds of slack after a period before the check counts as missed. Default 0 (watchdog: 300). */
    grace_s: z
      .number()
      .int()
      .min(0)
      .max(7 * 86_400)
      .optional(),
    team: z.string().min(1),
    severity: Severity.default('P2'),
    /** What the incident is called (default: the check id; watchdog: "Alertmanager Watchdog"). */
    name: z.string().min(1).max(256).optional(),
    description: z.string().max(1024).default(''),
  })
  .superRefine((c, ctx) => {
    if (c.period_s === undefined && c.preset === undefined)
      ctx.addIssue({ code: 'custom', path: ['period_s'], message: 'required (seconds between check-ins)' });
  })
  .transform((c) => ({
    ...c,
    period_s: c.period_s ?? WATCHDOG.period_s,
    grace_s: c.grace_s ?? (c.preset === 'watchdog' ? WATCHDOG.grace_s : 0),
    ...(c.name === undefined && c.preset === 'watchdog' ? { name: WATCHDOG.name } : {}),
  }));
export type HeartbeatCheck = z.output<typeof HeartbeatCheck>;

export const Heartbeats = z.record(CheckId, HeartbeatCheck).default({});
export type Heartbeats = z.output<typeof Heartbeats>;

/** "every 5 min", "every 1 h 30 min", "every 45 s": a period in words. */
export function periodInWords(seconds: number): string {
  const parts: string[] = [];
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (d) parts.push(`${d} d`);
  if (h) parts.push(`${h} h`);
  if (m) parts.push(`${m} min`);
  if (s || parts.length === 0) parts.push(`${s} s`);
  return `every ${parts.join(' ')}`;
}

/** A check's alarm id (`arn:pagetrail:heartbeat:::<check id>`): the partition key of all its records. */
export const heartbeatAlarmId = (checkId: string) => alertAlarmId('heartbeat', checkId);
