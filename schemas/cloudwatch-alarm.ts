import { z } from 'zod';
import { isTimestamp } from './time.js';

/**
 * EventBridge "CloudWatch Alarm State Change" event (source `aws.cloudwatch`), of every alarm kind:
 * a metric alarm (`configuration.metrics[].metricStat`), a metric-math or Metrics Insights alarm
 * (`metrics[].expression`, with or without metricStat metrics beside it) and a composite alarm
 * (`configuration.alarmRule`, no metrics). Examples from the CloudWatch user guide ("Alarm events and
 * EventBridge"): fixtures/cloudwatch-alarm-state-change.json, fixtures/cloudwatch-alarm-metric-math.json,
 * fixtures/cloudwatch-alarm-composite.json (fixtures/README.md). Unknown fields are kept (passthrough):
 * AWS adds fields without notice, and the raw event is evidence for post-mortems.
 */
export const AlarmStateValue = z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']);
export type AlarmStateValue = z.infer<typeof AlarmStateValue>;

export const AlarmState = z.looseObject({
  value: AlarmStateValue,
  reason: z.string().default(''),
  reasonData: z.string().optional(),
  // Checked here, not only where it is parsed (alarm-record.ts, ids.ts): a schema-valid event must not throw later.
  timestamp: z.string().min(1).refine(isTimestamp, 'not an ISO-8601 timestamp'),
});

const Metric = z.looseObject({
  namespace: z.string(),
  name: z.string(),
  dimensions: z.record(z.string(), z.string()).default({}),
});

export const AlarmMetric = z.looseObject({
  id: z.string().optional(),
  metricStat: z.looseObject({ metric: Metric, period: z.number().optional(), stat: z.string().optional() }).optional(),
  expression: z.string().optional(),
  label: z.string().optional(),
  returnData: z.boolean().optional(),
});

export const CloudWatchAlarmEvent = z.looseObject({
  version: z.string().default('0'),
  id: z.string().min(1),
  'detail-type': z.literal('CloudWatch Alarm State Change'),
  source: z.literal('aws.cloudwatch'),
  account: z.string(),
  time: z.string(),
  region: z.string(),
  resources: z.array(z.string().startsWith('arn:')).min(1),
  detail: z.looseObject({
    alarmName: z.string().min(1),
    /** Present when the alarm has tag propagation enabled. */
    alarmTags: z.record(z.string(), z.string()).optional(),
    configuration: z
      .looseObject({
        description: z.string().optional(),
        /** Absent on composite alarms. */
        metrics: z.array(AlarmMetric).default([]),
        /** Composite alarms only: `ALARM(a) OR ALARM(b)`. */
        alarmRule: z.string().optional(),
      })
      .default({ metrics: [] }),
    state: AlarmState,
    previousState: AlarmState.optional(),
  }),
});
export type CloudWatchAlarmEvent = z.infer<typeof CloudWatchAlarmEvent>;

/**
 * The first metric namespace named by the alarm (AWS/ECS, AWS/RDS, ...), if any (none: composite, Metrics Insights).
 */
export function alarmNamespace(event: CloudWatchAlarmEvent): string | undefined {
  return event.detail.configuration.metrics.find((m) => m.metricStat)?.metricStat?.metric.namespace;
}

/** Every distinct metric namespace the alarm's metrics name, in order. */
export function alarmNamespaces(event: CloudWatchAlarmEvent): string[] {
  const out: string[] = [];
  for (const m of event.detail.configuration.metrics) {
    const ns = m.metricStat?.metric.namespace;
    if (ns !== undefined && !out.includes(ns)) out.push(ns);
  }
  return out;
}

/** The first metric name of the alarm's metricStat metrics, if any. */
export function alarmMetricName(event: CloudWatchAlarmEvent): string | undefined {
  return event.detail.configuration.metrics.find((m) => m.metricStat)?.metricStat?.metric.name;
}

/**
 * The kind of alarm: `composite` (an alarm rule over other alarms), `metric` (names at least one
 * metric, so a namespace; metric-math alarms over named metrics included) or `expression` (only
 * expressions: a Metrics Insights query alarm, no namespace).
 */
export type AlarmKind = 'composite' | 'metric' | 'expression';
export function alarmKind(event: CloudWatchAlarmEvent): AlarmKind {
  const c = event.detail.configuration;
  if (c.alarmRule !== undefined) return 'composite';
  return c.metrics.some((m) => m.metricStat) ? 'metric' : 'expression';
}
