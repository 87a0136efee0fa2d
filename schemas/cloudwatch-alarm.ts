import { z } from 'zod';

/**
 * EventBridge "CloudWatch Alarm State Change" event (source `aws.cloudwatch`).
 * Example: fixtures/cloudwatch-alarm-state-change.json, from the CloudWatch user guide
 * ("Alarm events and EventBridge", single metric alarm). Unknown fields are kept (passthrough):
 * AWS adds fields without notice, and the raw event is evidence for post-mortems.
 */
export const AlarmStateValue = z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']);
export type AlarmStateValue = z.infer<typeof AlarmStateValue>;

export const AlarmState = z.looseObject({
  value: AlarmStateValue,
  reason: z.string().default(''),
  reasonData: z.string().optional(),
  timestamp: z.string().min(1),
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
        metrics: z.array(AlarmMetric).default([]),
      })
      .default({ metrics: [] }),
    state: AlarmState,
    previousState: AlarmState.optional(),
  }),
});
export type CloudWatchAlarmEvent = z.infer<typeof CloudWatchAlarmEvent>;

/** The first metric namespace named by the alarm (AWS/ECS, AWS/RDS, ...), if any. */
export function alarmNamespace(event: CloudWatchAlarmEvent): string | undefined {
  return event.detail.configuration.metrics.find((m) => m.metricStat)?.metricStat?.metric.namespace;
}
