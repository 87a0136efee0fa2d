import { IANAZone } from 'luxon';
import { z } from 'zod';
import { Severity } from '../status.js';
import { Restriction } from './schedule.js';

/**
 * The on-call file's "keep quiet" settings (processors/paging/quiet): maintenance windows, a team's
 * quiet hours for low severities, and the flapping window. Evaluated by windows.ts at decision time.
 *
 * Example (the README's on-call file):
 * "maintenance": [{ "name": "db-patching", "match": { "alarm_prefix": "billing-db-" },
 *   "recurrence": { "time_zone": "Europe/Berlin",
 *     "windows": [{ "days": ["sun"], "from": "02:00", "to": "04:00" }] } }],
 * "teams": { "app": { "quiet_hours": { "time_zone": "Europe/Berlin", "severities": ["P3", "P4"],
 *   "windows": [{ "days": ["mon","tue","wed","thu","fri","sat","sun"], "from": "20:00", "to": "08:00" }],
 *   "channels": ["email"] } } }
 */
const Zone = z.string().refine((tz) => IANAZone.isValidZone(tz), 'an IANA time zone like Europe/Berlin');
const Instant = z.iso.datetime({ offset: true, message: 'an ISO time with an offset, like 2026-12-06T02:00:00+01:00' });

/** Weekly windows in a time zone (the schedules' restriction shape: days, from, to; past midnight when to <= from). */
export const WeeklyWindows = z.strictObject({
  time_zone: Zone,
  windows: z.array(Restriction).min(1),
});
export type WeeklyWindows = z.infer<typeof WeeklyWindows>;

export const MaintenanceWindow = z
  .strictObject({
    /** Shown in logs and recorded on the suppression (the lake's `detail`). */
    name: z.string().min(1),
    /** Which alarms: every condition given must hold (an alarm name prefix, tags with their values, a team). */
    match: z
      .strictObject({
        alarm_prefix: z.string().min(1).optional(),
        tags: z.record(z.string().min(1), z.string()).optional(),
        team: z.string().min(1).optional(),
      })
      .refine(
        (m) => m.alarm_prefix !== undefined || m.tags !== undefined || m.team !== undefined,
        'name at least one of alarm_prefix, tags, team',
      ),
    /** A one-off window: from `start` (default: always) until `end`. */
    start: Instant.optional(),
    end: Instant.optional(),
    /** A recurring window (e.g. Sundays 02:00–04:00), within [start, end) when those are given too. */
    recurrence: WeeklyWindows.optional(),
  })
  .superRefine((w, ctx) => {
    if (w.end === undefined && w.recurrence === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['end'],
        message: 'a window needs an end or a recurrence (an open-ended window would silence the alarm for good)',
      });
    if (w.start && w.end && Date.parse(w.end) <= Date.parse(w.start))
      ctx.addIssue({ code: 'custom', path: ['end'], message: `ends (${w.end}) before it starts (${w.start})` });
  });
export type MaintenanceWindow = z.infer<typeof MaintenanceWindow>;

/**
 * A team's quiet hours: pages of these severities use only these channels inside the windows ("P3 by email only at
 * night").
 */
export const QuietHours = WeeklyWindows.extend({
  severities: z.array(Severity).min(1),
  channels: z.array(z.enum(['sms', 'whatsapp', 'email', 'voice'])).min(1),
});
export type QuietHours = z.infer<typeof QuietHours>;

/**
 * An alarm that returns to ALARM within `window_s` of its OK continues the incident it resolved (no new page). 0 turns
 * it off.
 */
export const Flapping = z.strictObject({
  window_s: z.number().int().min(0).max(86_400),
});
export type Flapping = z.infer<typeof Flapping>;
