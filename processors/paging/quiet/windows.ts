import { alarmTag } from '../../../schemas/alarm-routing.js';
import type { Severity } from '../../../schemas/status.js';
import { withinRestrictions } from '../../../shared/schedules/resolve.js';
import type { MaintenanceWindow, QuietHours, WeeklyWindows } from '../../../schemas/oncall/quiet.js';

/** Whether `at` lies inside one of the weekly windows (in their time zone). */
export const withinWeekly = (w: WeeklyWindows, at: number) => withinRestrictions(w.windows, at, w.time_zone);

/** What a maintenance window matches an alarm on. */
export interface AlarmFacts {
  alarmName: string;
  team: string;
  tags?: Record<string, string>;
}

/**
 * Whether the window covers the alarm at `at`: every match condition holds, and `at` is inside start/end and the
 * recurrence.
 */
export function inMaintenance(w: MaintenanceWindow, alarm: AlarmFacts, at: number): boolean {
  const m = w.match;
  if (m.alarm_prefix !== undefined && !alarm.alarmName.startsWith(m.alarm_prefix)) return false;
  if (m.team !== undefined && m.team !== alarm.team) return false;
  if (m.tags && !Object.entries(m.tags).every(([k, v]) => alarmTag(alarm.tags, k) === v)) return false;
  return windowOpen(w, at);
}

/** Whether the window is open at `at` (inside start/end and its recurrence), whatever it matches. */
export function windowOpen(w: MaintenanceWindow, at: number): boolean {
  if (w.start !== undefined && at < Date.parse(w.start)) return false;
  if (w.end !== undefined && at >= Date.parse(w.end)) return false;
  return w.recurrence === undefined || withinWeekly(w.recurrence, at);
}

/** "alarm_prefix payments-db-, tags env=staging, team platform": what a window matches, in words. */
export function describeMatch(w: MaintenanceWindow): string {
  const m = w.match;
  return [
    ...(m.alarm_prefix !== undefined ? [`alarm_prefix ${m.alarm_prefix}`] : []),
    ...(m.tags
      ? [
          `tags ${Object.entries(m.tags)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}`,
        ]
      : []),
    ...(m.team !== undefined ? [`team ${m.team}`] : []),
  ].join(', ');
}

/** The first maintenance window covering the alarm at `at`, if any. */
export function maintenanceFor(
  windows: readonly MaintenanceWindow[],
  alarm: AlarmFacts,
  at: number,
): MaintenanceWindow | undefined {
  return windows.find((w) => inMaintenance(w, alarm, at));
}

/** The channels quiet hours allow for a page of `severity` at `at`; undefined when quiet hours do not apply. */
export function quietChannels<C extends string>(
  quiet: QuietHours | undefined,
  severity: Severity,
  at: number,
): C[] | undefined {
  if (!quiet || !quiet.severities.includes(severity) || !withinWeekly(quiet, at)) return undefined;
  return quiet.channels as C[];
}
