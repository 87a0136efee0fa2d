import { z } from 'zod';
import { Severity } from './status.js';
import type { CloudWatchAlarmEvent } from './cloudwatch-alarm.js';

/**
 * How an alarm is routed: its severity and its team hint, from the alarm event alone. One function
 * for both ways an alarm reaches the stream — the receiver's intake (`POST /events/cloudwatch`) and
 * the EventBridge rule (which writes the raw event, no severity) — so the same alarm gets the same
 * answer on both: the intake resolves it when it writes the record, and the paging engine resolves it
 * when it opens an incident from a record that carries none.
 *
 * Severity: the alarm's `severity` tag (key and value case-insensitive: `p1`, `Severity=P1`) >
 * SEVERITY_MAP (the exact alarm name, then the longest matching name prefix) > SEVERITY_DEFAULT. A `severity` tag
 * that is not P1..P4 (`P9`) is ignored for the severity and reported (`unknownSeverityTag`): the paging engine warns.
 * Team hint: the alarm's `team` tag (key case-insensitive); the on-call file then falls back to its
 * routes (`alarm_prefix`, `namespace`) and its default team.
 *
 * Tags are in the event only when the alarm has tag propagation enabled
 * (`ActionConfiguration.AlarmTagsPropagation.Enabled`; the CDK estate alarms enable it).
 */

/**
 * `{"alarm-name-or-prefix": "P1"}` from a JSON string; empty = `{}`. A longer key wins over a shorter matching prefix.
 */
export const SeverityMapEnv = z
  .string()
  .transform((s, ctx) => {
    if (s.trim() === '') return {};
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object' });
      return z.NEVER;
    }
  })
  .pipe(z.record(z.string().min(1), Severity, { message: 'must map alarm names or prefixes to P1..P4' }));

/**
 * The severity settings, read from the environment by the receiver AND the paging processor (same
 * names, same defaults: `.env.example`). Extend a service's config schema with `.extend(SeverityEnvShape)`.
 */
export const SeverityEnvShape = {
  SEVERITY_DEFAULT: Severity.default('P2'),
  SEVERITY_MAP: SeverityMapEnv.default({}),
};
export const SeveritySettingsSchema = z.object(SeverityEnvShape);
export type SeveritySettings = z.infer<typeof SeveritySettingsSchema>;

export const DEFAULT_SEVERITY_SETTINGS: SeveritySettings = { SEVERITY_DEFAULT: 'P2', SEVERITY_MAP: {} };

/** A tag's value by key, the key matched case-insensitively (an exact match first); trimmed, empty = none. */
export function alarmTag(tags: Record<string, string> | undefined, key: string): string | undefined {
  if (!tags) return undefined;
  let value = Object.hasOwn(tags, key) ? tags[key] : undefined;
  if (value === undefined) {
    const lower = key.toLowerCase();
    const found = Object.keys(tags).find((k) => k.toLowerCase() === lower);
    value = found === undefined ? undefined : tags[found];
  }
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/** The alarm's `severity` tag as a Severity (`p1` = P1), or undefined when absent or not P1..P4. */
export function taggedSeverity(tags: Record<string, string> | undefined): Severity | undefined {
  return Severity.safeParse(alarmTag(tags, 'severity')?.toUpperCase()).data;
}

/**
 * The alarm's `severity` tag when it is present but not P1..P4 (`P9`, `critical`): such a tag is ignored (the alarm
 * gets its SEVERITY_MAP entry or SEVERITY_DEFAULT) and the paging engine warns about it. Undefined otherwise.
 */
export function unknownSeverityTag(tags: Record<string, string> | undefined): string | undefined {
  const value = alarmTag(tags, 'severity');
  return value !== undefined && taggedSeverity(tags) === undefined ? value : undefined;
}

export interface AlarmIdentity {
  alarmName: string;
  tags?: Record<string, string>;
}

/** Severity: the `severity` tag > SEVERITY_MAP (exact name, then the longest prefix) > SEVERITY_DEFAULT. */
export function resolveSeverity(
  alarm: AlarmIdentity,
  settings: SeveritySettings = DEFAULT_SEVERITY_SETTINGS,
): Severity {
  const tagged = taggedSeverity(alarm.tags);
  if (tagged) return tagged;
  const map = settings.SEVERITY_MAP;
  const name = alarm.alarmName;
  if (Object.hasOwn(map, name)) return map[name];
  let best: string | undefined;
  for (const prefix of Object.keys(map))
    if (name.startsWith(prefix) && (best === undefined || prefix.length > best.length)) best = prefix;
  return best !== undefined ? map[best] : settings.SEVERITY_DEFAULT;
}

export interface AlarmRouting {
  severity: Severity;
  /** The alarm's `team` tag, if any (the on-call file decides whether it names a team). */
  team?: string;
  /** The alarm's `severity` tag when it is not P1..P4 (ignored for `severity`; see unknownSeverityTag). */
  unknownSeverityTag?: string;
}

/** Severity and team hint of a CloudWatch alarm event. */
export function routeAlarm(
  event: CloudWatchAlarmEvent,
  settings: SeveritySettings = DEFAULT_SEVERITY_SETTINGS,
): AlarmRouting {
  const tags = event.detail.alarmTags;
  const team = alarmTag(tags, 'team');
  const unknown = unknownSeverityTag(tags);
  return {
    severity: resolveSeverity({ alarmName: event.detail.alarmName, tags }, settings),
    ...(team ? { team } : {}),
    ...(unknown ? { unknownSeverityTag: unknown } : {}),
  };
}
