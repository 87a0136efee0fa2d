import path from 'node:path';
import { OnCallConfigError } from '../../../schemas/oncall/errors.js';
import { loadOnCallConfig, type OnCallConfig } from '../../../schemas/oncall/config.js';
import { loadIcalFeeds } from './ical-feed.js';
import type { IcalCalendar } from './ical.js';
import { resolveLevel, type ResolvedPerson } from './resolve.js';
import { describeMatch, windowOpen, withinWeekly } from '../quiet/windows.js';

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
