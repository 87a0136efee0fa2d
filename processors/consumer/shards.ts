import { setTimeout as sleep } from 'node:timers/promises';
import { ListShardsCommand, type KinesisClient, type Shard } from '@aws-sdk/client-kinesis';
import { awsErrorCode, backoffDelay, isRetryableError } from '../../platform/aws-errors.js';

export type { Shard };

/** The lineage fields the ordering needs (an SDK `Shard` has them). */
export type ShardLineage = Pick<Shard, 'ShardId' | 'ParentShardId' | 'AdjacentParentShardId'>;

/**
 * Every shard of the stream (open and closed, still within retention), following NextToken.
 * kinesalite 3.3.3 ignores MaxResults and never returns a NextToken; kinesis-local 0.6.2 pages
 * (NextToken ≈ `stream::lastShardId`). With NextToken the request must not repeat StreamName.
 * Throttling (LimitExceededException: ListShards allows ~100 calls/s per stream) and transient
 * errors are retried; an expired NextToken restarts the listing.
 */
export async function listShards(
  kinesis: Pick<KinesisClient, 'send'>,
  streamName: string,
  options: { maxResults?: number; maxAttempts?: number; signal?: AbortSignal } = {},
): Promise<Shard[]> {
  const maxAttempts = options.maxAttempts ?? 8;
  let shards: Shard[] = [];
  let nextToken: string | undefined;
  let failures = 0;
  for (;;) {
    try {
      const out = await kinesis.send(
        nextToken
          ? new ListShardsCommand({ NextToken: nextToken, MaxResults: options.maxResults })
          : new ListShardsCommand({ StreamName: streamName, MaxResults: options.maxResults }),
        { abortSignal: options.signal },
      );
      shards.push(...(out.Shards ?? []));
      failures = 0;
      if (!out.NextToken) break;
      nextToken = out.NextToken;
    } catch (err) {
      if (awsErrorCode(err) === 'ExpiredNextTokenException' && failures < maxAttempts) {
        shards = [];
        nextToken = undefined;
        failures++;
        continue;
      }
      if (!isRetryableError(err) || ++failures >= maxAttempts || options.signal?.aborted) throw err;
      await sleep(backoffDelay(failures, 100, 2000), undefined, { signal: options.signal });
    }
  }
  // Deduplicate by id (a page boundary moving under a reshard could repeat one).
  const seen = new Set<string>();
  return shards.filter((s) => s.ShardId !== undefined && !seen.has(s.ShardId) && (seen.add(s.ShardId), true));
}

function parentsOf(shard: ShardLineage): string[] {
  return [shard.ParentShardId, shard.AdjacentParentShardId].filter((p): p is string => !!p);
}

/**
 * The shards that may be read now: not finished, and every parent (ParentShardId and, after a merge,
 * AdjacentParentShardId) finished. A parent missing from the listing has been trimmed (past
 * retention) and counts as finished. Returned in listing order. The local event source mapping
 * reads these, so a parent is read to its end before its children (per-key order across a reshard).
 */
export function readyShards(shards: readonly ShardLineage[], finished: ReadonlySet<string>): string[] {
  const present = new Set(shards.map((s) => s.ShardId!));
  return shards
    .filter((s) => !finished.has(s.ShardId!))
    .filter((s) => parentsOf(s).every((p) => finished.has(p) || !present.has(p)))
    .map((s) => s.ShardId!);
}
