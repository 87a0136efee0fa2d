import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListShardsCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import { demoOnCall, startClosedLoop, type ClosedLoop, type Mapping } from '../helpers/closed-loop.js';
import { readStream } from '../helpers/read-stream.js';
import { compareSequenceNumbers } from '../../schemas/sequence-number.js';
import { KinesisProducer } from '../../platform/stream/kinesis-producer.js';
import { IncidentStore } from '../../processors/paging/incident-store.js';
import { DEMO_STORIES, demoAlarmArn, demoAlarmEvent, demoIncidentId } from '../../infra/local/demo-alarms.js';
import { eventId } from '../../schemas/ids.js';
import type { IncidentState } from '../../processors/paging/incident-state.js';

/**
 * The pager across a shard split (state per incident, not per shard): the incident's records after
 * the split land on a child shard, which the mapping reads only after the parent; an ack read there
 * stops escalation, an OK read there resolves the incident. Deadlines are 2 s here.
 */
let loop: ClosedLoop;
let producer: KinesisProducer;
let store: IncidentStore;
let paging: Mapping;
const BILLING = DEMO_STORIES[1]; // bob (sms, email; stop_on opened — bob never opens) → carol

async function until<T>(fn: () => Promise<T | undefined> | T | undefined, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Splits the open shard that holds the partition key (Kinesis: MD5 of the key as a 128-bit integer). */
async function split(partitionKey: string): Promise<void> {
  const { clients, config } = loop.stack;
  const hash = BigInt('0x' + createHash('md5').update(partitionKey).digest('hex'));
  const shards = (await clients.kinesis.send(new ListShardsCommand({ StreamName: config.STREAM_NAME }))).Shards!;
  const count = shards.length;
  const s = shards.find(
    (x) =>
      !x.SequenceNumberRange?.EndingSequenceNumber &&
      BigInt(x.HashKeyRange!.StartingHashKey!) <= hash &&
      hash <= BigInt(x.HashKeyRange!.EndingHashKey!),
  )!;
  const mid = (BigInt(s.HashKeyRange!.StartingHashKey!) + BigInt(s.HashKeyRange!.EndingHashKey!)) / 2n;
  await clients.kinesis.send(
    new SplitShardCommand({
      StreamName: config.STREAM_NAME,
      ShardToSplit: s.ShardId!,
      NewStartingHashKey: mid.toString(),
    }),
  );
  await until(
    async () =>
      ((await clients.kinesis.send(new ListShardsCommand({ StreamName: config.STREAM_NAME }))).Shards ?? []).length ===
        count + 2 || undefined,
    'the split',
  );
}

const pagesTo = (who: string) =>
  loop.sim.requests().filter((r) => r.method === 'POST' && r.dispatchId && r.recipient?.includes(who));
const incident = async (id: string) => (await store.get(id))?.state;
const seen = (s: IncidentState | undefined, id: string) => (s?.seen.includes(id) ? s : undefined);

/** The record is on the stream and the paging mapping has checkpointed past it (handled, whatever it changed). */
async function handled(eventId: string): Promise<void> {
  const { clients, config } = loop.stack;
  const entry = await until(
    async () => (await readStream(clients.kinesis, config.STREAM_NAME)).find((r) => r.eventId === eventId),
    `record ${eventId} on the stream`,
  );
  await until(() => {
    const cp = paging.mapping.status().shards[entry.shardId]?.checkpoint;
    return cp !== undefined && compareSequenceNumbers(cp, entry.sequenceNumber) >= 0 ? true : undefined;
  }, `record ${eventId} handled`);
}

beforeAll(async () => {
  const oncall = demoOnCall((o) => {
    for (const team of Object.values(o.teams) as { escalation: Record<string, { levels: { deadline_s: number }[] }> }[])
      for (const p of Object.values(team.escalation)) for (const l of p.levels) l.deadline_s = 2;
  });
  loop = await startClosedLoop({ shards: 1, oncall });
  producer = new KinesisProducer({ kinesis: loop.stack.clients.kinesis, streamName: loop.stack.config.STREAM_NAME });
  store = new IncidentStore({ dynamodb: loop.stack.clients.dynamodb, table: loop.stack.config.INCIDENTS_TABLE });
  paging = loop.startMapping('paging');
}, 60_000);
afterAll(async () => loop?.stop());

describe('paging across a shard split', () => {
  it('an ack read on the child shard stops escalation', async () => {
    const t = Date.now();
    const inc = demoIncidentId(BILLING, t);
    await producer.putStreamRecords([
      { v: 1, kind: 'alarm', severity: 'P1', event: demoAlarmEvent(BILLING, 'ALARM', t, t) },
    ]);
    await until(() => pagesTo('0002').length + pagesTo('bob@').length >= 2 || undefined, "bob's pages");
    await split(demoAlarmArn(BILLING.alarmName));
    const ackId = eventId('ack', inc, 'reshard-test');
    await producer.putStreamRecords([
      {
        v: 1,
        kind: 'ack',
        event_id: ackId,
        incident_id: inc,
        alarm_arn: demoAlarmArn(BILLING.alarmName),
        event_time: new Date().toISOString(),
        channel: 'sms',
        via: 'sms_reply',
        person: 'bob',
      },
    ]);
    const acked = await until(async () => seen(await incident(inc), ackId), 'the ack on the child');
    expect(acked.ackedBy).toBe('bob');
    // the level's deadline record comes (to the child: same partition key) and changes nothing
    await handled(eventId('deadline', inc, '0', '1'));
    const after = (await incident(inc))!;
    expect(after.level).toBe(1);
    expect(pagesTo('0003')).toHaveLength(0); // carol never paged
  });

  it('an OK read on a child shard resolves the incident: no escalation', async () => {
    const t = Date.now();
    const inc = demoIncidentId(BILLING, t);
    await producer.putStreamRecords([
      { v: 1, kind: 'alarm', severity: 'P1', event: demoAlarmEvent(BILLING, 'ALARM', t, t) },
    ]);
    const opened = await until(async () => {
      const s = await incident(inc);
      return s && s.outbox.length === 0 && Object.values(s.pages).every((p) => p.status !== 'pending') ? s : undefined;
    }, 'level 1 paged');
    expect(opened.level).toBe(1);
    await split(demoAlarmArn(BILLING.alarmName)); // the child that holds the alarm: its records now go to a grandchild
    await producer.putStreamRecords([{ v: 1, kind: 'alarm', event: demoAlarmEvent(BILLING, 'OK', t + 1000, t) }]);
    const resolved = await until(async () => {
      const s = await incident(inc);
      return s?.resolvedAt !== undefined ? s : undefined;
    }, 'the OK on the child');
    expect(resolved.resolvedAt).toBe(t + 1000);
    await handled(eventId('deadline', inc, '0', '1'));
    const after = (await incident(inc))!;
    expect(after.level).toBe(1);
    expect(Object.values(after.pages).filter((p) => p.level === 2)).toEqual([]);
  });
});
