import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClosedLoop, SECRETS, type ClosedLoop } from '../helpers/closed-loop.js';
import { until } from '../helpers/clock.js';
import { readStream, type StreamEntry } from '../helpers/read-stream.js';
import { silentLogger } from '../../platform/logger.js';
import { alarmIntakeHandlerFromEnv } from '../../producers/eventbridge/wiring.js';
import { HASHED_KEY_PREFIX, partitionKeyFor } from '../../schemas/partition-key.js';

/**
 * Issue 17 row 1: alarm names CloudWatch allows (255 characters, emoji included) make ARNs over Kinesis's
 * 256-character partition-key limit. On both ways in — the receiver's POST /events/cloudwatch and the
 * EventBridge rule's function (invoked here with the event object, as EventBridge does) — each alarm is
 * written with an accepted key and paged once, and its dispatches and receipts share that key. Before,
 * the long name was answered 400 (filed under errors/, never paged) and the emoji name 503 forever.
 */
const ACCOUNT_PREFIX = 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:';
const fixture = JSON.parse(
  readFileSync(new URL('../../schemas/fixtures/cloudwatch-alarm-state-change.json', import.meta.url), 'utf8'),
);

/** The user guide's example, renamed, in the AWS/ECS namespace (the demo rota's `app` team), raised now. */
function alarmEvent(name: string, n: number): Record<string, any> {
  const e = structuredClone(fixture);
  const now = Date.now(); // the paging function compares alarm times with the real clock
  e.id = `long-name-${n}-${now}`;
  e.time = new Date(now).toISOString();
  e.resources = [ACCOUNT_PREFIX + name];
  e.detail.alarmName = name;
  e.detail.configuration.metrics[0].metricStat.metric.namespace = 'AWS/ECS';
  e.detail.previousState = { ...e.detail.previousState, value: 'OK', timestamp: new Date(now - 60_000).toISOString() };
  e.detail.state = { ...e.detail.state, value: 'ALARM', timestamp: new Date(now - 1000).toISOString() };
  return e;
}

const ALARMS = {
  receiverLong: 'recv-' + 'x'.repeat(250), // 255 characters: the ARN has 303
  receiverEmoji: 'storm-em100-' + '😀'.repeat(100), // the ARN: 160 code points, 260 UTF-16 units
  lambdaLong: 'lmbd-' + 'y'.repeat(250),
  lambdaEmoji: 'storm-em101-' + '😀'.repeat(100),
};

let loop: ClosedLoop;
let stream: StreamEntry[];

beforeAll(async () => {
  loop = await startClosedLoop({ shards: 2 });
  loop.startMapping('paging');
}, 60_000);

afterAll(async () => loop?.stop());

const arnOf = (name: string) => ACCOUNT_PREFIX + name;
const ofAlarm = (name: string) => stream.filter((e) => e.record?.alarm_arn === arnOf(name));

describe('alarm ARNs over 256 characters', () => {
  it('the receiver takes both alarms (200), the EventBridge function writes both', async () => {
    for (const [i, name] of [ALARMS.receiverLong, ALARMS.receiverEmoji].entries()) {
      const res = await fetch(`${loop.receiverUrl}/events/cloudwatch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': SECRETS.apiKey },
        body: JSON.stringify(alarmEvent(name, i)),
      });
      expect(res.status, name).toBe(200);
    }
    const handler = alarmIntakeHandlerFromEnv(loop.env, silentLogger);
    for (const [i, name] of [ALARMS.lambdaLong, ALARMS.lambdaEmoji].entries()) {
      const outcome = await handler(alarmEvent(name, 10 + i));
      expect(outcome.written.map((w) => w.alarm)).toEqual([name]);
    }
  });

  it('each is paged once, and its alarm, dispatches and receipts share one accepted key', async () => {
    const names = Object.values(ALARMS);
    // Dispatches and at least one receipt (the simulator's callbacks through the receiver) for every alarm.
    stream = await until(
      'dispatches and receipts of the four alarms',
      async () => {
        stream = await readStream(loop.stack.clients.kinesis, loop.stack.config.STREAM_NAME);
        const done = names.every((n) => ['dispatch', 'receipt'].every((k) => ofAlarm(n).some((e) => e.kind === k)));
        return done ? stream : undefined;
      },
      45_000,
      200,
    );
    expect(stream.filter((e) => !e.valid)).toEqual([]);
    const sends = loop.sim.requests().filter((r) => r.method === 'POST' && r.dispatchId);
    for (const name of names) {
      const entries = ofAlarm(name);
      const key = partitionKeyFor(arnOf(name));
      expect(arnOf(name).length, name).toBeGreaterThan(256);
      expect(key.startsWith(HASHED_KEY_PREFIX) && key.length <= 256, name).toBe(true);
      expect(new Set(entries.map((e) => e.partitionKey)), name).toEqual(new Set([key]));
      expect(new Set(entries.map((e) => e.shardId)).size, name).toBe(1); // one incident, one shard
      expect(
        entries.filter((e) => e.kind === 'alarm'),
        name,
      ).toHaveLength(1);
      const dispatches = entries.filter((e) => e.kind === 'dispatch');
      expect(new Set(dispatches.map((e) => e.eventId)).size, name).toBe(dispatches.length);
      // Paged once: every message the loop sent for this alarm reached the provider exactly once.
      const messageIds = dispatches.flatMap((e) => (e.record as { message_id: string | null }).message_id ?? []);
      expect(messageIds.length, name).toBeGreaterThan(0);
      for (const id of messageIds)
        expect(
          sends.filter((s) => s.id === id),
          `${name} ${id}`,
        ).toHaveLength(1);
    }
  }, 60_000);
});
