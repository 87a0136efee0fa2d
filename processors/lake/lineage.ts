import { createHash } from 'node:crypto';
import type { KinesisClient, Shard } from '@aws-sdk/client-kinesis';
import { awsErrorCode } from '../../platform/aws-errors.js';
import { listShards } from '../consumer/shards.js';
import { ShardNotListedError } from './errors.js';

/** The 128-bit hash Kinesis routes a record by: MD5 of the partition key (UTF-8) as an unsigned big-endian integer. */
export function kinesisHashKey(partitionKey: string): bigint {
  return BigInt(`0x${createHash('md5').update(partitionKey, 'utf8').digest('hex')}`);
}

export interface ShardInfo {
  shardId: string;
  parents: string[];
  /** Inclusive hash key range (HashKeyRange). */
  startingHashKey: bigint;
  endingHashKey: bigint;
}

/** Does the shard's hash key range hold the partition key (i.e. would Kinesis put it there)? */
export function holdsPartitionKey(
  shard: Pick<ShardInfo, 'startingHashKey' | 'endingHashKey'>,
  partitionKey: string,
): boolean {
  const h = kinesisHashKey(partitionKey);
  return h >= shard.startingHashKey && h <= shard.endingHashKey;
}

function toInfo(s: Shard): ShardInfo {
  return {
    shardId: s.ShardId!,
    parents: [s.ParentShardId, s.AdjacentParentShardId].filter((p): p is string => !!p),
    startingHashKey: BigInt(s.HashKeyRange?.StartingHashKey ?? '0'),
    endingHashKey: BigInt(s.HashKeyRange?.EndingHashKey ?? String(2n ** 128n - 1n)),
  };
}

/**
 * The stream's shard lineage and hash ranges (ListShards), cached; a shard missing from the cache
 * refreshes it once (a reshard since the last listing). Shards never change their parents or range,
 * so a cached entry is never stale.
 */
export class ShardLineage {
  private cache = new Map<string, ShardInfo>();
  private listing?: Promise<void>;

  constructor(
    private readonly kinesis: Pick<KinesisClient, 'send'>,
    readonly streamName: string,
  ) {}

  /** The shard's lineage; ShardNotListedError if the stream does not list it (trimmed or unknown). */
  async get(shardId: string): Promise<ShardInfo> {
    const hit = this.cache.get(shardId) ?? (await this.refresh(), this.cache.get(shardId));
    if (!hit) throw new ShardNotListedError(this.streamName, shardId);
    return hit;
  }

  /** The shard's lineage, or undefined when the stream does not list it (trimmed past retention). */
  async find(shardId: string): Promise<ShardInfo | undefined> {
    return this.cache.get(shardId) ?? (await this.refresh(), this.cache.get(shardId));
  }

  private refresh(): Promise<void> {
    this.listing ??= listShards(this.kinesis, this.streamName)
      .then(
        (shards) => {
          for (const s of shards) if (s.ShardId) this.cache.set(s.ShardId, toInfo(s));
        },
        (err) => {
          if (awsErrorCode(err) !== 'ResourceNotFoundException') throw err; // a deleted stream lists no shard
        },
      )
      .finally(() => {
        this.listing = undefined;
      });
    return this.listing;
  }
}
