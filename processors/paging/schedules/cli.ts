import path from 'node:path';
import { DateTime } from 'luxon';
import { OnCallConfigError } from '../../../schemas/oncall/errors.js';
import { loadOnCallConfig, type OnCallConfig } from '../../../schemas/oncall/config.js';
import { loadIcalFeeds } from '../../../shared/schedules/ical-feed.js';
import type { IcalCalendar } from '../../../shared/schedules/ical.js';
import { resolveLevel, type ResolvedPerson } from '../../../shared/schedules/resolve.js';
import { describeMatch, windowOpen, withinWeekly } from '../quiet/windows.js';
import { SeveritySettingsSchema } from '../../../schemas/alarm-routing.js';
import { routingFindings } from '../routing-check.js';
import { scheduleFindings } from '../schedule-check.js';

/** The on-call file the CLIs read: `--file`, else ONCALL_FILE, else the demo file. */
export function oncallFileOf(argv: string[], env: NodeJS.ProcessEnv = process.env): string {
  const i = argv.indexOf('--file');
  return (i >= 0 && argv[i + 1]) || env.ONCALL_FILE?.trim() || 'infra/local/oncall/demo.json';
}

/** Loads and validates the file; an invalid file gives readable lines `file: path: problem`. */
export function checkOnCallFile(file: string): { cfg?: OnCallConfig; errors: string[] } {
  try {
    return { cfg: loadOnCallConfig(file), errors: [] };
  } catch (e) {
    if (e instanceof OnCallConfigError) return { errors: e.problems.map((p) => `${e.source}: ${p}`) };
    throw e;
  }
}

/** Loads the file's iCalendar layers (relative to the file), collecting warnings as readable lines. */
export async function feedsOf(
  file: string,
  cfg: OnCallConfig,
): Promise<{ calendars: Map<string, IcalCalendar>; warnings: string[] }> {
  const warnings: string[] = [];
  const calendars = await loadIcalFeeds(cfg, {
    baseDir: path.dirname(file),
    onWarning: (w) =>
      warnings.push(
        `${file}: iCalendar ${w.source}: cannot be read (${w.error}); ` +
          `${w.usedCache ? 'using its last good copy' : 'no copy kept: its layer has nobody'}`,
      ),
  });
  return { calendars, warnings };
}

/** When `make oncall-check` looks: schedules are checked over `weeks` weeks (default 2) from `at` (default now). */
export interface OncallCheckOptions {
  at?: number;
  weeks?: number;
}

/**
 * `make oncall-check`: the file's problems (errors; a JSON syntax error as `line:column`), then, for a valid file,
 * routing (routing-check.ts: a (team, severity) pair that pages a fallback is a warning, one that pages nobody an
 * error), SEVERITY_MAP and SEVERITY_DEFAULT as the services read them from `env` (invalid: an error), unreadable
 * iCalendar feeds (warnings), and schedules and addresses (schedule-check.ts: coverage gaps in the next `weeks` and
 * channels a paged person has no address for are warnings; a level that can reach a person on none of its channels is
 * an error). Exit code 1 when there is any error, else 0; every line names the file.
 */
export async function oncallCheck(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  options: OncallCheckOptions = {},
): Promise<{ stdout: string[]; stderr: string[]; code: 0 | 1 }> {
  const { cfg, errors } = checkOnCallFile(file);
  const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  if (!cfg) return { stdout: [], stderr: [...errors, `${plural(errors.length, 'problem')} in ${file}`], code: 1 };
  const warnings: string[] = [];
  const severity = SeveritySettingsSchema.safeParse({
    SEVERITY_DEFAULT: env.SEVERITY_DEFAULT?.trim() || undefined,
    SEVERITY_MAP: env.SEVERITY_MAP,
  });
  if (!severity.success)
    for (const i of severity.error.issues) errors.push(`${i.path.join('.') || 'severity'}: ${i.message}`);
  else {
    const routing = routingFindings(cfg, severity.data, file);
    errors.push(...routing.errors);
    warnings.push(...routing.warnings);
  }
  const feeds = await feedsOf(file, cfg);
  warnings.push(...feeds.warnings);
  const schedules = scheduleFindings(cfg, file, {
    at: options.at ?? Date.now(),
    weeks: options.weeks,
    calendars: feeds.calendars,
  });
  errors.push(...schedules.errors);
  warnings.push(...schedules.warnings);
  const stderr = [...errors.map((e) => `error: ${e}`), ...warnings.map((w) => `warning: ${w}`)];
  const counts = `${Object.keys(cfg.people).length} people, ${plural(Object.keys(cfg.teams).length, 'team')}, ${plural(
    Object.keys(cfg.schedules).length,
    'schedule',
  )}`;
  const tally = `${plural(errors.length, 'error')}, ${plural(warnings.length, 'warning')}`;
  if (errors.length) return { stdout: [], stderr: [...stderr, `${file}: ${tally}`], code: 1 };
  return { stdout: [`${file}: OK (${counts}; ${tally})`], stderr, code: 0 };
}

/** The time zones the file's schedules, quiet hours and recurring maintenance windows are written in, in order. */
export function fileTimeZones(cfg: OnCallConfig): string[] {
  const zones = [
    ...Object.values(cfg.schedules).map((s) => s.time_zone),
    ...Object.values(cfg.teams).map((t) => t.quiet_hours?.time_zone),
    ...cfg.maintenance.map((w) => w.recurrence?.time_zone),
  ];
  return [...new Set(zones.filter((z): z is string => z !== undefined))];
}

/** The instant `make oncall` reports on, how to show it, and what to tell the user about how AT was read. */
export interface OnCallTime {
  at: number;
  /** `at` as ISO 8601 in the zone it was read in (or UTC). */
  shown: string;
  /** A line for stderr when AT had no offset (how it was read), else undefined. */
  note?: string;
}

const HAS_OFFSET = /T.*(Z|[+-]\d{2}(:?\d{2})?)$/i;

/**
 * `AT` (ISO 8601; `now` or empty = `now`) → the instant. A time with an offset (`Z`, `+01:00`) is that instant. One
 * without is read in the on-call file's time zone when the file is written in one (its schedules, quiet hours and
 * recurring maintenance windows), and the note says so; a file with several or none is read as UTC, and the note
 * warns and asks for an offset. `now` is passed in (tests control it). Throws an Error for anything else.
 */
export function onCallTime(raw: string | undefined, cfg: OnCallConfig, now: number): OnCallTime {
  const zones = fileTimeZones(cfg);
  const fileZone = zones.length === 1 ? zones[0] : undefined;
  const text = raw?.trim() ?? '';
  if (text === '' || text === 'now') {
    const t = DateTime.fromMillis(now, { zone: fileZone ?? 'utc' });
    return { at: now, shown: t.toISO() ?? new Date(now).toISOString() };
  }
  const offset = HAS_OFFSET.test(text);
  const zone = offset ? 'utc' : (fileZone ?? 'utc');
  const t = DateTime.fromISO(text, { zone, setZone: offset });
  if (!t.isValid)
    throw new Error(`AT="${text}" is not a time (use ISO 8601 with an offset, e.g. 2026-12-24T20:00:00+01:00)`);
  const shown = t.toISO() ?? '';
  if (offset) return { at: t.toMillis(), shown };
  const note = fileZone
    ? `AT=${text} has no offset: read as ${fileZone} time, the on-call file's time zone (${shown})`
    : `warning: AT=${text} has no offset and the on-call file is written in ` +
      `${zones.length ? `several time zones (${zones.join(', ')})` : 'no time zone'}: read as UTC (${shown}); ` +
      'add an offset, e.g. 2026-12-24T20:00:00+01:00';
  return { at: t.toMillis(), shown, note };
}

/** A person's name, with their id (the file's key) when it says something the name does not. */
const named = (cfg: OnCallConfig, id: string) => {
  const name = cfg.people[id]?.name;
  return name && name !== id ? `${name} [${id}]` : id;
};

const why = (cfg: OnCallConfig, r: ResolvedPerson) =>
  r.schedule
    ? `${named(cfg, r.person)} (schedule ${r.schedule.id}, ` +
      `${r.schedule.override ? `override ${r.schedule.layer}` : `layer ${r.schedule.layer}, ${r.schedule.source}`})`
    : r.target.startsWith('team:')
      ? `${named(cfg, r.person)} (${r.target})`
      : named(cfg, r.person);

/** Who each team's levels page at `at`, as lines of text: people by name, their id in brackets (`Dave Kim [dave]`). */
export function onCallReport(cfg: OnCallConfig, at: number, calendars: ReadonlyMap<string, IcalCalendar>): string[] {
  const lines: string[] = [];
  for (const [team, def] of Object.entries(cfg.teams)) {
    lines.push(`${team}`);
    const quiet = def.quiet_hours;
    if (quiet && withinWeekly(quiet, at))
      lines.push(`  quiet hours now: ${quiet.severities.join('/')} by ${quiet.channels.join(', ')} only`);
    for (const [sev, policy] of Object.entries(def.escalation)) {
      if (!policy) continue;
      policy.levels.forEach((level, i) => {
        const people = resolveLevel(cfg, level, at, calendars);
        const unresolved = level.targets.filter(
          (t) => t.startsWith('schedule:') && !people.some((p) => p.target === t),
        );
        const who = [...people.map((r) => why(cfg, r)), ...unresolved.map((t) => `nobody on call in ${t}`)].join(', ');
        lines.push(
          `  ${sev} level ${i + 1}: ${who || 'nobody'}  ` +
            `[${level.channels.join(', ')}; escalates after ${level.deadline_s} s]`,
        );
      });
      if (policy.fallback)
        lines.push(
          `  ${sev} fallback: ${
            resolveLevel(cfg, policy.fallback, at, calendars)
              .map((r) => why(cfg, r))
              .join(', ') || 'nobody'
          }`,
        );
    }
  }
  const open = cfg.maintenance.filter((w) => windowOpen(w, at));
  lines.push(
    open.length ? `maintenance in force (alarms recorded as suppressed, not paged):` : 'maintenance in force: none',
  );
  for (const w of open) lines.push(`  ${w.name}: ${describeMatch(w)}`);
  return lines;
}
