import { DateTime, type DurationLikeObject } from 'luxon';
import type { OnCallConfig, Level } from '../../schemas/oncall/config.js';
import { icalPersonAt, type IcalCalendar } from './ical.js';
import type { Layer, Restriction, RotationLayer, Schedule } from '../../schemas/oncall/schedule.js';

/** What the resolver needs besides the schedule: the people (to read iCalendar events) and the loaded feeds. */
export interface ResolveContext {
  readonly people: OnCallConfig['people'];
  /** Parsed iCalendar layers by their `ical` source (see loadIcalFeeds); a missing one has nobody. */
  readonly calendars?: ReadonlyMap<string, IcalCalendar>;
}

export interface OnCall {
  person: string;
  /** The layer's `name`, else its index (top layer 0); for an override, the override's index. */
  layer: number | string;
  override?: true;
  source: 'override' | 'rotation' | 'ical';
}

const epoch = (at: Date | number) => (typeof at === 'number' ? at : at.getTime());

/**
 * Who is on call in `schedule` at `at`: the last matching override, else the first layer (top first) that has someone.
 */
export function onCallAt(schedule: Schedule, at: Date | number, ctx: ResolveContext): OnCall | undefined {
  const t = epoch(at);
  for (let i = schedule.overrides.length - 1; i >= 0; i--) {
    const o = schedule.overrides[i];
    if (Date.parse(o.from) <= t && t < Date.parse(o.to))
      return { person: o.person, layer: i, override: true, source: 'override' };
  }
  for (const [i, layer] of schedule.layers.entries()) {
    const person = layerPersonAt(layer, t, schedule.time_zone, ctx);
    if (person) return { person, layer: layer.name ?? i, source: 'ical' in layer ? 'ical' : 'rotation' };
  }
  return undefined;
}

export function layerPersonAt(layer: Layer, at: number, zone: string, ctx: ResolveContext): string | undefined {
  if ('ical' in layer) {
    const cal = ctx.calendars?.get(layer.ical);
    return cal ? icalPersonAt(cal, at, zone, ctx) : undefined;
  }
  return rotationPersonAt(layer, at, zone);
}

const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
const SHORT = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** The first hand-off of a rotation: `start` at `handoff` (weekly: the first `handoff_day` on or after `start`). */
export function firstHandoff(layer: RotationLayer, zone: string): DateTime {
  const [hour, minute] = layer.handoff.split(':').map(Number);
  let first = DateTime.fromISO(layer.start, { zone }).set({ hour, minute, second: 0, millisecond: 0 });
  if (layer.rotation === 'weekly' && layer.handoff_day) {
    const want = WEEKDAYS.indexOf(layer.handoff_day) + 1;
    first = first.plus({ days: (want - first.weekday + 7) % 7 }).set({ hour, minute });
  }
  return first;
}

/** A rotation's shift length: a luxon step (wall clock for days and weeks) and its approximate length in ms. */
export const unitOf = (layer: RotationLayer): { step: DurationLikeObject; approxMs: number } =>
  layer.rotation === 'daily'
    ? { step: { days: 1 }, approxMs: 86_400_000 }
    : layer.rotation === 'weekly'
      ? { step: { weeks: 1 }, approxMs: 7 * 86_400_000 }
      : { step: { hours: layer.rotation.hours }, approxMs: layer.rotation.hours * 3_600_000 };

/** `step` taken `k` times. */
export const times = (step: DurationLikeObject, k: number): DurationLikeObject =>
  Object.fromEntries(Object.entries(step).map(([u, v]) => [u, (v as number) * k]));

/**
 * The shift index at `at` (0 = the first shift), or undefined before the rotation starts. Days and
 * weeks are counted on the zone's wall clock (a 09:00 hand-off stays at 09:00 across DST; the wall
 * time a spring-forward skips moves to the next valid instant); `{hours}` counts elapsed time.
 */
export function shiftIndexAt(layer: RotationLayer, at: number, zone: string): number | undefined {
  const first = firstHandoff(layer, zone);
  if (at < first.toMillis()) return undefined;
  const { step, approxMs } = unitOf(layer);
  let k = Math.floor((at - first.toMillis()) / approxMs);
  while (k > 0 && first.plus(times(step, k)).toMillis() > at) k--;
  while (first.plus(times(step, k + 1)).toMillis() <= at) k++;
  return k;
}

/** Whether `at` lies in one of the windows (a window whose `to` <= `from` runs past midnight into the next day). */
export function withinRestrictions(restrictions: readonly Restriction[], at: number, zone: string): boolean {
  const local = DateTime.fromMillis(at, { zone });
  const minute = local.hour * 60 + local.minute;
  const today = SHORT[local.weekday - 1];
  const yesterday = SHORT[(local.weekday + 5) % 7];
  const mins = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));
  return restrictions.some((r) => {
    const from = mins(r.from);
    const to = mins(r.to);
    if (from < to) return r.days.includes(today) && minute >= from && minute < to;
    return (r.days.includes(today) && minute >= from) || (r.days.includes(yesterday) && minute < to);
  });
}

export function rotationPersonAt(layer: RotationLayer, at: number, zone: string): string | undefined {
  if (layer.restrictions && !withinRestrictions(layer.restrictions, at, zone)) return undefined;
  const k = shiftIndexAt(layer, at, zone);
  return k === undefined ? undefined : layer.participants[k % layer.participants.length];
}

/** A person a target resolved to, and why (for a schedule: which one, which layer, whether an override). */
export interface ResolvedPerson {
  person: string;
  target: string;
  schedule?: { id: string } & OnCall;
}

/**
 * The people one level target pages at `at`: a person id, `team:<id>` (every member) or
 * `schedule:<id>` (whoever is on call then; nobody when the schedule has no one).
 */
export function resolveTargets(
  cfg: OnCallConfig,
  target: string,
  at: Date | number,
  calendars?: ReadonlyMap<string, IcalCalendar>,
): ResolvedPerson[] {
  if (target.startsWith('team:'))
    return (cfg.teams[target.slice(5)]?.members ?? []).map((person) => ({ person, target }));
  if (target.startsWith('schedule:')) {
    const id = target.slice(9);
    const schedule = cfg.schedules[id];
    const who = schedule && onCallAt(schedule, at, { people: cfg.people, calendars });
    return who ? [{ person: who.person, target, schedule: { id, ...who } }] : [];
  }
  return [{ person: target, target }];
}

/** The people a level (or fallback) pages at `at`, each once, in target order, with why. */
export function resolveLevel(
  cfg: OnCallConfig,
  level: Pick<Level, 'targets'>,
  at: Date | number,
  calendars?: ReadonlyMap<string, IcalCalendar>,
): ResolvedPerson[] {
  const out: ResolvedPerson[] = [];
  for (const t of level.targets)
    for (const r of resolveTargets(cfg, t, at, calendars)) if (!out.some((o) => o.person === r.person)) out.push(r);
  return out;
}
