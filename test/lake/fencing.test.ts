import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetRecordsCommand } from '@aws-sdk/client-kinesis';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { encodeRecord, partitionKeyOf } from '../../schemas/envelope.js';
import { KinesisProducer } from '../../platform/stream/kinesis-producer.js';
import type { CheckpointStore } from '../../processors/consumer/checkpoint-store.js';
import { createLakeHandler, type LakeHandlerOptions } from '../../processors/lake/handler.js';
import { HeadStore } from '../../processors/lake/head.js';
import type { LakeStore } from '../../processors/lake/lake-store.js';
import type { ShardRecord } from '../../processors/runtime/kinesis-event.js';
import { demoScenario } from '../fixtures/lake-scenario.js';
import { beforeMidnight } from '../helpers/clock.js';
import { eventOf, freshLake, lakeSnapshot, queryLake, readShard, withoutEpochs } from './helpers.js';

/**
 * Two lake writers on one shard (a zombie, a second service), interleaved deterministically on the
 * real engines: one pauses where the race needs it (after reading the head, before writing its
 * objects) while the other runs. No committed object is ever deleted, a writer whose flush was
 * abandoned deletes what it wrote, orphans of a writer killed in that window are swept after the
 * grace, and a head whose state object is gone rebuilds it instead of jamming its shard.
 */
let stack: LocalStack;
let records: ShardRecord[];
let eventCount: number;
const T0 = beforeMidnight(10);
const GRACE = 60_000;

beforeAll(async () => {
  stack = await startLocalStack({ shards: 1 });
  const { records: scenario } = demoScenario(T0);
  const producer = new KinesisProducer({ kinesis: stack.clients.kinesis, streamName: stack.config.STREAM_NAME });
  const put = await producer.putRecords(
    scenario.map((r) => ({ data: encodeRecord(r), partitionKey: partitionKeyOf(r) })),
  );
  records = await readShard(stack, put[0].shardId);
  eventCount = scenario.length - 1; // the scenario's own duplicate receipt is dropped by the join
}, 60_000);
afterAll(async () => stack?.stop());

const slice = (a: number, b?: number) => records.slice(a, b);
const ALL = () => slice(0);
type Lake = Awaited<ReturnType<typeof freshLake>>;

let clock = 0;
/** A lake whose first flush is recorded, written, and never committed (its writer died before the head move). */
async function lakeWithPending() {
  let crashes = 1;
  const lake = await freshLake(stack, {
    now: () => clock,
    abandonGraceMs: GRACE,
    beforeCommit: async () => {
      if (crashes-- > 0) throw new Error('simulated crash before the head moved');
    },
  });
  await expect(lake.handler(eventOf(stack, ALL()))).rejects.toThrow(/simulated crash/);
  const pending = (await headOf(lake)).pending!;
  expect(pending).toMatchObject({ first: records[0].sequenceNumber, last: records.at(-1)!.sequenceNumber });
  return { lake, pending };
}

const headOf = (lake: Lake) => new HeadStore(lake.heads, lake.headGroup).get(records[0].shardId);

/** Another writer on the same lake and head group. */
function writer(lake: Lake, extra: Partial<LakeHandlerOptions> = {}) {
  const h = createLakeHandler({ ...lake.options, beforeCommit: undefined, ...extra });
  return (b: ShardRecord[]) => h(eventOf(stack, b));
}

/** The checkpoint table as one writer sees it: its first head read returns only after `meanwhile` ran. */
function headsPausedAfterRead(real: CheckpointStore, meanwhile: () => Promise<unknown>): CheckpointStore {
  let armed = true;
  const proxy = Object.create(real) as CheckpointStore;
  proxy.get = async (group, shardId) => {
    const cp = await real.get(group, shardId);
    if (armed) {
      armed = false;
      await meanwhile();
    }
    return cp;
  };
  return proxy;
}

/** The bucket as one writer sees it: `meanwhile` runs just before its first object write. */
function storePausedBeforeWrite(real: LakeStore, meanwhile: () => Promise<unknown>): LakeStore {
  let armed = true;
  const proxy = Object.create(real) as LakeStore;
  proxy.putAll = async (objects) => {
    if (armed) {
      armed = false;
      await meanwhile();
    }
    return real.putAll(objects);
  };
  return proxy;
}

async function reference(batches: ShardRecord[][]) {
  const lake = await freshLake(stack);
  for (const b of batches) await lake.handler(eventOf(stack, b));
  return lakeSnapshot(lake.store);
}

async function expectEachEventOnce(bucket: string) {
  const res = await queryLake(stack, bucket, 'SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM events');
  expect(res.rows[0]).toEqual([String(eventCount), String(eventCount)]);
  const raw = await queryLake(stack, bucket, 'SELECT count(*), count(DISTINCT sequence_number) FROM raw_records');
  expect(raw.rows[0]).toEqual([String(records.length), String(records.length)]);
}

describe('two lake writers on one shard', () => {
  it('a writer holding a stale head deletes nothing: the twin that redid and committed keeps it', async () => {
    // The race of issue 17: B redoes the pending flush and commits it while A, which read the head
    // before, abandons it for a shorter batch.
    const { lake, pending } = await lakeWithPending();
    const b = writer(lake);
    const a = writer(lake, { heads: headsPausedAfterRead(lake.heads, () => b(ALL())) });
    await expect(a(slice(0, 4))).rejects.toThrow(/conflict|version/i); // A lost the head write
    const head = await headOf(lake);
    expect(head).toMatchObject({ lastSeq: records.at(-1)!.sequenceNumber, stateKey: pending.stateKey });
    const snapshot = await lakeSnapshot(lake.store);
    for (const k of pending.keys) expect(snapshot.has(k), k).toBe(true);
    await lake.store.getState(head.stateKey!); // the committed head's state exists
    await a(slice(0, 4)); // the retry: every record already committed
    await writer(lake, { warmCache: false })(ALL()); // not jammed
    expect(await lakeSnapshot(lake.store)).toEqual(await reference([ALL()]));
    await expectEachEventOnce(lake.bucket);
  });

  it('a zombie that writes after its flush was abandoned deletes what it wrote when its commit fails', async () => {
    const { lake, pending } = await lakeWithPending();
    const a = writer(lake, { now: () => clock });
    // B redoes the pending flush; just before its puts, A abandons it (a bisected batch) and commits.
    const b = writer(lake, { store: storePausedBeforeWrite(lake.store, () => a(slice(0, 4))), now: () => clock });
    await expect(b(ALL())).rejects.toThrow(/conflict|version/i);
    const snapshot = await lakeSnapshot(lake.store);
    for (const k of pending.keys) expect(snapshot.has(k), k).toBe(false);
    await b(ALL()); // the mapping retries B's batch: the rest after A's commit
    expect(withoutEpochs(await lakeSnapshot(lake.store))).toEqual(await reference([slice(0, 4), slice(4)]));
    await expectEachEventOnce(lake.bucket);
  });

  it('the orphans of a zombie killed before its commit are swept once the grace is over', async () => {
    const { lake, pending } = await lakeWithPending();
    clock = 1_000_000;
    const a = writer(lake, { now: () => clock, abandonGraceMs: GRACE });
    const b = writer(lake, {
      store: storePausedBeforeWrite(lake.store, () => a(slice(0, 4))),
      beforeCommit: async () => {
        throw new Error('zombie killed after its late puts');
      },
    });
    await expect(b(ALL())).rejects.toThrow(/zombie killed/);
    expect((await lakeSnapshot(lake.store)).has(pending.keys[0])).toBe(true); // the orphans, for now
    await a(slice(4, 8)); // within the grace: kept
    expect((await lakeSnapshot(lake.store)).has(pending.keys[0])).toBe(true);
    clock += GRACE;
    await a(slice(8)); // the first commit past the grace sweeps them
    const snapshot = await lakeSnapshot(lake.store);
    for (const k of [...pending.keys, pending.stateKey]) expect(snapshot.has(k), k).toBe(false);
    const head = await headOf(lake);
    expect(head.abandoned).toEqual([expect.objectContaining({ epoch: 0, keys: [], deleted: true })]);
    expect(withoutEpochs(snapshot)).toEqual(await reference([slice(0, 4), slice(4, 8), slice(8)]));
    await expectEachEventOnce(lake.bucket);
  });
});

describe('a head whose state object is missing', () => {
  it('rebuilds the state from the newest older state and the stream, and puts it back', async () => {
    const K = 9;
    const lake = await freshLake(stack);
    await lake.handler(eventOf(stack, slice(0, 4)));
    await lake.handler(eventOf(stack, slice(4, K)));
    const head = await headOf(lake);
    await lake.store.delete(head.stateKey!); // what an unfenced writer did
    const recovered: unknown[] = [];
    await writer(lake, { onStateRecovered: (i) => recovered.push(i) })(slice(K));
    expect(recovered).toEqual([
      expect.objectContaining({
        how: 'stream',
        records: K - 4,
        base: lake.store.stateKey(lake.headGroup, records[0].shardId, records[3].sequenceNumber),
      }),
    ]);
    await lake.store.getState(head.stateKey!);
    expect(await lakeSnapshot(lake.store)).toEqual(await reference([slice(0, 4), slice(4, K), slice(K)]));
    await expectEachEventOnce(lake.bucket);
  });

  it('restarts the join empty, loudly, when the stream no longer holds the records: the shard moves on', async () => {
    const K = 9;
    const lake = await freshLake(stack);
    await lake.handler(eventOf(stack, slice(0, K)));
    const head = await headOf(lake);
    await lake.store.delete(head.stateKey!);
    const real = stack.clients.kinesis;
    const trimmed = {
      send: (async (cmd: unknown) =>
        cmd instanceof GetRecordsCommand
          ? { Records: [], NextShardIterator: undefined, MillisBehindLatest: 0 }
          : real.send(cmd as never)) as typeof real.send,
    };
    const recovered: { how: string }[] = [];
    await writer(lake, { kinesis: trimmed, onStateRecovered: (i) => recovered.push(i) })(slice(K));
    expect(recovered).toEqual([expect.objectContaining({ how: 'empty', records: 0 })]);
    expect((await headOf(lake)).lastSeq).toBe(records.at(-1)!.sequenceNumber);
    const raw = await queryLake(stack, lake.bucket, 'SELECT count(*) FROM raw_records');
    expect(raw.rows[0][0]).toBe(String(records.length));
  });
});
