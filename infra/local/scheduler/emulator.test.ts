/**
 * The Scheduler emulator's API through the real SDK client (and raw HTTP for the wire format): groups,
 * schedules, AWS-style errors, persistence on disk, completion actions and the retry policy.
 * Firing end to end (timing, restarts, Kinesis outages) is covered by processors/paging/deadlines.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import {
  CreateScheduleCommand,
  CreateScheduleGroupCommand,
  DeleteScheduleCommand,
  DeleteScheduleGroupCommand,
  GetScheduleCommand,
  GetScheduleGroupCommand,
  ListSchedulesCommand,
  type CreateScheduleCommandInput,
  type SchedulerClient,
} from '@aws-sdk/client-scheduler';
import { kinesisClient, schedulerClient } from '../../../platform/aws.js';
import { freePort, startKinesalite, type RunningEngine } from '../engines.js';
import { ensureStream } from '../provision.js';
import { startSchedulerEmulator, type SchedulerEmulator } from './server.js';
import { until } from '../../../test/helpers/clock.js';

const STREAM = 'sched-emulator-test';
const STREAM_ARN = `arn:aws:kinesis:us-east-1:000000000000:stream/${STREAM}`;
const ROLE_ARN = 'arn:aws:iam::000000000000:role/pagetrail-scheduler';

let kinesalite: RunningEngine;
let kinesis: KinesisClient;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  kinesalite = await startKinesalite();
  kinesis = kinesisClient({ AWS_REGION: 'us-east-1', KINESIS_ENDPOINT: kinesalite.endpoint });
  await ensureStream(kinesis, STREAM, 1);
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  kinesis?.destroy();
  await kinesalite?.close();
});

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'pagetrail-sched-api-'));
  cleanups.push(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

async function start(
  dataDir = tempDir(),
  k: Pick<KinesisClient, 'send'> = kinesis,
): Promise<{ emu: SchedulerEmulator; client: SchedulerClient; dataDir: string }> {
  const emu = await startSchedulerEmulator({ dataDir, kinesis: k, retryBaseMs: 20, retryMaxMs: 100 });
  const client = schedulerClient({ AWS_REGION: 'us-east-1', SCHEDULER_ENDPOINT: emu.url });
  cleanups.push(
    () => emu.close(),
    () => client.destroy(),
  );
  return { emu, client, dataDir };
}

const atIn = (ms: number) => `at(${new Date(Math.ceil((Date.now() + ms) / 1000) * 1000).toISOString().slice(0, 19)})`;

function input(name: string, over: Partial<CreateScheduleCommandInput> = {}): CreateScheduleCommandInput {
  return {
    Name: name,
    ScheduleExpression: atIn(3_600_000),
    FlexibleTimeWindow: { Mode: 'OFF' },
    Target: {
      Arn: STREAM_ARN,
      RoleArn: ROLE_ARN,
      Input: `{"n":"${name}"}`,
      KinesisParameters: { PartitionKey: 'pk-1' },
    },
    ...over,
  };
}

async function errorOf(
  p: Promise<unknown>,
): Promise<{ name: string; message: string; $metadata?: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as never;
  }
  throw new Error('expected the call to fail');
}

describe('groups', () => {
  it('creates, conflicts, gets and deletes a group (with its schedules)', async () => {
    const { client } = await start();
    const out = await client.send(new CreateScheduleGroupCommand({ Name: 'deadlines' }));
    expect(out.ScheduleGroupArn).toBe('arn:aws:scheduler:us-east-1:000000000000:schedule-group/deadlines');
    const dup = await errorOf(client.send(new CreateScheduleGroupCommand({ Name: 'deadlines' })));
    expect(dup.name).toBe('ConflictException');
    expect(dup.$metadata?.httpStatusCode).toBe(409);
    const g = await client.send(new GetScheduleGroupCommand({ Name: 'deadlines' }));
    expect(g).toMatchObject({ Name: 'deadlines', State: 'ACTIVE' });
    expect(g.CreationDate).toBeInstanceOf(Date);
    expect(Math.abs(g.CreationDate!.getTime() - Date.now())).toBeLessThan(5000);

    await client.send(new CreateScheduleCommand(input('s1', { GroupName: 'deadlines' })));
    await client.send(new DeleteScheduleGroupCommand({ Name: 'deadlines' }));
    expect((await errorOf(client.send(new GetScheduleGroupCommand({ Name: 'deadlines' })))).name).toBe(
      'ResourceNotFoundException',
    );
    expect((await errorOf(client.send(new GetScheduleCommand({ Name: 's1', GroupName: 'deadlines' })))).name).toBe(
      'ResourceNotFoundException',
    );
    expect((await errorOf(client.send(new DeleteScheduleGroupCommand({ Name: 'default' })))).name).toBe(
      'ValidationException',
    );
  });

  it('answers errors as AWS does on the wire: status, x-amzn-ErrorType, {Message}', async () => {
    const { emu } = await start();
    const post = () =>
      fetch(`${emu.url}/schedule-groups/g1`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
    expect((await post()).status).toBe(200);
    const res = await post();
    expect(res.status).toBe(409);
    expect(res.headers.get('x-amzn-errortype')).toBe('ConflictException');
    expect(await res.json()).toEqual({ Message: 'Schedule group g1 already exists.' });
    const unknown = await fetch(`${emu.url}/nothing-here`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
    const badJson = await fetch(`${emu.url}/schedules/x`, { method: 'POST', body: '{not json' });
    expect(badJson.status).toBe(400);
    expect(badJson.headers.get('x-amzn-errortype')).toBe('ValidationException');
  });
});

describe('schedules', () => {
  let client: SchedulerClient;
  beforeAll(async () => {
    ({ client } = await start());
  });

  it('round-trips a schedule through Create, Get, List and Delete', async () => {
    const created = await client.send(
      new CreateScheduleCommand(
        input('round.trip-1', { ActionAfterCompletion: 'DELETE', ScheduleExpressionTimezone: 'UTC' }),
      ),
    );
    expect(created.ScheduleArn).toBe('arn:aws:scheduler:us-east-1:000000000000:schedule/default/round.trip-1');
    const got = await client.send(new GetScheduleCommand({ Name: 'round.trip-1' }));
    expect(got).toMatchObject({
      Name: 'round.trip-1',
      GroupName: 'default',
      State: 'ENABLED',
      ActionAfterCompletion: 'DELETE',
      ScheduleExpressionTimezone: 'UTC',
      Target: { Arn: STREAM_ARN, RoleArn: ROLE_ARN, KinesisParameters: { PartitionKey: 'pk-1' } },
    });
    expect(got.CreationDate).toBeInstanceOf(Date);
    await client.send(new CreateScheduleCommand(input('round.trip-2')));
    await client.send(new CreateScheduleCommand(input('other')));

    const page1 = await client.send(new ListSchedulesCommand({ NamePrefix: 'round.', MaxResults: 1 }));
    expect(page1.Schedules?.map((s) => s.Name)).toEqual(['round.trip-1']);
    expect(page1.Schedules?.[0]).toMatchObject({ GroupName: 'default', State: 'ENABLED', Target: { Arn: STREAM_ARN } });
    const page2 = await client.send(
      new ListSchedulesCommand({ NamePrefix: 'round.', MaxResults: 1, NextToken: page1.NextToken }),
    );
    expect(page2.Schedules?.map((s) => s.Name)).toEqual(['round.trip-2']);
    expect(page2.NextToken).toBeUndefined();

    await client.send(new DeleteScheduleCommand({ Name: 'round.trip-1' }));
    expect((await errorOf(client.send(new GetScheduleCommand({ Name: 'round.trip-1' })))).name).toBe(
      'ResourceNotFoundException',
    );
    expect((await errorOf(client.send(new DeleteScheduleCommand({ Name: 'round.trip-1' })))).name).toBe(
      'ResourceNotFoundException',
    );
  });

  it('answers ConflictException for a name that exists and ResourceNotFoundException for a missing group', async () => {
    await client.send(new CreateScheduleCommand(input('dup')));
    const dup = await errorOf(client.send(new CreateScheduleCommand(input('dup'))));
    expect(dup.name).toBe('ConflictException');
    const noGroup = await errorOf(client.send(new CreateScheduleCommand(input('x', { GroupName: 'nope' }))));
    expect(noGroup.name).toBe('ResourceNotFoundException');
    expect(noGroup.$metadata?.httpStatusCode).toBe(404);
  });

  it.each([
    ['a name with a space', input('bad name'), /name/],
    ['a rate() expression', input('r', { ScheduleExpression: 'rate(5 minutes)' }), /at\(\) schedules only/],
    ['a cron() expression', input('c', { ScheduleExpression: 'cron(0 12 * * ? *)' }), /at\(\) schedules only/],
    ['a malformed at()', input('m', { ScheduleExpression: 'at(2026-11-28 10:05:01)' }), /Invalid Schedule Expression/],
    [
      'an impossible date',
      input('d', { ScheduleExpression: 'at(2026-02-30T10:05:01)' }),
      /Invalid Schedule Expression/,
    ],
    ['a non-UTC time zone', input('tz', { ScheduleExpressionTimezone: 'Europe/Paris' }), /UTC only/],
    [
      'a Lambda target',
      input('l', {
        Target: {
          Arn: 'arn:aws:lambda:us-east-1:000000000000:function:f',
          RoleArn: ROLE_ARN,
          Input: '{}',
          KinesisParameters: { PartitionKey: 'k' },
        },
      }),
      /Target\.Arn/,
    ],
    [
      'a Kinesis target without a partition key',
      input('p', { Target: { Arn: STREAM_ARN, RoleArn: ROLE_ARN, Input: '{}' } }),
      /KinesisParameters/,
    ],
    [
      'a target without Input',
      input('i', { Target: { Arn: STREAM_ARN, RoleArn: ROLE_ARN, KinesisParameters: { PartitionKey: 'k' } } }),
      /Target\.Input/,
    ],
    [
      'an Input over 8192 characters',
      input('big', {
        Target: {
          Arn: STREAM_ARN,
          RoleArn: ROLE_ARN,
          Input: 'x'.repeat(8193),
          KinesisParameters: { PartitionKey: 'k' },
        },
      }),
      /Target\.Input/,
    ],
    [
      'a role that is not an IAM role ARN',
      input('role', {
        Target: { Arn: STREAM_ARN, RoleArn: 'arn:aws:s3:::b', Input: '{}', KinesisParameters: { PartitionKey: 'k' } },
      }),
      /RoleArn/,
    ],
    [
      'another target type as well',
      input('sqs', {
        Target: {
          Arn: STREAM_ARN,
          RoleArn: ROLE_ARN,
          Input: '{}',
          KinesisParameters: { PartitionKey: 'k' },
          SqsParameters: { MessageGroupId: 'g' },
        },
      }),
      /SqsParameters/,
    ],
    [
      'a retry policy out of range',
      input('rp', {
        Target: {
          Arn: STREAM_ARN,
          RoleArn: ROLE_ARN,
          Input: '{}',
          KinesisParameters: { PartitionKey: 'k' },
          RetryPolicy: { MaximumEventAgeInSeconds: 30 },
        },
      }),
      /MaximumEventAgeInSeconds/,
    ],
    ['FLEXIBLE without a window', input('fw', { FlexibleTimeWindow: { Mode: 'FLEXIBLE' } }), /MaximumWindowInMinutes/],
  ] as [string, CreateScheduleCommandInput, RegExp][])(
    'refuses %s with ValidationException',
    async (_what, req, why) => {
      const err = await errorOf(client.send(new CreateScheduleCommand(req)));
      expect(err.name).toBe('ValidationException');
      expect(err.$metadata?.httpStatusCode).toBe(400);
      expect(err.message).toMatch(why);
    },
  );
});

describe('firing and persistence', () => {
  it('ActionAfterCompletion NONE keeps the schedule and fires it once; DISABLED never fires', async () => {
    const { client, emu } = await start();
    const at = atIn(300);
    await client.send(
      new CreateScheduleCommand(input('keep', { ScheduleExpression: at, ActionAfterCompletion: 'NONE' })),
    );
    await client.send(new CreateScheduleCommand(input('off', { ScheduleExpression: at, State: 'DISABLED' })));
    // a sentinel a second later: once it fired, the others had every chance
    await client.send(
      new CreateScheduleCommand(input('sentinel', { ScheduleExpression: atIn(1300), ActionAfterCompletion: 'DELETE' })),
    );
    await until('the sentinel to fire', () => (emu.health().pending === 0 ? true : undefined));
    expect(emu.fired()).toBe(2);
    expect((await client.send(new GetScheduleCommand({ Name: 'keep' }))).Name).toBe('keep');
    expect((await client.send(new GetScheduleCommand({ Name: 'off' }))).State).toBe('DISABLED');
    expect((await errorOf(client.send(new GetScheduleCommand({ Name: 'sentinel' })))).name).toBe(
      'ResourceNotFoundException',
    );
  });

  it('persists groups and schedules as JSON files, skips junk on load and keeps state across a restart', async () => {
    const first = await start();
    await first.client.send(new CreateScheduleGroupCommand({ Name: 'g' }));
    await first.client.send(new CreateScheduleCommand(input('later', { GroupName: 'g' })));
    const file = path.join(first.dataDir, 'schedules', 'g', 'later.json');
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toMatchObject({
      name: 'later',
      groupName: 'g',
      target: { Arn: STREAM_ARN },
    });
    expect(fs.readdirSync(path.dirname(file))).toEqual(['later.json']); // no temp files left
    await first.emu.close();

    // what a kill mid-write and a damaged file leave behind
    fs.writeFileSync(path.join(path.dirname(file), 'half.json.123.abcd.tmp'), '{"v":1,"na');
    fs.writeFileSync(path.join(path.dirname(file), 'broken.json'), '{"v":1,"na');
    const second = await start(first.dataDir);
    expect((await second.client.send(new GetScheduleCommand({ Name: 'later', GroupName: 'g' }))).Name).toBe('later');
    expect((await second.client.send(new GetScheduleGroupCommand({ Name: 'g' }))).Name).toBe('g');
    expect((await errorOf(second.client.send(new GetScheduleCommand({ Name: 'broken', GroupName: 'g' })))).name).toBe(
      'ResourceNotFoundException',
    );
    expect(fs.readdirSync(path.dirname(file)).sort()).toEqual(['broken.json', 'later.json']);
    expect(second.emu.health()).toMatchObject({ ok: true, pending: 1, fired: 0 });
  });

  it('MaximumRetryAttempts 0: a failed put is dropped, not retried, and health counts it', async () => {
    const down = kinesisClient({ AWS_REGION: 'us-east-1', KINESIS_ENDPOINT: `http://127.0.0.1:${await freePort()}` });
    cleanups.push(() => down.destroy());
    const { client, emu } = await start(tempDir(), down);
    await client.send(
      new CreateScheduleCommand(
        input('once', {
          ScheduleExpression: atIn(0),
          ActionAfterCompletion: 'DELETE',
          Target: {
            Arn: STREAM_ARN,
            RoleArn: ROLE_ARN,
            Input: '{}',
            KinesisParameters: { PartitionKey: 'k' },
            RetryPolicy: { MaximumRetryAttempts: 0 },
          },
        }),
      ),
    );
    const h = await until('the drop', () => (emu.health().dropped === 1 ? emu.health() : undefined));
    expect(h).toMatchObject({ pending: 0, fired: 0, retrying: 0, ok: true });
    expect(h.lastError?.schedule).toBe('default/once');
    expect((await errorOf(client.send(new GetScheduleCommand({ Name: 'once' })))).name).toBe(
      'ResourceNotFoundException',
    );
  });
});
