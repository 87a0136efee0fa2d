import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, stackEnv, type LocalStack } from '../helpers/local-stack.js';
import { beforeMidnight, childEnv, until } from '../helpers/clock.js';
import { demoScenario } from '../fixtures/lake-scenario.js';
import { decodeRecordOrTick, encodeRecord, partitionKeyOf } from '../../schemas/envelope.js';
import { compareSequenceNumbers } from '../../schemas/sequence-number.js';
import { KinesisProducer } from '../../platform/stream/kinesis-producer.js';
import { CheckpointStore } from '../../processors/consumer/checkpoint-store.js';
import { HeadStore } from '../../processors/lake/head.js';
import { LakeStore } from '../../processors/lake/lake-store.js';
import { LAKE_CRASH_POINTS } from '../../processors/runtime/crashpoint.js';
import { queryDuckDb } from '../../analysis/query/duckdb-engine.js';
import { loadConfig } from '../../platform/config.js';
import { joinOptionsOf } from '../../processors/lake/wiring.js';
import { eventOf, freshLake, queryLake, readShard } from './helpers.js';

/**
 * Two lake writers on one shard, as real processes (`processors/lake/main.ts`, what `make run
 * SERVICES=lake` starts — twice, or a zombie and its successor), each SIGKILLed in turn at every step
 * boundary of a flush and restarted, while records keep arriving. Both read the same shard with the
 * same checkpoints, so their batches overlap, redo and abandon each other's pending flushes. At the
 * end every record is in `raw_records` once, `events` holds exactly the events of one uninterrupted
 * writer, each once, and the shard's head is at the last record with its state object readable (not
 * jammed).
 */
let stack: LocalStack;
const WAVES = 6;
const PER_WAVE = 4; // scenarios per wave
const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

beforeAll(async () => {
  stack = await startLocalStack({ shards: 1 });
}, 60_000);
afterAll(async () => stack?.stop());

interface Writer {
  name: string;
  exited: Promise<NodeJS.Signals | null>;
  kill(): Promise<void>;
  output(): string;
}

const writerEnv = (): Record<string, string> => ({
  ...stackEnv(stack.config),
  FLUSH_INTERVAL_S: '1',
  FLUSH_MAX_ROWS: '25',
  LOG_LEVEL: 'warn',
  LAKE_HEALTH_PORT: '0',
});

function startWriter(name: string, crashAt?: string): Writer {
  let out = '';
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'processors', 'lake', 'main.ts')], {
    cwd: REPO_ROOT,
    env: childEnv({
      ...writerEnv(),
      // configured differently (another deploy, a Lambda bisecting): their batches end at different records
      FLUSH_MAX_ROWS: name === 'a' ? '25' : '10',
      ...(crashAt ? { PAGETRAIL_CRASH_AT: crashAt } : {}),
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.once('exit', (_code, signal) => resolve(signal)));
  return {
    name,
    exited,
    output: () => out,
    kill: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

describe('two lake writers on one shard, SIGKILLed at every flush step', () => {
  it('0 lost, 0 duplicated, no jammed shard', async () => {
    const producer = new KinesisProducer({ kinesis: stack.clients.kinesis, streamName: stack.config.STREAM_NAME });
    // Each writer dies at each boundary once (at its 1st, then 2nd... time there), then runs clean.
    const plans = {
      a: LAKE_CRASH_POINTS.map((p, i) => `${p}:${1 + (i % 2)}`),
      b: [...LAKE_CRASH_POINTS].reverse().map((p, i) => `${p}:${1 + (i % 3)}`),
    };
    const kills: string[] = [];
    let stopping = false;
    const live = new Map<string, Writer>();
    const supervise = (name: 'a' | 'b') => {
      const crashAt = plans[name].shift();
      const w = startWriter(name, crashAt);
      live.set(name, w);
      void w.exited.then((signal) => {
        if (stopping) return;
        if (signal === 'SIGKILL') kills.push(`${name}@${crashAt}`);
        else throw new Error(`lake writer ${name} exited (${signal}):\n${w.output()}`);
        supervise(name);
      });
    };
    supervise('a');
    supervise('b');

    let lastSeq = '';
    let shardId = '';
    const T0 = beforeMidnight(30);
    for (let wave = 0; wave < WAVES; wave++) {
      for (let i = 0; i < PER_WAVE; i++) {
        const { records: scenario } = demoScenario(T0 + (wave * PER_WAVE + i) * 37_000);
        // trickled in uneven chunks: the two writers' batches start and end at different records
        for (let at = 0, n = 1; at < scenario.length; at += n, n = 1 + ((at * 7) % 9)) {
          const put = await producer.putRecords(
            scenario.slice(at, at + n).map((r) => ({ data: encodeRecord(r), partitionKey: partitionKeyOf(r) })),
          );
          lastSeq = put.at(-1)!.sequenceNumber;
          shardId = put[0].shardId;
          await new Promise((r) => setTimeout(r, 50)); // traffic pacing, not a wait for a condition
        }
      }
      const killed = kills.length;
      // the next wave once a writer died (or both are done with their crash plans, or the lake is stuck:
      // the head check below says so)
      await until(
        'a writer killed',
        () => (kills.length > killed || (plans.a.length === 0 && plans.b.length === 0) ? true : undefined),
        15_000,
        50,
      ).catch(() => undefined);
    }

    const checkpoints = new CheckpointStore({
      dynamodb: stack.clients.dynamodb,
      table: stack.config.CHECKPOINT_TABLE,
    });
    const heads = new HeadStore(checkpoints, 'lake-head');
    const store = new LakeStore(stack.clients.s3, stack.config.LAKE_BUCKET);
    // The last record: the test's, or a tick the writers put after it (a flush that left receipts waiting);
    // once the committed state holds no waiting receipt, no writer puts another.
    const head = await until(
      'the head at the last record, nothing waiting',
      async () => {
        const h = await heads.get(shardId);
        if (h.lastSeq === undefined || h.pending !== undefined || compareSequenceNumbers(h.lastSeq, lastSeq) < 0)
          return undefined;
        if ((await readShard(stack, shardId)).at(-1)!.sequenceNumber !== h.lastSeq) return undefined;
        return (await store.getState(h.stateKey!)).pending.length === 0 ? h : undefined;
      },
      60_000,
      200,
    );
    stopping = true;
    await Promise.all([...live.values()].map((w) => w.kill()));

    expect(kills.length).toBeGreaterThanOrEqual(WAVES - 1);
    expect(head.epoch, 'pending flushes abandoned by the other writer').toBeGreaterThan(0);
    await store.getState(head.stateKey!); // not jammed: the committed state exists
    const query = (sql: string) =>
      queryDuckDb(sql, {
        s3: stack.clients.s3,
        bucket: stack.config.LAKE_BUCKET,
        cacheDir: `${stack.s3Directory}-cache-two-writers`,
      });
    const stream = await readShard(stack, shardId);
    const ticks = stream.filter((r) => decodeRecordOrTick(r.data).kind === 'tick').length;
    const raw = await query('SELECT count(*), count(DISTINCT sequence_number) FROM raw_records');
    expect(raw.rows[0], `kills: ${kills.join(' ')}, ${ticks} ticks`).toEqual([
      String(stream.length),
      String(stream.length),
    ]);

    // The events: exactly those of one writer that was never interrupted, each once.
    const ref = await freshLake(stack, { join: joinOptionsOf(loadConfig(writerEnv())) });
    for (let i = 0; i < stream.length; i += 25) await ref.handler(eventOf(stack, stream.slice(i, i + 25)));
    const ids = 'SELECT event_id FROM events ORDER BY event_id';
    const expected = (await queryLake(stack, ref.bucket, ids)).rows.map((r) => r[0]);
    expect(expected.length).toBeGreaterThan(stream.length / 2);
    const got = (await query(ids)).rows.map((r) => r[0]);
    expect(got.length, `kills: ${kills.join(' ')}`).toBe(expected.length);
    expect(got).toEqual(expected);
  });
});
