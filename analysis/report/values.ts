/** Reading query answers (engine-independent) and writing times for people. */
import { clock } from './timeline-format.js';
import { rowObjects, toEpochMs } from './timeline.js';

/** Epoch ms of a timestamp cell as any engine answers it (timeline.ts `toEpochMs`), undefined for null. */
export const toMs = (v: unknown): number | undefined => toEpochMs(v) ?? undefined;

export const toNum = (v: unknown): number | undefined =>
  v === null || v === undefined || v === '' ? undefined : Number(v);
export const toStr = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : String(v));

/** The rows of a query answer as objects keyed by column name. */
export const records = rowObjects;

/** `2026-11-27 23:50:03` in the time zone (no zone suffix: the report says the zone once). */
export function formatTime(ms: number | undefined, timeZone: string): string {
  if (ms === undefined) return '—';
  const c = clock(timeZone);
  return `${c.day(ms)} ${c.time(ms)}`;
}

export { formatDuration } from './duration.js';

/** Percentile by linear interpolation between closest ranks (as DuckDB's quantile_cont). */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const pos = (sorted.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
