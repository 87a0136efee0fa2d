import type { OnCallConfig } from '../../../schemas/oncall/config.js';
import type { IcalCalendar } from '../../../shared/schedules/ical.js';
import { onCallAt, resolveLevel, type OnCall } from '../../../shared/schedules/resolve.js';
import { shiftsOf } from '../../../shared/schedules/shifts.js';
import { NotFoundError } from './errors.js';

/**
 * Who is on call, from the on-call file and the same resolver the pager uses (shared/schedules: overrides, layers,
 * restrictions, iCalendar feeds, DST): now or at any time, per schedule and per team's escalation level, and a
 * schedule's shifts over a range — each with why (the layer or the override).
 */
const iso = (ms: number) => new Date(ms).toISOString();

function why(o: OnCall | undefined) {
  if (!o) return { person: null };
  return { person: o.person, layer: String(o.layer), source: o.source, ...(o.override ? { override: true } : {}) };
}

export function onCallAnswer(cfg: OnCallConfig, at: number, calendars: ReadonlyMap<string, IcalCalendar>) {
  const ctx = { people: cfg.people, calendars };
  const name = (p: string | null) => (p && cfg.people[p]?.name ? { person_name: cfg.people[p].name } : {});
  const schedules = Object.entries(cfg.schedules).map(([id, schedule]) => {
    const who = why(onCallAt(schedule, at, ctx));
    return { schedule: id, time_zone: schedule.time_zone, ...who, ...name(who.person) };
  });
  const teams = Object.entries(cfg.teams).flatMap(([team, def]) =>
    Object.entries(def.escalation).flatMap(([severity, policy]) =>
      (policy?.levels ?? []).map((level, i) => ({
        team,
        severity,
        level: i + 1,
        people: resolveLevel(cfg, level, at, calendars).map((r) => ({
          person: r.person,
          ...name(r.person),
          target: r.target,
          ...(r.schedule
            ? {
                schedule: r.schedule.id,
                layer: String(r.schedule.layer),
                ...(r.schedule.override ? { override: true } : {}),
              }
            : {}),
        })),
      })),
    ),
  );
  return { at: iso(at), schedules, teams };
}

export function shiftsAnswer(
  cfg: OnCallConfig,
  id: string,
  from: number,
  to: number,
  calendars: ReadonlyMap<string, IcalCalendar>,
) {
  const schedule = cfg.schedules[id];
  if (!schedule) throw new NotFoundError(`schedule ${id}`);
  const shifts = shiftsOf(schedule, from, to, { people: cfg.people, calendars }).map((s) => {
    const who = why(s.who);
    return {
      from: iso(s.from),
      to: iso(s.to),
      ...who,
      ...(who.person && cfg.people[who.person]?.name ? { person_name: cfg.people[who.person].name } : {}),
    };
  });
  return { schedule: id, time_zone: schedule.time_zone, from: iso(from), to: iso(to), shifts };
}
