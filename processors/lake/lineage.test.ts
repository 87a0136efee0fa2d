import { describe, expect, it } from 'vitest';
import { holdsPartitionKey, kinesisHashKey } from './lineage.js';

describe('Kinesis hash key of a partition key', () => {
  it('is the MD5 of the key as a 128-bit unsigned big-endian integer', () => {
    expect(kinesisHashKey('')).toBe(0xd41d8cd98f00b204e9800998ecf8427en);
    expect(kinesisHashKey('a')).toBe(0x0cc175b9c0f1b6a831c399e269772661n);
  });

  it('places a key in the shard whose inclusive range holds its hash', () => {
    const h = kinesisHashKey('a');
    expect(holdsPartitionKey({ startingHashKey: h, endingHashKey: h }, 'a')).toBe(true);
    expect(holdsPartitionKey({ startingHashKey: 0n, endingHashKey: h - 1n }, 'a')).toBe(false);
    expect(holdsPartitionKey({ startingHashKey: h + 1n, endingHashKey: 2n ** 128n - 1n }, 'a')).toBe(false);
  });
});
