import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { StreamRecordIn } from '../../schemas/envelope.js';
import { partitionKeyOf } from '../../schemas/envelope.js';
import { AlarmIntakeSettingsSchema } from '../receiver/config.js';
import { StreamWriteError } from '../receiver/errors.js';
import { MalformedAlarmEventError } from './errors.js';
import { createAlarmIntakeHandler } from './handler.js';

const event = (): any =>
  JSON.parse(
    readFileSync(new URL('../../schemas/fixtures/cloudwatch-alarm-state-change.json', import.meta.url), 'utf8'),
  );
const ecs = () => {
  const e = event();
  e.detail.configuration.metrics[0].metricStat.metric.namespace = 'AWS/ECS';
  return e;
};

function setup(put: (records: readonly StreamRecordIn[]) => Promise<unknown> = async () => undefined) {
  const written: StreamRecordIn[] = [];
  const errors: object[] = [];
  const handler = createAlarmIntakeHandler({
    config: AlarmIntakeSettingsSchema.parse({}),
    producer: {
      putStreamRecords: async (records) => {
        await put(records);
        written.push(...records);
      },
    },
    logger: { info: () => {}, warn: () => {}, error: (o) => errors.push(o) },
  });
  return { handler, written, errors };
}

describe('EventBridge alarm function', () => {
  it('writes the alarm record the receiver would, keyed by schemas/partition-key.ts', async () => {
    const { handler, written } = setup();
    const e = ecs();
    e.resources = [`arn:aws:cloudwatch:us-east-1:123456789012:alarm:${'z'.repeat(255)}`];
    e.detail.alarmName = 'z'.repeat(255);
    const outcome = await handler(e);
    expect(outcome.written).toHaveLength(1);
    expect(written).toEqual([{ v: 1, kind: 'alarm', severity: 'P2', event: e }]);
    expect(partitionKeyOf(written[0])).toMatch(/^arn-sha256:[0-9a-f]{64}$/);
  });

  it('ignores an alarm of another namespace (as the rule pattern does), writing nothing', async () => {
    const { handler, written } = setup();
    expect((await handler(event())).ignored).toHaveLength(1); // AWS/EC2
    expect(written).toEqual([]);
  });

  it('a malformed event fails with its reason, writes nothing; a stream failure is rethrown to retry', async () => {
    const { handler, written, errors } = setup();
    const bad = ecs();
    delete bad.detail.state;
    const err = await handler(bad).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(MalformedAlarmEventError);
    expect((err as MalformedAlarmEventError).path).toBe('detail.state');
    expect((err as Error).message).toContain(bad.id);
    expect(written).toEqual([]);
    expect(errors).toHaveLength(1);

    const down = setup(async () => {
      throw new Error('kinesis down');
    });
    await expect(down.handler(ecs())).rejects.toBeInstanceOf(StreamWriteError);
  });
});
