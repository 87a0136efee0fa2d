import type { CloudWatchAlarmEvent } from '../../schemas/cloudwatch-alarm.js';
import { incidentId } from '../../schemas/ids.js';

/**
 * The demo's CloudWatch "Alarm State Change" events (as EventBridge delivers them), one per story.
 * Who is paged, on what, and how each person's phone or mailbox answers are in
 * infra/local/oncall/demo.json and demo-behaviours.json.
 */
export interface DemoStory {
  alarmName: string;
  severity: 'P1' | 'P2' | 'P3';
  namespace: 'AWS/ECS' | 'AWS/RDS';
  metric: string;
  dimensions: Record<string, string>;
  story: string;
  /** The alarm's `team` tag (routes it to that team whatever its namespace). */
  team?: string;
  /** What the lake must show for the story to be told (checked on the `incidents` view). */
  done: string;
}

export const DEMO_STORIES: DemoStory[] = [
  {
    alarmName: 'orders-api-cpu-high',
    severity: 'P1',
    namespace: 'AWS/ECS',
    metric: 'CPUUtilization',
    dimensions: { ClusterName: 'prod', ServiceName: 'orders-api' },
    story: 'P1: alice opens the email and acks before the deadline',
    done: 'acknowledged_at IS NOT NULL',
  },
  {
    alarmName: 'billing-db-connections',
    severity: 'P1',
    namespace: 'AWS/RDS',
    metric: 'DatabaseConnections',
    dimensions: { DBInstanceIdentifier: 'billing-db' },
    story: 'P1: bob never opens it; escalates to carol, who reads it on WhatsApp and acks',
    done: 'escalated_at IS NOT NULL AND acknowledged_at IS NOT NULL',
  },
  {
    alarmName: 'checkout-memory-high',
    severity: 'P2',
    namespace: 'AWS/ECS',
    metric: 'MemoryUtilization',
    dimensions: { ClusterName: 'prod', ServiceName: 'checkout' },
    story: "P2: dave's SMS is undelivered; fails over to WhatsApp, delivered and read",
    done: 'first_opened_at IS NOT NULL AND failed_deliveries > 0',
  },
  {
    alarmName: 'reports-db-free-storage',
    severity: 'P3',
    namespace: 'AWS/RDS',
    metric: 'FreeStorageSpace',
    dimensions: { DBInstanceIdentifier: 'reports-db' },
    story: "P3: erin's email bounces; fails over to SMS, delivered",
    done: 'first_delivered_at IS NOT NULL AND failed_deliveries > 0',
  },
  {
    alarmName: 'orders-db-replica-lag',
    severity: 'P2',
    namespace: 'AWS/RDS',
    metric: 'ReplicaLag',
    dimensions: { DBInstanceIdentifier: 'orders-db-replica' },
    story: "P2: the carrier accepts hank's SMS and never delivers it; 8 s of silence, it fails over to WhatsApp, read",
    done: 'first_opened_at IS NOT NULL',
  },
  {
    alarmName: 'payments-api-cpu-high',
    severity: 'P1',
    namespace: 'AWS/ECS',
    metric: 'CPUUtilization',
    dimensions: { ClusterName: 'prod', ServiceName: 'payments-api' },
    team: 'payments',
    story:
      "P1: the payments schedule's on-call person (this week's rotation) is called, answers and presses 1; " +
      'the rest of the team is told of the ack',
    done: 'acknowledged_at IS NOT NULL',
  },
];

const WORDS = ['no', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];

/**
 * What `make demo` says it plays, counted from the stories (never a literal): "five CloudWatch alarms (ECS and RDS)".
 * The README says the same; demo-alarms.test.ts holds both to the list.
 */
export function demoHeadline(stories: readonly DemoStory[] = DEMO_STORIES): string {
  const n = stories.length;
  const kinds = [...new Set(stories.map((s) => s.namespace.replace('AWS/', '')))];
  const and = kinds.length > 1 ? `${kinds.slice(0, -1).join(', ')} and ${kinds.at(-1)}` : kinds.join('');
  return `${WORDS[n] ?? n} CloudWatch alarm${n === 1 ? '' : 's'}${and ? ` (${and})` : ''}`;
}

const ACCOUNT = '123456789012';
export const demoAlarmArn = (name: string) => `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:${name}`;

/** The ALARM (or OK) event of a story; `enteredAlarmAt` names the episode (and so the incident). */
export function demoAlarmEvent(
  s: DemoStory,
  state: 'ALARM' | 'OK',
  at: number,
  enteredAlarmAt: number,
): CloudWatchAlarmEvent {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    version: '0',
    id: `demo-${s.alarmName}-${state}-${at}`,
    'detail-type': 'CloudWatch Alarm State Change',
    source: 'aws.cloudwatch',
    account: ACCOUNT,
    time: iso(at),
    region: 'us-east-1',
    resources: [demoAlarmArn(s.alarmName)],
    detail: {
      alarmName: s.alarmName,
      alarmTags: { severity: s.severity, ...(s.team ? { team: s.team } : {}) },
      configuration: {
        description: `${s.metric} on ${Object.values(s.dimensions).join('/')}`,
        metrics: [
          {
            id: 'm1',
            metricStat: {
              metric: { namespace: s.namespace, name: s.metric, dimensions: s.dimensions },
              period: 60,
              stat: 'Average',
            },
            returnData: true,
          },
        ],
      },
      state: {
        value: state,
        reason:
          state === 'ALARM'
            ? `Threshold Crossed: ${s.metric} above its threshold for 3 datapoints`
            : 'Threshold Crossed: back below the threshold',
        timestamp: iso(at),
      },
      previousState: {
        value: state === 'ALARM' ? 'OK' : 'ALARM',
        reason: '',
        timestamp: iso(state === 'ALARM' ? at - 3600_000 : enteredAlarmAt),
      },
    },
  };
}

export const demoIncidentId = (s: DemoStory, enteredAlarmAt: number) =>
  incidentId(demoAlarmArn(s.alarmName), enteredAlarmAt);
