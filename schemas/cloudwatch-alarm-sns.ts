import { z } from 'zod';
import { AlarmStateValue, type CloudWatchAlarmEvent } from './cloudwatch-alarm.js';
import { isTimestamp } from './time.js';

/**
 * A CloudWatch alarm's SNS notification: what an alarm action publishes to an SNS topic (the SNS message's
 * `Message`, JSON text), which is not the EventBridge "Alarm State Change" event (cloudwatch-alarm.ts): PascalCase
 * fields, the new and old state values but only the new state's time (`StateChangeTime`), `Region` as a display
 * name ("US East (N. Virginia)"), and the metric under `Trigger` (`MetricName`, `Namespace`, `Dimensions` as
 * `[{name, value}]`; a metric-math alarm's `Trigger.Metrics[]` as PutMetricAlarm's MetricDataQuery). Known answers:
 * fixtures/cloudwatch-alarm-sns-{single-metric,multiple-metrics}.json, the `Message` of AWS's own test events in
 * aws/aws-lambda-go `events/testdata/cloudwatch-alarm-sns-payload-*.json` (fixtures/README.md):
 * `{"AlarmName":"EXAMPLE","AlarmDescription":"EXAMPLE","AWSAccountId":"123456789012","NewStateValue":"ALARM",
 * "NewStateReason":"Threshold Crossed: …","StateChangeTime":"2015-06-03T17:43:27.123+0000","Region":"EXAMPLE",
 * "AlarmArn":"arn:aws:cloudwatch:REGION:ACCOUNT_NUMBER:alarm:EXAMPLE","OldStateValue":"INSUFFICIENT_DATA",
 * "Trigger":{"MetricName":"NetworkOut","Namespace":"AWS/EC2",…,"Dimensions":[{"value":"TestInstance",
 * "name":"InstanceId"}],"Period":60,…}}`. A composite alarm's names its `AlarmRule` instead of a metric.
 *
 * `AlarmArn` is required: the alarm's identity (its incidents, its partition key) is its ARN, the same on both paths.
 * Unknown fields are kept.
 */
const Dimensions = z
  .array(z.looseObject({ name: z.string(), value: z.string() }))
  .nullable()
  .optional();

const SnsMetricStat = z.looseObject({
  Metric: z.looseObject({ MetricName: z.string(), Namespace: z.string(), Dimensions }),
  Period: z.number().optional(),
  Stat: z.string().optional(),
});

export const CloudWatchAlarmSnsMessage = z.looseObject({
  AlarmName: z.string().min(1),
  AlarmDescription: z.string().nullable().optional(),
  AWSAccountId: z.string().optional(),
  AlarmArn: z.string().startsWith('arn:'),
  NewStateValue: AlarmStateValue,
  OldStateValue: AlarmStateValue.optional(),
  NewStateReason: z.string().default(''),
  StateChangeTime: z.string().min(1).refine(isTimestamp, 'not an ISO-8601 timestamp'),
  Region: z.string().optional(),
  AlarmRule: z.string().optional(),
  Trigger: z
    .looseObject({
      MetricName: z.string().optional(),
      Namespace: z.string().optional(),
      Dimensions,
      Period: z.number().optional(),
      Statistic: z.string().nullable().optional(),
      Metrics: z
        .array(
          z.looseObject({
            Id: z.string().optional(),
            Expression: z.string().optional(),
            Label: z.string().optional(),
            ReturnData: z.boolean().optional(),
            MetricStat: SnsMetricStat.optional(),
          }),
        )
        .optional(),
    })
    .optional(),
});
export type CloudWatchAlarmSnsMessage = z.infer<typeof CloudWatchAlarmSnsMessage>;

/** Whether a parsed JSON value looks like a CloudWatch alarm notification (to tell it from the other kinds). */
export function isCloudWatchAlarmSns(json: unknown): boolean {
  if (!json || typeof json !== 'object' || Array.isArray(json)) return false;
  const o = json as Record<string, unknown>;
  return 'AlarmName' in o && 'NewStateValue' in o;
}

const dims = (d: z.infer<typeof Dimensions>): Record<string, string> =>
  Object.fromEntries((d ?? []).map((x) => [x.name, x.value]));

/**
 * The EventBridge event the same state change gives (cloudwatch-alarm.ts), so both paths make one alarm record:
 * `resources[0]` the AlarmArn, `detail.state` the new state at StateChangeTime — the alarm's state-update time,
 * which EventBridge's `detail.state.timestamp` carries too — so the record's event id (alarm, state, time) and its
 * incident id (alarm, time it entered ALARM) are the ones the EventBridge event gives, and an alarm sent both ways
 * pages once. The SNS message has no time for the old state: `previousState` gets StateChangeTime, which makes an
 * OK's own incident id differ from the episode's; the paging handler puts an OK after ALARM on the alarm's open
 * incident opened no later than that time (processors/paging/handler.ts `continuesOpen`), so it still resolves it.
 * Account and region come from the ARN (SNS's `Region` is a display name); `id` is the SNS MessageId; the
 * notification as received is kept under `pagetrail-sns-message` (the record says `via: 'sns'`, alarm-record.ts).
 */
export function eventFromSnsAlarm(m: CloudWatchAlarmSnsMessage, snsMessageId: string): CloudWatchAlarmEvent {
  const arn = m.AlarmArn.split(':');
  const t = m.Trigger;
  const metrics: CloudWatchAlarmEvent['detail']['configuration']['metrics'] = [];
  if (t?.Metrics?.length) {
    for (const q of t.Metrics) {
      const s = q.MetricStat;
      metrics.push({
        ...(q.Id !== undefined ? { id: q.Id } : {}),
        ...(q.Expression !== undefined ? { expression: q.Expression } : {}),
        ...(q.Label !== undefined ? { label: q.Label } : {}),
        ...(q.ReturnData !== undefined ? { returnData: q.ReturnData } : {}),
        ...(s
          ? {
              metricStat: {
                metric: {
                  namespace: s.Metric.Namespace,
                  name: s.Metric.MetricName,
                  dimensions: dims(s.Metric.Dimensions),
                },
                ...(s.Period !== undefined ? { period: s.Period } : {}),
                ...(s.Stat !== undefined ? { stat: s.Stat } : {}),
              },
            }
          : {}),
      });
    }
  } else if (t?.MetricName !== undefined && t.Namespace !== undefined) {
    metrics.push({
      metricStat: {
        metric: { namespace: t.Namespace, name: t.MetricName, dimensions: dims(t.Dimensions) },
        ...(t.Period !== undefined ? { period: t.Period } : {}),
        ...(t.Statistic ? { stat: t.Statistic } : {}),
      },
      returnData: true,
    });
  }
  const at = m.StateChangeTime;
  return {
    version: '0',
    id: snsMessageId,
    'detail-type': 'CloudWatch Alarm State Change',
    source: 'aws.cloudwatch',
    account: arn[4] || m.AWSAccountId || '',
    time: at,
    region: arn[3] ?? '',
    resources: [m.AlarmArn],
    detail: {
      alarmName: m.AlarmName,
      configuration: {
        ...(m.AlarmDescription ? { description: m.AlarmDescription } : {}),
        metrics,
        ...(m.AlarmRule !== undefined ? { alarmRule: m.AlarmRule } : {}),
      },
      state: { value: m.NewStateValue, reason: m.NewStateReason, timestamp: at },
      ...(m.OldStateValue ? { previousState: { value: m.OldStateValue, reason: '', timestamp: at } } : {}),
    },
    'pagetrail-sns-message': m,
  };
}

/**
 * The SNS notification an alarm action publishes for the state change an EventBridge event describes (the inverse
 * of `eventFromSnsAlarm`, as far as SNS carries it: no tags, no reasonData, no old-state time): the local sender's
 * samples and the tests' "the same alarm both ways".
 */
export function snsAlarmMessage(e: CloudWatchAlarmEvent): CloudWatchAlarmSnsMessage {
  const d = e.detail;
  // an event as received (not parsed) may leave configuration or metrics out: a composite alarm's has none
  const config = d.configuration ?? { metrics: [] };
  const metrics = config.metrics ?? [];
  const first = metrics.find((m) => m.metricStat)?.metricStat;
  const onlyOne = metrics.length === 1 && first;
  const dimensions = (x: Record<string, string>) => Object.entries(x).map(([name, value]) => ({ value, name }));
  return {
    AlarmName: d.alarmName,
    AlarmDescription: config.description ?? null,
    AWSAccountId: e.account,
    NewStateValue: d.state.value,
    NewStateReason: d.state.reason,
    StateChangeTime: d.state.timestamp,
    Region: e.region,
    AlarmArn: e.resources[0],
    ...(d.previousState ? { OldStateValue: d.previousState.value } : {}),
    ...(config.alarmRule !== undefined ? { AlarmRule: config.alarmRule } : {}),
    ...(config.alarmRule !== undefined
      ? {}
      : {
          Trigger: onlyOne
            ? {
                MetricName: first.metric.name,
                Namespace: first.metric.namespace,
                Dimensions: dimensions(first.metric.dimensions),
                ...(first.period !== undefined ? { Period: first.period } : {}),
                ...(first.stat !== undefined ? { Statistic: first.stat.toUpperCase() } : {}),
              }
            : {
                Metrics: metrics.map((m) => ({
                  ...(m.id !== undefined ? { Id: m.id } : {}),
                  ...(m.expression !== undefined ? { Expression: m.expression } : {}),
                  ...(m.label !== undefined ? { Label: m.label } : {}),
                  ...(m.returnData !== undefined ? { ReturnData: m.returnData } : {}),
                  ...(m.metricStat
                    ? {
                        MetricStat: {
                          Metric: {
                            Dimensions: dimensions(m.metricStat.metric.dimensions),
                            MetricName: m.metricStat.metric.name,
                            Namespace: m.metricStat.metric.namespace,
                          },
                          ...(m.metricStat.period !== undefined ? { Period: m.metricStat.period } : {}),
                          ...(m.metricStat.stat !== undefined ? { Stat: m.metricStat.stat } : {}),
                        },
                      }
                    : {}),
                })),
              },
        }),
  };
}
