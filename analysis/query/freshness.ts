import { RAW_TABLE } from '../../schemas/lake.js';
import { parseObjectKey } from '../../schemas/lake-keys.js';
import type { LakeCache } from './lake-cache.js';

/** The last flush of one shard: the newest raw-archive object it wrote (every flush archives its records). */
export interface ShardFreshness {
  shardId: string;
  /** When S3 says the object was written (ISO). */
  flushedAt: string;
  key: string;
}

export interface LakeFreshness {
  shards: ShardFreshness[];
  /** When the listing was taken, and whether it is the cache's saved one (S3 unreachable). */
  listedAt: string;
  fromCache: boolean;
}

/**
 * How fresh the lake is, per shard, from the object keys alone (works offline from the saved
 * listings): the newest `raw/` objects of the newest `days` (default 2) arrival days, per shard. A
 * shard with no flush in those days is not shown.
 */
export async function lakeFreshness(cache: LakeCache, opts: { days?: number } = {}): Promise<LakeFreshness> {
  const days = await cache.list(RAW_TABLE.prefix, '/');
  const newest = days.prefixes
    .filter((p) => /\/dt=\d{4}-\d{2}-\d{2}\/$/.test(p))
    .sort()
    .reverse()
    .slice(0, opts.days ?? 2);
  const byShard = new Map<string, ShardFreshness>();
  let fromCache = days.fromCache;
  let listedAt = days.listedAt;
  for (const prefix of newest) {
    const listing = await cache.list(prefix);
    fromCache ||= listing.fromCache;
    if (listing.listedAt < listedAt) listedAt = listing.listedAt;
    for (const o of listing.objects) {
      const parsed = parseObjectKey(o.key);
      if (!parsed || !o.lastModified) continue;
      const seen = byShard.get(parsed.shardId);
      if (!seen || o.lastModified > seen.flushedAt)
        byShard.set(parsed.shardId, { shardId: parsed.shardId, flushedAt: o.lastModified, key: o.key });
    }
  }
  return { shards: [...byShard.values()].sort((a, b) => (a.shardId < b.shardId ? -1 : 1)), listedAt, fromCache };
}

const hms = (iso: string) => iso.slice(11, 19);

/**
 * One line for stderr:
 * `lake fresh to 12:03:04 (shardId-000000000000), 12:03:01 (shardId-000000000001) UTC on 2026-11-28`
 * (each time with its date when the days differ); says when the listing is the cache's.
 */
export function formatFreshness(f: LakeFreshness): string {
  const cached = f.fromCache
    ? ` (from the cache's listing of ${f.listedAt.slice(0, 10)} ${hms(f.listedAt)} UTC: S3 unreachable)`
    : '';
  if (f.shards.length === 0) return `lake fresh to: no flush yet (no raw/ objects)${cached}`;
  const dates = new Set(f.shards.map((s) => s.flushedAt.slice(0, 10)));
  const one = dates.size === 1;
  const parts = f.shards.map(
    (s) => `${one ? hms(s.flushedAt) : `${s.flushedAt.slice(0, 10)} ${hms(s.flushedAt)}`} (${s.shardId})`,
  );
  return `lake fresh to ${parts.join(', ')} UTC${one ? ` on ${[...dates][0]}` : ''} [last flush per shard]${cached}`;
}
