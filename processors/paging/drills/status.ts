import { DateTime } from 'luxon';
import { drillId } from '../../../schemas/drill-record.js';
import type { OnCallConfig } from '../../../schemas/oncall/config.js';
import type { DrillState } from '../incident-state.js';
import type { IcalCalendar } from '../../../shared/schedules/ical.js';
import { handoffsOf } from '../../../shared/schedules/shifts.js';

/**
 * "Reachable / not proven / unreachable" for the coming shifts (`make oncall`), from the latest drill results.
 *
 * Where the results are read: the paging state in DynamoDB (INCIDENTS_TABLE), the drills' own items, found by their
 * deterministic ids (drill-record.ts `drillId`: schedule, person, shift start) — no index, no extra write. DynamoDB
 * and not the lake: a result is there the moment the drill is decided (the lake is a flush behind), a point read
 * needs no query engine, and `make incident` already reads the paging state the same way. A drill's item is kept 7
 * days after its result (incident-store.ts), so that is how far back "the latest result" looks.
 *
 * Per shift: its own drill's result when there is one (passed → reachable, failed → unreachable, skipped or still
 * running → not proven); else the person's latest passed or failed drill of that schedule in the last 7 days; else
 * not proven.
 */
export type Reachability = 'reachable' | 'not proven' | 'unreachable';

export interface ShiftReachability {
  schedule: string;
  person: string;
  shiftStart: number;
  /** The shift is under way at the time asked about. */
  current: boolean;
  status: Reachability;
  /** Why, in words: the drill's summary and when, or what is missing. */
  why: string;
}

const DAY = 86_400_000;
/** How far back the latest result is looked for (a drill's item is kept 7 days after its result). */
export const LOOKBACK_MS = 7 * DAY;

/** The drills' states by id (missing: no item). */
export type ReadDrills = (ids: string[]) => Promise<Map<string, DrillState>>;

/**
 * The shift under way at `at` (if someone is on call) and the shifts starting within `horizonMs`, of every schedule
 * with a drill, with the hand-offs of the last 7 days (to find each person's earlier drills).
 */
function shiftsOf(cfg: OnCallConfig, at: number, horizonMs: number, calendars?: ReadonlyMap<string, IcalCalendar>) {
  const out: { schedule: string; person: string; shiftStart: number; current: boolean; earlier: number[] }[] = [];
  for (const [id, schedule] of Object.entries(cfg.schedules)) {
    if (!schedule.drill) continue;
    const ctx = { people: cfg.people, calendars };
    const past = handoffsOf(schedule, at - LOOKBACK_MS, at + 1, ctx);
    const coming = handoffsOf(schedule, at + 1, at + horizonMs, ctx);
    const earlierOf = (person: string, before: number) =>
      past.filter((h) => h.person === person && h.at < before).map((h) => h.at);
    const now = past.at(-1);
    if (now) out.push({ schedule: id, person: now.person, shiftStart: now.at, current: true, earlier: [] });
    for (const h of coming) out.push({ schedule: id, person: h.person, shiftStart: h.at, current: false, earlier: [] });
    for (const s of out) if (s.schedule === id) s.earlier = earlierOf(s.person, s.shiftStart).reverse();
  }
  return out;
}

export async function reachabilityOf(
  cfg: OnCallConfig,
  at: number,
  read: ReadDrills,
  opts: { horizonMs?: number; calendars?: ReadonlyMap<string, IcalCalendar>; timeZone?: string } = {},
): Promise<ShiftReachability[]> {
  const shifts = shiftsOf(cfg, at, opts.horizonMs ?? DAY, opts.calendars);
  const ids = shifts.flatMap((s) => [s.shiftStart, ...s.earlier].map((t) => drillId(s.schedule, s.person, t)));
  const states = ids.length ? await read([...new Set(ids)]) : new Map<string, DrillState>();
  const when = (ms: number) =>
    DateTime.fromMillis(ms, { zone: opts.timeZone ?? 'utc' }).toFormat(
      opts.timeZone ? 'yyyy-MM-dd HH:mm' : "yyyy-MM-dd HH:mm 'UTC'",
    );
  return shifts.map((s) => {
    const base = { schedule: s.schedule, person: s.person, shiftStart: s.shiftStart, current: s.current };
    const own = states.get(drillId(s.schedule, s.person, s.shiftStart));
    if (own?.outcome === 'passed') return { ...base, status: 'reachable', why: `drill passed ${when(own.decidedAt!)}` };
    if (own?.outcome === 'failed')
      return { ...base, status: 'unreachable', why: `drill failed ${when(own.decidedAt!)}: ${own.summary ?? ''}` };
    const ownNote =
      own?.outcome === 'skipped'
        ? `drill skipped (${own.summary ?? 'no reason'})`
        : own?.windowEndsAt !== undefined
          ? `drill running, proof due by ${when(own.windowEndsAt)}`
          : own?.waitingUntil !== undefined
            ? `drill waiting for quiet hours to end (${when(own.waitingUntil)})`
            : undefined;
    for (const t of s.earlier) {
      const e = states.get(drillId(s.schedule, s.person, t));
      if (e?.outcome === 'passed' || e?.outcome === 'failed') {
        const last = `last drill ${e.outcome} ${when(e.decidedAt!)}${e.outcome === 'failed' ? `: ${e.summary}` : ''}`;
        return {
          ...base,
          status: e.outcome === 'passed' ? 'reachable' : 'unreachable',
          why: ownNote ? `${ownNote}; ${last}` : last,
        };
      }
    }
    return { ...base, status: 'not proven', why: ownNote ?? 'no drill result in the last 7 days' };
  });
}

/** `make oncall`'s lines: one per shift, by schedule, the current shift first. */
export function reachabilityLines(cfg: OnCallConfig, rows: ShiftReachability[], timeZone?: string): string[] {
  if (rows.length === 0) return [];
  const named = (id: string) => {
    const name = cfg.people[id]?.name;
    return name && name !== id ? `${name} [${id}]` : id;
  };
  const lines = ['reachability (drills before each shift; latest results):'];
  for (const r of rows) {
    const zone = timeZone ?? cfg.schedules[r.schedule]?.time_zone ?? 'utc';
    const start = DateTime.fromMillis(r.shiftStart, { zone }).toFormat('yyyy-MM-dd HH:mm ZZZZ');
    lines.push(
      `  ${r.schedule} ${r.current ? 'now' : `from ${start}`}: ${named(r.person)}: ` +
        `${r.status.toUpperCase()} — ${r.why}`,
    );
  }
  return lines;
}
