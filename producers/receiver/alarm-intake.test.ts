import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AlarmRecord } from '../../schemas/alarm-record.js';
import { partitionKeyOf } from '../../schemas/envelope.js';
import { alarmEventId, incidentIdOf } from '../../schemas/ids.js';
import type { CloudWatchAlarmEvent } from '../../schemas/cloudwatch-alarm.js';
import { resolveSeverity } from './alarm-intake.js';
import { loadAlarmIntakeSettings } from './config.js';
import { TEST_ENV, testApp } from './testing.js';

const fixture = (name: string): any =>
  JSON.parse(readFileSync(new URL(`../../schemas/fixtures/${name}`, import.meta.url), 'utf8'));
const example = (): any => fixture('cloudwatch-alarm-state-change.json');
/** The user guide's composite alarm example (alarmRule, no metrics). */
const composite = (): any => fixture('cloudwatch-alarm-composite.json');
/** The user guide's metric-math example (an expression over two AWS/EC2 metrics). */
const metricMath = (): any => fixture('cloudwatch-alarm-metric-math.json');
/** A Metrics Insights alarm: the metric-math example with only a query expression (no metricStat, no namespace). */
const metricsInsights = (): any => {
  const e = metricMath();
  e.detail.configuration.metrics = [
    {
      id: 'q1',
      expression: 'SELECT AVG(CPUUtilization) FROM SCHEMA("AWS/ECS", ClusterName, ServiceName)',
      period: 60,
      returnData: true,
    },
  ];
  return e;
};

function event(opts: { name?: string; namespace?: string; severityTag?: string; arn?: string } = {}) {
  const e = example();
  e.detail.alarmName = opts.name ?? 'orders-api-cpu-high';
  e.resources = [opts.arn ?? `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${e.detail.alarmName}`];
  e.detail.configuration.metrics[0].metricStat.metric.namespace = opts.namespace ?? 'AWS/ECS';
  if (opts.severityTag) e.detail.alarmTags = { severity: opts.severityTag, team: 'orders' };
  return e;
}

const post = (app: ReturnType<typeof testApp>['app'], body: unknown, key: string | null = TEST_ENV.API_KEY) =>
  app.request('/events/cloudwatch', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key === null ? {} : { 'x-api-key': key }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('resolveSeverity', () => {
  const settings = loadAlarmIntakeSettings({
    SEVERITY_DEFAULT: 'P3',
    SEVERITY_MAP: '{"orders-":"P2","orders-api-":"P1","billing-db-cpu":"P1"}',
  });
  const ev = (name: string, tag?: string) => event({ name, severityTag: tag }) as CloudWatchAlarmEvent;

  it.each([
    ['the alarm tag wins over the map', ev('orders-api-cpu-high', 'p4'), 'P4'],
    ['an invalid tag is ignored', ev('orders-api-cpu-high', 'urgent'), 'P1'],
    ['the longest matching prefix wins', ev('orders-api-cpu-high'), 'P1'],
    ['a shorter prefix', ev('orders-worker-mem'), 'P2'],
    ['an exact name', ev('billing-db-cpu'), 'P1'],
    ['no match → default', ev('search-latency'), 'P3'],
    ['a lowercase tag value', ev('search-latency', 'p1'), 'P1'],
    ['a tag value with spaces', ev('search-latency', ' P2 '), 'P2'],
  ])('%s', (_name, e, expected) => {
    expect(resolveSeverity(e, settings)).toBe(expected);
  });
});

describe('POST /events/cloudwatch', () => {
  it('writes {v:1, kind:"alarm", severity, event} keyed by the alarm ARN, the event as received', async () => {
    const { app, producer } = testApp({ config: { SEVERITY_MAP: { 'orders-': 'P1' } } });
    const e = event({ namespace: 'AWS/ECS' });
    e.detail.somethingNew = { keep: true };
    const res = await post(app, e);
    expect(res.status).toBe(200);
    expect(producer.records).toEqual([{ v: 1, kind: 'alarm', severity: 'P1', event: e }]);
    const [record] = producer.records;
    expect(partitionKeyOf(record)).toBe(e.resources[0]);
    const decoded = AlarmRecord.parse(record);
    expect(await res.json()).toEqual({
      written: [
        {
          event_id: alarmEventId(decoded.event),
          incident_id: incidentIdOf(decoded.event),
          alarm: 'orders-api-cpu-high',
          state: 'ALARM',
          severity: 'P1',
        },
      ],
    });
  });

  it('uses the alarm tag, else SEVERITY_DEFAULT', async () => {
    const { app, producer } = testApp();
    await post(app, event({ severityTag: 'P1' }));
    await post(app, event({ namespace: 'AWS/RDS' }));
    expect(producer.records.map((r) => (r as { severity?: string }).severity)).toEqual(['P1', 'P2']);
  });

  it('ignores namespaces outside ALARM_NAMESPACES with 202 and the reason, nothing written', async () => {
    const { app, producer } = testApp();
    const res = await post(app, example()); // AWS/EC2
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ ignored: 'namespace AWS/EC2 is not in ALARM_NAMESPACES' });
    expect(producer.calls).toHaveLength(0);
  });

  it('writes composite alarms (no metrics, no namespace): severity from the map, the event as received', async () => {
    const { app, producer } = testApp({ config: { SEVERITY_MAP: { ServiceAggregated: 'P1' } } });
    const e = composite();
    const res = await post(app, e);
    expect(res.status).toBe(200);
    expect(producer.records).toEqual([{ v: 1, kind: 'alarm', severity: 'P1', event: e }]);
    expect(AlarmRecord.parse(producer.records[0])).toMatchObject({
      alarm_name: 'ServiceAggregatedAlarm',
      state: 'ALARM',
      namespace: undefined,
    });
  });

  it(
    'writes Metrics Insights alarms (an expression only): ' + 'severity from a tag whose key and value are in any case',
    async () => {
      const { app, producer } = testApp();
      const e = metricsInsights();
      e.detail.alarmTags = { Severity: 'p1', Team: 'db' };
      expect((await post(app, e)).status).toBe(200);
      expect(producer.records.map((r) => (r as { severity?: string }).severity)).toEqual(['P1']);
    },
  );

  it('keeps ALARM_NAMESPACES for metric-math alarms that name a namespace', async () => {
    const { app, producer } = testApp();
    const res = await post(app, metricMath()); // AWS/EC2 metrics
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ ignored: 'namespace AWS/EC2 is not in ALARM_NAMESPACES' });
    const allowed = testApp({ config: { ALARM_NAMESPACES: ['AWS/RDS', 'AWS/EC2'] } });
    expect((await post(allowed.app, metricMath())).status).toBe(200);
    expect(allowed.producer.records).toHaveLength(1);
    expect(producer.calls).toHaveLength(0);
  });

  it('accepts an array: writes the kept alarms in one call, reports the ignored ones', async () => {
    const { app, producer } = testApp({ config: { BODY_LIMIT_BYTES: 64 * 1024 } });
    const res = await post(app, [event({ name: 'a-ecs' }), example(), event({ name: 'b-rds', namespace: 'AWS/RDS' })]);
    expect(res.status).toBe(200);
    const json = (await res.json()) as { written: unknown[]; ignored: { alarm: string }[] };
    expect(json.written).toHaveLength(2);
    expect(json.ignored.map((i) => i.alarm)).toEqual(['ServerCpuTooHigh']);
    expect(producer.calls).toHaveLength(1);
    expect(producer.calls[0]).toHaveLength(2);
  });

  it('the same event twice yields the same event_id', async () => {
    const { app, producer } = testApp();
    const e = event();
    await post(app, e);
    await post(app, e);
    const ids = producer.records.map((r) => AlarmRecord.parse(r).event_id);
    expect(ids[0]).toBe(ids[1]);
  });

  it.each([
    ['no key', null],
    ['wrong key', 'not-the-api-key-000000'],
    ['key prefix', TEST_ENV.API_KEY.slice(0, -1)],
  ])('401 with %s, nothing written', async (_name, key) => {
    const { app, producer, errorSink } = testApp();
    const res = await post(app, event(), key);
    expect(res.status).toBe(401);
    expect(producer.calls).toHaveLength(0);
    expect(errorSink.calls).toHaveLength(0);
  });

  it.each([
    ['not JSON', '{"detail":', ''],
    ['not an alarm event', { hello: 'world' }, 'id'],
    ['no resources', { ...event(), resources: [] }, 'resources'],
    ['array with one bad item (all-or-nothing)', [event(), { ...event(), source: 'aws.ec2' }], '1.source'],
    ['empty array', [], ''],
  ])('400 for %s, kept in the error sink, nothing written', async (_name, body, path) => {
    const { app, producer, errorSink } = testApp();
    const res = await post(app, body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { path?: string }).path ?? '').toBe(path);
    expect(producer.calls).toHaveLength(0);
    expect(errorSink.calls).toHaveLength(1);
    expect(errorSink.calls[0].meta.headers).not.toHaveProperty('x-api-key');
  });

  it('503 when the stream write fails', async () => {
    const { app, producer } = testApp();
    producer.failWith = new Error('kinesis down');
    expect((await post(app, event())).status).toBe(503);
  });

  it('413 above the body limit', async () => {
    const { app, producer } = testApp();
    expect((await post(app, [event(), event(), event(), event()])).status).toBe(413);
    expect(producer.calls).toHaveLength(0);
  });
});
