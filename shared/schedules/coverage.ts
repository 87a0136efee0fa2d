import { DateTime } from 'luxon';
import type { Layer, Schedule } from '../../schemas/oncall/schedule.js';
import { icalSpans } from './ical.js';
import { firstHandoff, type OnCall, onCallAt, type ResolveContext, shiftIndexAt, times, unitOf } from './resolve.js';

/**
 * Who a schedule has on call over a time range, from the same resolution `make oncall` and the pager use (resolve.ts
 * `onCallAt`), asked at every instant the answer can change: override edges, rotation hand-offs (the first one starts
 * the rotation), restriction windows opening and closing on the zone's wall clock, iCalendar events' starts and ends,
 * and every whole hour (which also catches a restriction edge that a DST change moves). Between two such instants the
 * answer holds.
 */
export interface Coverage {
  /** Uncovered spans [start, end) in epoch ms, clipped to the range, in order. */
  gaps: { start: number; end: number }[];
  /** Everyone on call at some time in the range. */
  people: Set<string>;
}

const HOUR = 3_600_000;
const SHORT = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** Instants in (from, to) at which a layer's answer may change. */
export function layerChanges(layer: Layer, from: number, to: number, zone: string, ctx: ResolveContext): number[] {
  const out: number[] = [];
  if ('ical' in layer) {
    const cal = ctx.calendars?.get(layer.ical);
    if (cal) for (const s of icalSpans(cal, to, zone)) if (s.end > from && s.start < to) out.push(s.start, s.end);
    return out;
  }
  const first = firstHandoff(layer, zone);
  const { step } = unitOf(layer);
  for (let k = shiftIndexAt(layer, from, zone) ?? 0; ; k++) {
    const at = first.plus(times(step, k)).toMillis();
    if (at >= to) break;
    out.push(at);
  }
  // the wall-clock `hhmm` on `day` (`set` keeps the wall clock across a DST change, as withinRestrictions reads it)
  const wall = (day: DateTime, hhmm: string) =>
    day.set({ hour: Number(hhmm.slice(0, 2)), minute: Number(hhmm.slice(3)) }).toMillis();
  const lastDay = DateTime.fromMillis(to, { zone }).startOf('day');
  for (let day = DateTime.fromMillis(from, { zone }).startOf('day').minus({ days: 1 }); day <= lastDay; ) {
    for (const r of layer.restrictions ?? []) {
      if (!r.days.includes(SHORT[day.weekday - 1])) continue;
      out.push(wall(day, r.from), wall(r.to <= r.from ? day.plus({ days: 1 }) : day, r.to));
    }
    day = day.plus({ days: 1 });
  }
  return out;
}

/** Who `schedule` has on call over [from, to), and when it has nobody (see `Coverage`). */
export function coverageOf(schedule: Schedule, from: number, to: number, ctx: ResolveContext): Coverage {
  const points = new Set<number>([from]);
  for (const o of schedule.overrides) points.add(Date.parse(o.from)).add(Date.parse(o.to));
  for (const layer of schedule.layers)
    for (const at of layerChanges(layer, from, to, schedule.time_zone, ctx)) points.add(at);
  for (let at = Math.ceil(from / HOUR) * HOUR; at < to; at += HOUR) points.add(at);
  const sorted = [...points].filter((t) => t >= from && t < to).sort((a, b) => a - b);
  const gaps: Coverage['gaps'] = [];
  const people = new Set<string>();
  sorted.forEach((at, i) => {
    const who: OnCall | undefined = onCallAt(schedule, at, ctx);
    if (who) {
      people.add(who.person);
      return;
    }
    const end = sorted[i + 1] ?? to;
    const last = gaps[gaps.length - 1];
    if (last && last.end === at) last.end = end;
    else gaps.push({ start: at, end });
  });
  return { gaps, people };
}
