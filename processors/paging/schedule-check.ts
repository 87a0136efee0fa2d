import { DateTime } from 'luxon';
import { type OnCallConfig, type PageChannel, levelPeople } from '../../schemas/oncall/config.js';
import type { RoutingFindings } from './routing-check.js';
import { coverageOf } from '../../shared/schedules/coverage.js';
import type { IcalCalendar } from '../../shared/schedules/ical.js';

/**
 * What `make oncall-check` says about schedules and addresses (alongside routing-check.ts), as warnings and errors:
 *
 * - warning: a schedule has nobody on call for a span in the next `weeks` (from `at`), computed by the resolution the
 *   pager uses (schedules/coverage.ts); each gap with its start and end in the schedule's time zone, at most
 *   `MAX_GAPS` per schedule then a count. A level naming that schedule pages nobody through it then.
 * - warning: a person a level pages (directly, as a team member or as someone a schedule can put on call) lacks an
 *   address on some of its channels (they are paged on the others); the same for a fallback's targets.
 * - error: such a person has no address on any of an escalation level's channels: the level never reaches them.
 */
export interface ScheduleCheckOptions {
  /** Start of the range checked (epoch ms). */
  at: number;
  /** Weeks checked from `at`. Default 2. */
  weeks?: number;
  /** The file's loaded iCalendar layers (schedules/ical-feed.ts). */
  calendars?: ReadonlyMap<string, IcalCalendar>;
}

export const MAX_GAPS = 5;
const WEEK_MS = 7 * 86_400_000;

const some = (items: string[], n = 3) =>
  items.length <= n ? items.join(', ') : `${items.slice(0, n).join(', ')} and ${items.length - n} more`;

const duration = (ms: number) => {
  const m = Math.round(ms / 60_000);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}`;
};

export function scheduleFindings(cfg: OnCallConfig, file: string, opts: ScheduleCheckOptions): RoutingFindings {
  const errors: string[] = [];
  const warnings: string[] = [];
  const weeks = opts.weeks ?? 2;
  const from = opts.at;
  const to = from + weeks * WEEK_MS;
  const ctx = { people: cfg.people, calendars: opts.calendars };
  const members = new Map<string, Set<string>>();
  for (const [id, schedule] of Object.entries(cfg.schedules)) {
    const { gaps, people } = coverageOf(schedule, from, to, ctx);
    for (const layer of schedule.layers) if ('participants' in layer) for (const p of layer.participants) people.add(p);
    for (const o of schedule.overrides) people.add(o.person);
    members.set(id, people);
    const local = (ms: number) =>
      DateTime.fromMillis(ms, { zone: schedule.time_zone }).setLocale('en').toFormat('ccc yyyy-MM-dd HH:mm');
    const range = `in the ${weeks} week${weeks === 1 ? '' : 's'} from ${local(from)} ${schedule.time_zone}`;
    for (const g of gaps.slice(0, MAX_GAPS))
      warnings.push(
        `${file}: schedules.${id}: nobody on call ${local(g.start)} → ${local(g.end)} ${schedule.time_zone} ` +
          `(${duration(g.end - g.start)})`,
      );
    if (gaps.length > MAX_GAPS)
      warnings.push(
        `${file}: schedules.${id}: ${gaps.length - MAX_GAPS} more gaps ${range} ` +
          `(${gaps.length} in all, ${duration(gaps.reduce((n, g) => n + g.end - g.start, 0))} uncovered)`,
      );
  }

  /** Each person a target list pages, with how (`bob`, `bob (team:x)`, `bob (schedule:s)`). */
  const reached = (targets: readonly string[]): [string, string][] =>
    targets.flatMap((t): [string, string][] =>
      t.startsWith('schedule:')
        ? [...(members.get(t.slice(9)) ?? [])].map((p) => [p, `${p} (when on call in ${t})`])
        : levelPeople(cfg, { targets: [t] }).map((p) => [p, t === p ? p : `${p} (${t})`]),
    );
  const check = (where: string, targets: readonly string[], channels: readonly PageChannel[], level: boolean) => {
    const seen = new Set<string>();
    for (const [person, how] of reached(targets)) {
      if (seen.has(person)) continue;
      seen.add(person);
      const missing = channels.filter((c) => !cfg.people[person]?.[c]);
      if (!missing.length) continue;
      const has = channels.filter((c) => !missing.includes(c));
      if (has.length)
        warnings.push(`${file}: ${where}: ${how} has no ${some(missing)} address: paged on ${some(has)} only`);
      else if (level)
        errors.push(`${file}: ${where}: ${how} has no ${some(missing)} address: this level never reaches them`);
      else warnings.push(`${file}: ${where}: ${how} has no ${some(missing)} address: never paged by it`);
    }
  };
  for (const [team, def] of Object.entries(cfg.teams)) {
    const policies = [
      ...Object.entries(def.escalation).map(([sev, p]) => [`teams.${team}.escalation.${sev}`, p] as const),
      [`teams.${team}.default_policy`, def.default_policy] as const,
    ];
    for (const [path, policy] of policies) {
      policy?.levels.forEach((l, i) => {
        check(`${path}.levels[${i}]`, l.targets, l.channels, true);
      });
      if (policy?.fallback) check(`${path}.fallback`, policy.fallback.targets, policy.fallback.channels, false);
    }
  }
  if (cfg.unrouted_fallback)
    check('unrouted_fallback', cfg.unrouted_fallback.targets, cfg.unrouted_fallback.channels, false);
  return { errors, warnings };
}
