/**
 * EventBridgeDeadlines through the real SDK client against the local Scheduler emulator (in-process),
 * which puts due schedules on kinesalite. Every wait is for a signal (a record on the stream, the
 * emulator's health), never a fixed sleep.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
  type _Record,
} from '@aws-sdk/client-kinesis';
import { GetScheduleCommand, type SchedulerClient } from '@aws-sdk/client-scheduler';
import { kinesisClient, schedulerClient, streamArn } from '../../platform/aws.js';
import { freePort } from '../../infra/local/engines.js';
import { ensureScheduleGroup } from '../../infra/local/provision.js';
import { startSchedulerEmulator, type SchedulerEmulator } from '../../infra/local/scheduler/server.js';
import { encodeRecord, partitionKeyOf } from '../../schemas/envelope.js';
import type { DeadlineRecordIn } from '../../schemas/deadline-record.js';
import { until } from '../../test/helpers/clock.js';
import { startLocalStack, uniqueSuffix, type LocalStack } from '../../test/helpers/local-stack.js';
import { atExpression, DEADLINE_RETRY_POLICY, deadlineScheduleName, EventBridgeDeadlines, isDue } from './deadlines.js';
import { DeadlineScheduleError } from './errors.js';

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ scheduler: true, shards: 2 });
});
afterAll(async () => {
  await stack?.stop();
});

/** Every record on the stream (all shards from TRIM_HORIZON; the test streams are small). */
async function streamRecords(kinesis: KinesisClient, stream: string): Promise<_Record[]> {
  const shards = (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
  const out: _Record[] = [];
  for (const shard of shards) {
    let it = (
      await kinesis.send(
        new GetShardIteratorCommand({ StreamName: stream, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
      )
    ).ShardIterator;
    while (it) {
      const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: it }));
      out.push(...(page.Records ?? []));
      if (!page.Records?.length) break;
      it = page.NextShardIterator;
    }
  }
  return out;
}

const text = (r: _Record) => new TextDecoder().decode(r.Data);

/** The records of one incident (each test uses its own). */
async function recordsOf(kinesis: KinesisClient, stream: string, incident: string) {
  return (await streamRecords(kinesis, stream)).filter((r) => text(r).includes(`"incident_id":"${incident}"`));
}

function deadline(at: number, level = 2): DeadlineRecordIn {
  const incident = `inc_${uniqueSuffix()}`;
  return {
    v: 1,
    kind: 'deadline',
    event_id: `evt_deadline_${incident}_L${level}`,
    incident_id: incident,
    alarm_arn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:api-cpu-${incident}`,
    event_time: new Date(at).toISOString(),
    purpose: 'level',
    round: 0,
    level,
    scheduled_at: new Date().toISOString(),
  };
}

function deadlines(client: Pick<SchedulerClient, 'send'> = stack.schedulerClient!, deadLetterArn?: string) {
  return new EventBridgeDeadlines({
    client,
    groupName: stack.config.SCHEDULER_GROUP,
    streamArn: streamArn(stack.config),
    roleArn: stack.config.SCHEDULER_ROLE_ARN,
    deadLetterArn,
  });
}

/** Schedules a sentinel deadline due at `at` and waits until its record is on the stream. */
async function fireSentinel(d: EventBridgeDeadlines, at: number): Promise<void> {
  const sentinel = deadline(at);
  await d.schedule({ name: deadlineScheduleName(`${sentinel.incident_id}|r0|L2`), at, record: sentinel });
  await until('the sentinel', async () =>
    (await recordsOf(stack.clients.kinesis, stack.config.STREAM_NAME, sentinel.incident_id)).length ? true : undefined,
  );
}

describe('names and times', () => {
  it('derives a deterministic, valid schedule name from a deadline key', () => {
    const a = deadlineScheduleName('inc_1|r0|L2');
    expect(a).toBe(deadlineScheduleName('inc_1|r0|L2'));
    expect(a).not.toBe(deadlineScheduleName('inc_1|r0|L3'));
    expect(a).toMatch(/^[0-9A-Za-z_.-]{1,64}$/);
  });

  it('writes at() in UTC, rounded up to the next whole second', () => {
    expect(atExpression(Date.parse('2026-11-28T10:05:01.000Z'))).toBe('at(2026-11-28T10:05:01)');
    expect(atExpression(Date.parse('2026-11-28T10:05:01.001Z'))).toBe('at(2026-11-28T10:05:02)');
    expect(atExpression(Date.parse('2026-12-31T23:59:59.500Z'))).toBe('at(2027-01-01T00:00:00)');
  });

  it('isDue says when to put the record directly', () => {
    expect(isDue(1000, 1000)).toBe(true);
    expect(isDue(999, 1000)).toBe(true);
    expect(isDue(1001, 1000)).toBe(false);
  });
});

// independent incidents and emulators: run side by side (each waits for whole-second at() times)
describe.concurrent('EventBridgeDeadlines against the emulator', () => {
  it('provisioning created the schedule group and the incidents table', () => {
    expect(stack.provisioned?.scheduleGroup).toMatchObject({ name: stack.config.SCHEDULER_GROUP, created: true });
    // dynalite 4 has no UpdateTimeToLive: provisioning says so instead of failing (AWS: 'enabled')
    expect(stack.provisioned?.tables.incidents).toMatchObject({
      name: stack.config.INCIDENTS_TABLE,
      status: 'ACTIVE',
      ttl: 'unsupported',
    });
  });

  it(
    'a scheduled deadline arrives on the stream within a second of at(), ' + 'with its partition key and bytes',
    async () => {
      const at = Date.now() + 1200;
      const record = deadline(at);
      const name = deadlineScheduleName(`${record.incident_id}|r0|L2`);
      expect(await deadlines().schedule({ name, at, record })).toBe('created');

      const got = await stack.schedulerClient!.send(
        new GetScheduleCommand({ Name: name, GroupName: stack.config.SCHEDULER_GROUP }),
      );
      expect(got).toMatchObject({
        ScheduleExpression: atExpression(at),
        ScheduleExpressionTimezone: 'UTC',
        ActionAfterCompletion: 'DELETE',
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: {
          Arn: streamArn(stack.config),
          RoleArn: stack.config.SCHEDULER_ROLE_ARN,
          KinesisParameters: { PartitionKey: record.alarm_arn },
          RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 185 },
        },
      });
      expect(got.Target?.DeadLetterConfig).toBeUndefined(); // no SCHEDULER_DLQ_ARN (local)

      const [r] = await until('the deadline record', async () => {
        const rs = await recordsOf(stack.clients.kinesis, stack.config.STREAM_NAME, record.incident_id);
        return rs.length ? rs : undefined;
      });
      const due = Math.ceil(at / 1000) * 1000;
      expect(r.PartitionKey).toBe(partitionKeyOf(record));
      expect(Buffer.from(r.Data!).equals(Buffer.from(encodeRecord(record)))).toBe(true);
      // never early; within a second of the (whole-second) at() time (kinesalite stamps arrival in ms)
      const lateMs = r.ApproximateArrivalTimestamp!.getTime() - due;
      expect(lateMs).toBeGreaterThanOrEqual(0);
      expect(lateMs).toBeLessThan(1000);

      // ActionAfterCompletion DELETE: gone once fired
      await until('the fired schedule to be deleted', async () => {
        try {
          await stack.schedulerClient!.send(
            new GetScheduleCommand({ Name: name, GroupName: stack.config.SCHEDULER_GROUP }),
          );
          return undefined;
        } catch (err) {
          return (err as Error).name === 'ResourceNotFoundException' ? true : undefined;
        }
      });
    },
  );

  it('with a dead-letter queue, every schedule names it; the retry policy ends at the paging horizon', async () => {
    const dlq = 'arn:aws:sqs:us-east-1:000000000000:pagetrail-test-deadline-dead-letters';
    const at = Date.now() + 60_000;
    const record = deadline(at);
    const name = deadlineScheduleName(`${record.incident_id}|r0|L2`);
    expect(await deadlines(undefined, dlq).schedule({ name, at, record })).toBe('created');
    const got = await stack.schedulerClient!.send(
      new GetScheduleCommand({ Name: name, GroupName: stack.config.SCHEDULER_GROUP }),
    );
    expect(got.Target).toMatchObject({
      DeadLetterConfig: { Arn: dlq },
      RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 185 },
    });
    expect(DEADLINE_RETRY_POLICY).toEqual({ MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 185 });
    await deadlines().cancel(name);
  });

  it('scheduling the same name twice answers exists and puts exactly one record', async () => {
    const at = Date.now() + 800;
    const record = deadline(at, 3);
    const name = deadlineScheduleName(`${record.incident_id}|r0|L3`);
    const d = deadlines();
    expect(await d.schedule({ name, at, record })).toBe('created');
    expect(await d.schedule({ name, at, record })).toBe('exists');
    // a sentinel due a second later: once it arrived, the first had every chance to fire twice
    await fireSentinel(d, at + 1000);
    expect(await recordsOf(stack.clients.kinesis, stack.config.STREAM_NAME, record.incident_id)).toHaveLength(1);
  });

  it('a cancelled deadline never fires; cancelling a missing one is fine', async () => {
    const at = Date.now() + 800;
    const record = deadline(at);
    const name = deadlineScheduleName(`${record.incident_id}|r0|L2`);
    const d = deadlines();
    await d.schedule({ name, at, record });
    await d.cancel(name);
    await d.cancel(name);
    await fireSentinel(d, at + 1000);
    expect(await recordsOf(stack.clients.kinesis, stack.config.STREAM_NAME, record.incident_id)).toHaveLength(0);
  });

  it('refuses a bad name or record before calling, and wraps Scheduler errors', async () => {
    const record = deadline(Date.now() + 60_000);
    const d = deadlines();
    const bad = await d.schedule({ name: 'has space', at: Date.now() + 60_000, record }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(DeadlineScheduleError);
    expect(bad).toMatchObject({ code: 'InvalidRequest', retryable: false, scheduleName: 'has space' });
    const badRecord = await d
      .schedule({ name: 'pt-x', at: Date.now() + 60_000, record: { ...record, level: 0 } })
      .catch((e: unknown) => e);
    expect(badRecord).toMatchObject({ name: 'DeadlineScheduleError', code: 'InvalidRequest' });

    const noGroup = new EventBridgeDeadlines({
      client: stack.schedulerClient!,
      groupName: 'no-such-group',
      streamArn: streamArn(stack.config),
      roleArn: stack.config.SCHEDULER_ROLE_ARN,
    });
    const missing = await noGroup.schedule({ name: 'pt-y', at: Date.now() + 60_000, record }).catch((e: unknown) => e);
    expect(missing).toMatchObject({
      name: 'DeadlineScheduleError',
      operation: 'CreateSchedule',
      code: 'ResourceNotFoundException',
      retryable: false,
    });
    expect((missing as Error).cause).toBeDefined();
    expect((missing as Error).message).toContain('no-such-group');
  });

  it('times out a call that does not answer (retryable)', async () => {
    const silent = await import('node:net').then(
      (net) =>
        new Promise<import('node:net').Server>((resolve) => {
          const s = net.createServer(() => undefined); // accepts, never answers
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    );
    const port = (silent.address() as import('node:net').AddressInfo).port;
    const client = schedulerClient({ AWS_REGION: 'us-east-1', SCHEDULER_ENDPOINT: `http://127.0.0.1:${port}` });
    try {
      const d = new EventBridgeDeadlines({
        client,
        groupName: 'g',
        streamArn: streamArn(stack.config),
        roleArn: stack.config.SCHEDULER_ROLE_ARN,
        timeoutMs: 300,
      });
      const t0 = Date.now();
      const err = await d
        .schedule({ name: 'pt-z', at: Date.now() + 60_000, record: deadline(Date.now() + 60_000) })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'DeadlineScheduleError', code: 'Timeout', retryable: true });
      expect(Date.now() - t0).toBeLessThan(3000);
    } finally {
      client.destroy();
      silent.close();
    }
  });
});

describe.concurrent('emulator lifecycle', () => {
  const dirs: string[] = [];
  const emulators: SchedulerEmulator[] = [];
  const clients: { destroy(): void }[] = [];
  afterAll(async () => {
    await Promise.allSettled(emulators.map((e) => e.close()));
    for (const c of clients) c.destroy();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });
  const tempDir = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'pagetrail-sched-'));
    dirs.push(d);
    return d;
  };
  const start = async (dataDir: string, kinesis: Pick<KinesisClient, 'send'>) => {
    const e = await startSchedulerEmulator({ dataDir, kinesis, retryBaseMs: 50, retryMaxMs: 200 });
    emulators.push(e);
    const client = schedulerClient({ AWS_REGION: 'us-east-1', SCHEDULER_ENDPOINT: e.url });
    clients.push(client);
    return { emulator: e, client };
  };

  it('a schedule persisted while the emulator was down fires as soon as it starts again', async () => {
    const dataDir = tempDir();
    const first = await start(dataDir, stack.clients.kinesis);
    await ensureScheduleGroup(first.client, stack.config.SCHEDULER_GROUP);
    const at = Date.now() + 1000;
    const record = deadline(at);
    await deadlines(first.client).schedule({ name: deadlineScheduleName(record.incident_id), at, record });
    await first.emulator.close();

    const due = Math.ceil(at / 1000) * 1000;
    await until('the deadline to pass while the emulator is down', () => (Date.now() > due + 200 ? true : undefined));
    expect(await recordsOf(stack.clients.kinesis, stack.config.STREAM_NAME, record.incident_id)).toHaveLength(0);

    const restarted = Date.now();
    const second = await start(dataDir, stack.clients.kinesis);
    expect(second.emulator.port).not.toBe(first.emulator.port);
    const [r] = await until('the record after restart', async () => {
      const rs = await recordsOf(stack.clients.kinesis, stack.config.STREAM_NAME, record.incident_id);
      return rs.length ? rs : undefined;
    });
    expect(Date.now() - restarted).toBeLessThan(3000); // at once, not at a retry interval (a loaded machine: slack)
    expect(Buffer.from(r.Data!).equals(Buffer.from(encodeRecord(record)))).toBe(true);
    expect(second.emulator.fired()).toBe(1);
    // the engine forgets the schedule, then deletes its file: wait for both
    const files = () => fs.readdirSync(path.join(dataDir, 'schedules', stack.config.SCHEDULER_GROUP));
    await until('the schedule file to be deleted', () =>
      second.emulator.health().pending === 0 && files().length === 0 ? true : undefined,
    );
  });

  it('a Kinesis outage delays the deadline, health reports it, and it fires after recovery', async () => {
    // the emulator's Kinesis: first an endpoint where nothing listens, then the engine
    const down = kinesisClient({ AWS_REGION: 'us-east-1', KINESIS_ENDPOINT: `http://127.0.0.1:${await freePort()}` });
    clients.push(down);
    let current: Pick<KinesisClient, 'send'> = down;
    const switchable = {
      send: ((...args: Parameters<KinesisClient['send']>) => current.send(...args)) as KinesisClient['send'],
    };

    const { emulator, client } = await start(tempDir(), switchable);
    await ensureScheduleGroup(client, stack.config.SCHEDULER_GROUP);
    const at = Date.now() + 300;
    const record = deadline(at);
    await deadlines(client).schedule({ name: deadlineScheduleName(record.incident_id), at, record });

    const sick = await until('health to report the outage', async () => {
      const h = (await (await fetch(`${emulator.url}/__scheduler/health`)).json()) as {
        ok: boolean;
        pending: number;
        retrying: number;
        fired: number;
        lastError: { message: string; schedule: string } | null;
      };
      return h.ok === false && h.retrying === 1 ? h : undefined;
    });
    expect(sick).toMatchObject({ pending: 1, fired: 0 });
    expect(sick.lastError?.schedule).toContain(deadlineScheduleName(record.incident_id));
    expect(sick.lastError?.message).toMatch(/ECONNREFUSED|connect/i);
    expect(await recordsOf(stack.clients.kinesis, stack.config.STREAM_NAME, record.incident_id)).toHaveLength(0);

    current = stack.clients.kinesis; // Kinesis is back
    const [r] = await until('the record after recovery', async () => {
      const rs = await recordsOf(stack.clients.kinesis, stack.config.STREAM_NAME, record.incident_id);
      return rs.length ? rs : undefined;
    });
    expect(r.PartitionKey).toBe(record.alarm_arn);
    await until('health to recover', async () => {
      const h = (await (await fetch(`${emulator.url}/__scheduler/health`)).json()) as {
        ok: boolean;
        pending: number;
        fired: number;
      };
      return h.ok && h.pending === 0 && h.fired === 1 ? h : undefined;
    });
    expect(await recordsOf(stack.clients.kinesis, stack.config.STREAM_NAME, record.incident_id)).toHaveLength(1);
  });
});
