import { lakeFreshness, type LakeFreshness } from '../query/freshness.js';
import type { LakeCache } from '../query/lake-cache.js';
import { clock } from './timeline-format.js';
import { formatDuration } from './values.js';

/**
 * How old the lake data a timeline or a report shows is: the lake's newest flush (the lake holds nothing
 * that arrived after it), and whether S3 answered or the local cache did (S3 unreachable; the same
 * `LakeCache.offline` state `make query` reports). A flush writes only a shard that had records, so an
 * idle shard never makes the lake look older than it is.
 */
export interface DataAge {
  /** The newest flush of any shard (epoch ms); undefined when the lake has none yet. */
  asOf?: number;
  /** When the age was taken (epoch ms). */
  now: number;
  /** The lake was read from the local cache: why S3 did not answer, the cache, and its listing's time. */
  offline?: { reason: string; cacheDir: string; listedAt: number; missing?: number };
}

/** The age from the lake's freshness (analysis/query/freshness.ts) at `now`. */
export function dataAgeOf(
  f: LakeFreshness,
  now: number,
  offline?: { reason: string; cacheDir: string; missing?: number },
): DataAge {
  const flushes = f.shards.map((s) => Date.parse(s.flushedAt)).filter((ms) => !Number.isNaN(ms));
  return {
    ...(flushes.length ? { asOf: Math.max(...flushes) } : {}),
    now,
    ...(offline || f.fromCache
      ? {
          offline: {
            reason: offline?.reason ?? 'unreachable',
            cacheDir: offline?.cacheDir ?? '',
            listedAt: Date.parse(f.listedAt),
            ...(offline?.missing ? { missing: offline.missing } : {}),
          },
        }
      : {}),
  };
}

/** The age of what `cache` reads (lists `raw/`: the cache's saved listing when S3 is down). */
export async function readDataAge(cache: LakeCache, now: () => number, missing?: () => number): Promise<DataAge> {
  const f = await lakeFreshness(cache);
  const offline = cache.offline
    ? { reason: cache.offline.reason, cacheDir: cache.dir, missing: missing?.() }
    : undefined;
  return dataAgeOf(f, now(), offline);
}

/** `12:03:04 UTC`, with its day when that is not the day of `now`. */
function when(ms: number, now: number, timeZone: string): string {
  const c = clock(timeZone);
  return `${c.day(ms) === c.day(now) ? '' : `${c.day(ms)} `}${c.time(ms)} ${timeZone}`;
}

/**
 * One line: `lake data as of 12:03:04 UTC, 26 s ago`, or `lake data: nothing flushed yet`; then, with S3
 * down, the cache's note in `make query`'s words: `S3 unreachable (ECONNREFUSED): read from the local cache
 * (.cache/query), as of its last listing (12:00:00 UTC)`.
 */
export function formatDataAge(age: DataAge, timeZone = 'UTC'): string {
  const ago = (ms: number) => (age.now - ms < 1000 ? 'just now' : `${formatDuration((age.now - ms) / 1000)} ago`);
  const head =
    age.asOf === undefined
      ? 'lake data: nothing flushed yet'
      : `lake data as of ${when(age.asOf, age.now, timeZone)}, ${ago(age.asOf)}`;
  if (!age.offline) return head;
  const o = age.offline;
  const skipped = o.missing ? `; ${o.missing} listed object(s) not in the cache were skipped` : '';
  return (
    `${head} · S3 unreachable (${o.reason}): read from the local cache${o.cacheDir ? ` (${o.cacheDir})` : ''}, ` +
    `as of its last listing (${when(o.listedAt, age.now, timeZone)}, ${ago(o.listedAt)})${skipped}`
  );
}

/**
 * The same, or why the age is unknown (the listing failed): a report still goes out without it. `source`: the lake
 * cache to list, or a session's `dataAge` (lake-session.ts).
 */
export async function dataAgeLine(
  source: LakeCache | (() => Promise<DataAge>),
  opts: { now: () => number; timeZone?: string; missing?: () => number },
): Promise<string> {
  try {
    const age = typeof source === 'function' ? await source() : await readDataAge(source, opts.now, opts.missing);
    return formatDataAge(age, opts.timeZone);
  } catch (err) {
    return `lake data age unknown: ${err instanceof Error ? err.message : String(err)}`;
  }
}
