import type { Schedule } from '../../schemas/oncall/schedule.js';
import { layerChanges } from './coverage.js';
import { type OnCall, onCallAt, type ResolveContext } from './resolve.js';

/**
 * A schedule's shifts over a time range, from the same resolution the pager and `make oncall` use (resolve.ts
 * `onCallAt`: overrides, layers, restrictions, iCalendar events, DST), asked at every instant the answer can change
 * (coverage.ts `layerChanges`, override edges, whole hours). Pure: the callers drive it with any clock.
 * Used by the drill planner (processors/paging/drills/plan.ts) and the report's reachability section
 * (analysis/report/reachability.ts).
 */

const HOUR = 3_600_000;

/** The instants in [from, to) at which `schedule`'s answer may change, in order (`from` first). */
function changePoints(schedule: Schedule, from: number, to: number, ctx: ResolveContext): number[] {
  const points = new Set<number>([from]);
  for (const o of schedule.overrides) points.add(Date.parse(o.from)).add(Date.parse(o.to));
  for (const layer of schedule.layers)
    for (const at of layerChanges(layer, from, to, schedule.time_zone, ctx)) points.add(at);
  for (let at = Math.ceil(from / HOUR) * HOUR; at < to; at += HOUR) points.add(at);
  return [...points].filter((t) => t >= from && t < to).sort((a, b) => a - b);
}

export interface Handoff {
  /** The new shift's start (epoch ms). */
  at: number;
  person: string;
}

/** The hand-offs of `schedule` in [from, to): each instant someone (else) comes on call, with who. */
export function handoffsOf(schedule: Schedule, from: number, to: number, ctx: ResolveContext): Handoff[] {
  const out: Handoff[] = [];
  let previous = onCallAt(schedule, from - 1, ctx)?.person;
  for (const at of changePoints(schedule, from, to, ctx)) {
    const person = onCallAt(schedule, at, ctx)?.person;
    if (person !== undefined && person !== previous) out.push({ at, person });
    previous = person;
  }
  return out;
}

/** A stretch of a schedule with one answer: who (none: nobody on call) and why (the layer or override). */
export interface Shift {
  /** [from, to) in epoch ms, clipped to the range asked about. */
  from: number;
  to: number;
  /** Who is on call, and which layer or override says so; undefined: nobody. */
  who?: OnCall;
  /**
   * When this person's time on call began (the hand-off a drill is planned for: `handoffsOf`), which is earlier than
   * `from` when the same person stays on under another layer or an override, or before the range; undefined when that
   * lies more than `lookBackMs` before the range.
   */
  handoffAt?: number;
}

/**
 * `schedule`'s shifts over [from, to): one per stretch with the same person and the same layer or override, gaps
 * (nobody on call) included. Looks `lookBackMs` back (default 7 days) to find when the first person came on call.
 */
export function shiftsOf(
  schedule: Schedule,
  from: number,
  to: number,
  ctx: ResolveContext,
  lookBackMs = 7 * 24 * HOUR,
): Shift[] {
  const start = from - lookBackMs;
  const points = changePoints(schedule, start, to, ctx);
  const same = (a?: OnCall, b?: OnCall) =>
    a?.person === b?.person && a?.layer === b?.layer && a?.source === b?.source && a?.override === b?.override;
  const out: Shift[] = [];
  let handoffAt: number | undefined;
  let previous = onCallAt(schedule, start - 1, ctx);
  for (const [i, at] of points.entries()) {
    const who = onCallAt(schedule, at, ctx);
    const end = points[i + 1] ?? to;
    if (who?.person !== previous?.person) handoffAt = at;
    previous = who;
    if (end <= from) continue;
    const last = out.at(-1);
    if (last && same(last.who, who)) last.to = end;
    else out.push({ from: Math.max(at, from), to: end, ...(who ? { who } : {}), ...(who ? { handoffAt } : {}) });
  }
  return out;
}
