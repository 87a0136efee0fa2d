import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { LakeCache } from '../query/lake-cache.js';
import { dataAgeLine, dataAgeOf, formatDataAge, readDataAge } from './data-age.js';

/**
 * The "lake data as of" line: the newest flush of any shard, its age at an injected `now`, and, with S3
 * down, that the answer came from the local cache (the cache's own offline state, as `make query` says).
 * S3 is an in-process fake that answers listings, then refuses connections.
 */
const T = Date.parse('2026-11-28T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

describe('formatDataAge', () => {
  it('the newest flush of any shard (an idle shard does not flush), and how long ago', () => {
    const age = dataAgeOf(
      {
        shards: [
          { shardId: 'shardId-000000000000', flushedAt: iso(T + 4000), key: 'a' },
          { shardId: 'shardId-000000000001', flushedAt: iso(T - 3_600_000), key: 'b' },
        ],
        listedAt: iso(T + 30_000),
        fromCache: false,
      },
      T + 30_000,
    );
    expect(age).toEqual({ asOf: T + 4000, now: T + 30_000 });
    expect(formatDataAge(age)).toBe('lake data as of 12:00:04 UTC, 26 s ago');
    expect(formatDataAge(age, 'Europe/Paris')).toBe('lake data as of 13:00:04 Europe/Paris, 26 s ago');
    expect(formatDataAge({ asOf: T, now: T + 400 })).toBe('lake data as of 12:00:00 UTC, just now');
    expect(formatDataAge({ asOf: T - 86_400_000, now: T + 65_000 })).toBe(
      'lake data as of 2026-11-27 12:00:00 UTC, 24 h 01 min ago',
    );
  });

  it('a lake with no flush yet says so', () => {
    const age = dataAgeOf({ shards: [], listedAt: iso(T), fromCache: false }, T);
    expect(formatDataAge(age)).toBe('lake data: nothing flushed yet');
  });
});

describe('readDataAge through the lake cache', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  /** A fake S3 with one raw/ day of two flushes; `down` makes every call fail as a refused connection. */
  function fakeS3(state: { down: boolean }): S3Client {
    const send = async (cmd: ListObjectsV2Command) => {
      if (state.down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4569'), { code: 'ECONNREFUSED' });
      const { Prefix, Delimiter } = cmd.input;
      if (Delimiter) return { CommonPrefixes: [{ Prefix: 'raw/dt=2026-11-28/' }] };
      if (Prefix === 'raw/dt=2026-11-28/')
        return {
          Contents: [
            {
              Key: 'raw/dt=2026-11-28/shardId-000000000000-1-5.jsonl',
              ETag: '"1"',
              LastModified: new Date(T + 2000),
            },
            {
              Key: 'raw/dt=2026-11-28/shardId-000000000000-6-9.jsonl',
              ETag: '"2"',
              LastModified: new Date(T + 4000),
            },
          ],
        };
      return {};
    };
    return { send } as unknown as S3Client;
  }

  it('S3 up: the age of the newest flush; S3 down: the same flush, read from the cache, and it says so', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'data-age-'));
    dirs.push(dir);
    const s3 = { down: false };
    const up = await readDataAge(new LakeCache(fakeS3(s3), 'lake', dir), () => T + 30_000);
    expect(formatDataAge(up)).toBe('lake data as of 12:00:04 UTC, 26 s ago');

    s3.down = true;
    const line = await dataAgeLine(new LakeCache(fakeS3(s3), 'lake', dir), { now: () => T + 90_000, missing: () => 2 });
    expect(line.startsWith('lake data as of 12:00:04 UTC, 1 min 26 s ago · S3 unreachable (ECONNREFUSED): ')).toBe(
      true,
    );
    expect(line).toContain(`read from the local cache (${dir}), as of its last listing (`);
    expect(line.endsWith('; 2 listed object(s) not in the cache were skipped')).toBe(true);
  });

  it('S3 down and no saved listing: the age is unknown, and the line says why instead of failing', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'data-age-'));
    dirs.push(dir);
    const line = await dataAgeLine(new LakeCache(fakeS3({ down: true }), 'lake', dir), { now: () => T });
    expect(line).toMatch(/^lake data age unknown: S3 unreachable for s3:\/\/lake\/raw\//);
  });
});
