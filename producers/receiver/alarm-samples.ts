import composite from '../../schemas/fixtures/cloudwatch-alarm-composite.json' with { type: 'json' };
import singleMetric from '../../schemas/fixtures/cloudwatch-alarm-state-change.json' with { type: 'json' };
import type { CloudWatchAlarmEvent } from '../../schemas/cloudwatch-alarm.js';

/**
 * `make send-alarm SAMPLE=<name>`: one CloudWatch "Alarm State Change" event per alarm kind pagetrail pages on,
 * each built from the event AWS documents (CloudWatch user guide, "Alarm events and EventBridge",
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html; copied in
 * schemas/fixtures/) with only the alarm's name, metric, dimensions and tags changed, stamped with the time
 * it is sent (so each send opens a new incident). Every sample passes the intake's namespace filter
 * (ALARM_NAMESPACES default) and routes to a team and severity that have a policy in
 * infra/local/oncall/demo.json (alarm-samples.test.ts holds both).
 */
export interface AlarmSample {
  name: string;
  /** One line for the list. */
  about: string;
  /** The documented example it is built from (schemas/fixtures/…, "tab" of the user guide page). */
  source: string;
  /** The alarm's tags as tag propagation puts them in the event (`detail.alarmTags`). */
  tags: Record<string, string>;
  alarmName: string;
  /** A metric alarm's metric; absent for a composite alarm. */
  metric?: { namespace: string; name: string; dimensions: Record<string, string>; threshold: number };
  /** A composite alarm's rule. */
  alarmRule?: string;
}

const SINGLE = 'schemas/fixtures/cloudwatch-alarm-state-change.json (user guide tab "Single Metric Alarm")';
const COMPOSITE = 'schemas/fixtures/cloudwatch-alarm-composite.json (user guide tab "Composite Alarm")';

export const ALARM_SAMPLES: readonly AlarmSample[] = [
  {
    name: 'rds-cpu',
    about: 'RDS instance CPU above 80 % (P1, team db by its AWS/RDS route)',
    source: SINGLE,
    alarmName: 'orders-db-cpu-high',
    tags: { severity: 'P1' },
    metric: {
      namespace: 'AWS/RDS',
      name: 'CPUUtilization',
      dimensions: { DBInstanceIdentifier: 'orders-db' },
      threshold: 80,
    },
  },
  {
    name: 'rds-storage',
    about: 'RDS free storage below 5 GiB (P3, team db)',
    source: SINGLE,
    alarmName: 'reports-db-free-storage-low',
    tags: { severity: 'P3' },
    metric: {
      namespace: 'AWS/RDS',
      name: 'FreeStorageSpace',
      dimensions: { DBInstanceIdentifier: 'reports-db' },
      threshold: 5_368_709_120,
    },
  },
  {
    name: 'ecs-cpu',
    about: 'ECS service CPU above 85 % (P1, team app by its AWS/ECS route)',
    source: SINGLE,
    alarmName: 'orders-api-cpu-high',
    tags: { severity: 'P1' },
    metric: {
      namespace: 'AWS/ECS',
      name: 'CPUUtilization',
      dimensions: { ClusterName: 'prod', ServiceName: 'orders-api' },
      threshold: 85,
    },
  },
  {
    name: 'ecs-memory',
    about: 'ECS service memory above 90 % (P2, team app)',
    source: SINGLE,
    alarmName: 'checkout-memory-high',
    tags: { severity: 'P2' },
    metric: {
      namespace: 'AWS/ECS',
      name: 'MemoryUtilization',
      dimensions: { ClusterName: 'prod', ServiceName: 'checkout' },
      threshold: 90,
    },
  },
  {
    name: 'composite',
    about: 'composite alarm over the payments service (P1, team payments by its team tag: a voice call)',
    source: COMPOSITE,
    alarmName: 'payments-service-degraded',
    tags: { severity: 'P1', team: 'payments' },
    alarmRule: 'ALARM(payments-api-cpu-high) OR ALARM(payments-db-cpu-high)',
  },
];

/** The sample named `name`, or undefined. */
export const alarmSample = (name: string) => ALARM_SAMPLES.find((s) => s.name === name);

/** The list `SAMPLE=list` (or an unknown name) prints. */
export function sampleList(): string[] {
  const width = Math.max(...ALARM_SAMPLES.map((s) => s.name.length));
  return ALARM_SAMPLES.map((s) => `  ${s.name.padEnd(width)}  ${s.alarmName}: ${s.about}`);
}

/** CloudWatch's timestamp form (`2019-10-02T17:04:40.989+0000`), as in the documented events. */
const cwTime = (ms: number) => new Date(ms).toISOString().replace('Z', '+0000');

/**
 * The sample's ALARM event at `at` (ms), with event id `id`: the documented example (deep-copied) with the sample's
 * alarm name, ARN, tags, metric or rule, and times; everything else as AWS documents it.
 */
export function sampleEvent(sample: AlarmSample, at: number, id: string): CloudWatchAlarmEvent {
  const event = structuredClone(sample.metric ? singleMetric : composite) as unknown as CloudWatchAlarmEvent;
  const arn = `arn:aws:cloudwatch:${event.region}:${event.account}:alarm:${sample.alarmName}`;
  event.id = id;
  event.time = new Date(Math.floor(at / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  event.resources = [arn];
  const d = event.detail;
  d.alarmName = sample.alarmName;
  d.alarmTags = { ...sample.tags };
  d.state.timestamp = cwTime(at);
  if (d.previousState) d.previousState.timestamp = cwTime(at - 3_600_000);
  const m = sample.metric;
  if (m) {
    const stat = d.configuration.metrics[0].metricStat;
    if (stat) stat.metric = { namespace: m.namespace, name: m.name, dimensions: m.dimensions };
    d.configuration.description = `${m.name} of ${Object.values(m.dimensions).join('/')} crossed ${m.threshold}`;
    d.state.reason =
      `Threshold Crossed: 1 out of the last 1 datapoints was ` +
      `${m.name === 'FreeStorageSpace' ? 'less' : 'greater'} than the threshold (${m.threshold}) ` +
      '(minimum 1 datapoint for OK -> ALARM transition).';
    d.state.reasonData = JSON.stringify({ ...JSON.parse(d.state.reasonData ?? '{}'), threshold: m.threshold });
  } else {
    d.configuration.alarmRule = sample.alarmRule;
    const first = /ALARM\(([^)]+)\)/.exec(sample.alarmRule ?? '')?.[1] ?? sample.alarmName;
    const child = `arn:aws:cloudwatch:${event.region}:${event.account}:alarm:${first}`;
    d.state.reason = `${child} transitioned to ALARM at ${new Date(at).toUTCString()}`;
    d.state.reasonData = JSON.stringify({
      triggeringAlarms: [{ arn: child, state: { value: 'ALARM', timestamp: cwTime(at) } }],
    });
    // The documented example is suppressed by its actions suppressor; a sample that pages is not.
    for (const k of ['actionsSuppressedBy', 'actionsSuppressedReason']) delete (d.state as Record<string, unknown>)[k];
    for (const k of ['actionsSuppressor', 'actionsSuppressorWaitPeriod', 'actionsSuppressorExtensionPeriod'])
      delete (d.configuration as Record<string, unknown>)[k];
  }
  return event;
}
