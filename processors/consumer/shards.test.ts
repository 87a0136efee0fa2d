import { describe, expect, it } from 'vitest';
import { ListShardsCommand, type ListShardsCommandInput, type Shard } from '@aws-sdk/client-kinesis';
import { listShards, readyShards, type ShardLineage } from './shards.js';

const id = (n: number) => `shardId-${String(n).padStart(12, '0')}`;
const shard = (n: number, parent?: number, adjacent?: number): ShardLineage => ({
  ShardId: id(n),
  ...(parent !== undefined ? { ParentShardId: id(parent) } : {}),
  ...(adjacent !== undefined ? { AdjacentParentShardId: id(adjacent) } : {}),
});

describe('readyShards', () => {
  // 0 and 1 at creation; 0 split into 2 and 3; 2 and 3 merged into 4; 1 split into 5 and 6.
  const lineage = [shard(0), shard(1), shard(2, 0), shard(3, 0), shard(4, 2, 3), shard(5, 1), shard(6, 1)];

  it('reads the original shards first, children after their parent', () => {
    expect(readyShards(lineage, new Set())).toEqual([id(0), id(1)]);
    expect(readyShards(lineage, new Set([id(0)]))).toEqual([id(1), id(2), id(3)]);
    expect(readyShards(lineage, new Set([id(1)]))).toEqual([id(0), id(5), id(6)]);
  });

  it('reads a merged shard only after both parents are finished', () => {
    expect(readyShards(lineage, new Set([id(0), id(1), id(2)]))).toEqual([id(3), id(5), id(6)]);
    expect(readyShards(lineage, new Set([id(0), id(1), id(3)]))).toEqual([id(2), id(5), id(6)]);
    expect(readyShards(lineage, new Set([id(0), id(1), id(2), id(3)]))).toEqual([id(4), id(5), id(6)]);
  });

  it('treats parents missing from the listing (trimmed) as finished', () => {
    const trimmed = lineage.filter((s) => s.ShardId !== id(0) && s.ShardId !== id(2));
    // 3's parent 0 is gone; 4's parent 2 is gone but its adjacent parent 3 is not finished.
    expect(readyShards(trimmed, new Set())).toEqual([id(1), id(3)]);
    expect(readyShards(trimmed, new Set([id(3)]))).toEqual([id(1), id(4)]);
  });

  it('returns nothing once everything is finished', () => {
    expect(readyShards(lineage, new Set(lineage.map((s) => s.ShardId!)))).toEqual([]);
  });
});

describe('listShards', () => {
  const all = Array.from({ length: 5 }, (_, i) => ({ ShardId: id(i) }) as Shard);

  function pagingKinesis(opts: { expireOnce?: boolean; throttleOnce?: boolean } = {}) {
    const calls: ListShardsCommandInput[] = [];
    let expired = false;
    let throttled = false;
    return {
      calls,
      async send(cmd: unknown) {
        if (!(cmd instanceof ListShardsCommand)) throw new Error('unexpected command');
        const input = cmd.input;
        calls.push(input);
        if (opts.throttleOnce && !throttled) {
          throttled = true;
          throw Object.assign(new Error('Rate exceeded'), {
            name: 'LimitExceededException',
            $metadata: { httpStatusCode: 400 },
          });
        }
        if (input.NextToken && input.StreamName)
          throw Object.assign(new Error('both'), { name: 'InvalidArgumentException' });
        const from = input.NextToken ? Number(input.NextToken) : 0;
        if (opts.expireOnce && from > 0 && !expired) {
          expired = true;
          throw Object.assign(new Error('token expired'), { name: 'ExpiredNextTokenException' });
        }
        const page = all.slice(from, from + 2);
        return { Shards: page, NextToken: from + 2 < all.length ? String(from + 2) : undefined };
      },
    };
  }

  it('follows NextToken without repeating the stream name', async () => {
    const kinesis = pagingKinesis();
    const shards = await listShards(kinesis, 'events');
    expect(shards.map((s) => s.ShardId)).toEqual(all.map((s) => s.ShardId));
    expect(kinesis.calls).toEqual([
      { StreamName: 'events', MaxResults: undefined },
      { NextToken: '2', MaxResults: undefined },
      { NextToken: '4', MaxResults: undefined },
    ]);
  });

  it('restarts on an expired NextToken and retries throttling', async () => {
    const kinesis = pagingKinesis({ expireOnce: true, throttleOnce: true });
    const shards = await listShards(kinesis, 'events');
    expect(shards.map((s) => s.ShardId)).toEqual(all.map((s) => s.ShardId));
    expect(kinesis.calls.filter((c) => c.StreamName).length).toBe(3); // throttled, first, restart
  });
});
