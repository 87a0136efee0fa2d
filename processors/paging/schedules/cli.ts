import path from 'node:path';
import { OnCallConfigError } from '../../../schemas/oncall/errors.js';
import { loadOnCallConfig, type OnCallConfig } from '../../../schemas/oncall/config.js';
import { loadIcalFeeds } from './ical-feed.js';
import type { IcalCalendar } from './ical.js';
import { resolveLevel, type ResolvedPerson } from './resolve.js';
import { describeMatch, windowOpen, withinWeekly } from '../quiet/windows.js';
import { SeveritySettingsSchema } from '../../../schemas/alarm-routing.js';
import { routingFindings } from '../routing-check.js';

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

/**
 * `make oncall-check`: the file's problems (errors), then — for a valid file — routing (routing-check.ts: a
 * (team, severity) pair that pages a fallback is a warning, one that pages nobody an error), SEVERITY_MAP and
 * SEVERITY_DEFAULT as the services read them from `env` (invalid: an error), and unreadable iCalendar feeds
 * (warnings). Exit code 1 when there is any error, else 0; every line names the file.
 */
export async function oncallCheck(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
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
  warnings.push(...(await feedsOf(file, cfg)).warnings);
  const stderr = [...errors.map((e) => `error: ${e}`), ...warnings.map((w) => `warning: ${w}`)];
  const schedules = Object.keys(cfg.schedules).length;
  const counts = `${Object.keys(cfg.people).length} people, ${plural(Object.keys(cfg.teams).length, 'team')}, ${plural(
    schedules,
    'schedule',
  )}`;
  const tally = `${plural(errors.length, 'error')}, ${plural(warnings.length, 'warning')}`;
  if (errors.length) return { stdout: [], stderr: [...stderr, `${file}: ${tally}`], code: 1 };
  return { stdout: [`${file}: OK (${counts}; ${tally})`], stderr, code: 0 };
}

const why = (r: ResolvedPerson) =>
  r.schedule
    ? `${r.person} (schedule ${r.schedule.id}, ` +
      `${r.schedule.override ? `override ${r.schedule.layer}` : `layer ${r.schedule.layer}, ${r.schedule.source}`})`
    : r.target.startsWith('team:')
      ? `${r.person} (${r.target})`
      : r.person;

/** Who each team's levels page at `at`, as lines of text. */
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
        const who = [...people.map(why), ...unresolved.map((t) => `nobody on call in ${t}`)].join(', ');
        lines.push(
          `  ${sev} level ${i + 1}: ${who || 'nobody'}  ` +
            `[${level.channels.join(', ')}; escalates after ${level.deadline_s} s]`,
        );
      });
      if (policy.fallback)
        lines.push(
          `  ${sev} fallback: ${resolveLevel(cfg, policy.fallback, at, calendars).map(why).join(', ') || 'nobody'}`,
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
