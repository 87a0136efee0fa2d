import { readFileSync } from 'node:fs';
import type { AlertmanagerWebhook } from '../../schemas/alertmanager-webhook.js';
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

/**
 * The demo's last story, after the CloudWatch ones: an Alertmanager group (two alerts) posted to
 * POST /events/alertmanager as Alertmanager's webhook sends it. Its notifications are the repo's samples
 * (schemas/fixtures/alertmanager-group-{firing,partial,resolved}.json) with fresh times and the `team` label of a
 * demo team with a short policy (demo.json `checkout`: grace by SMS, told when it resolves); the sample's severity
 * `critical` reads P1. Its incident id is the paging engine's (found in the lake by the restatement of the
 * firing notification), not computed ahead like a CloudWatch alarm's.
 */
export interface DemoGroupStory {
  /** The group's `alertname` (its incident's alarm name). */
  alarmName: string;
  /** The `team` label the demo gives the group's alerts. */
  team: string;
  severity: 'P1';
  story: string;
  /** What the lake must show for the story to be told (checked on the `incidents` view). */
  done: string;
}

export const DEMO_GROUP_STORY: DemoGroupStory = {
  alarmName: 'CheckoutErrorRate',
  team: 'checkout',
  severity: 'P1',
  story:
    'P1 from Alertmanager: a group of two alerts pages grace once by SMS; one alert resolves (still open), ' +
    'then the other: resolved, and grace is told',
  done: 'resolved_at IS NOT NULL AND notices > 0',
};

/** Every story the demo tells: the CloudWatch alarms, then the Alertmanager group. */
export const DEMO_STORY_COUNT = DEMO_STORIES.length + 1;

/** What `make demo` says it plays: "six CloudWatch alarms (ECS and RDS) and an Alertmanager group". */
export function demoPlays(stories: readonly DemoStory[] = DEMO_STORIES): string {
  return `${demoHeadline(stories)} and an Alertmanager group`;
}

/** A count in words, as the demo's printout and the README say it ("seven"). */
export const inWords = (n: number) => WORDS[n] ?? String(n);

export type GroupStage = 'firing' | 'partial' | 'resolved';

/**
 * Prometheus' label-set fingerprint (FNV-1a 64 over the sorted names and values, each followed by 0xff:
 * prometheus/common `model.LabelsToSignature`), as Alertmanager writes an alert's `fingerprint`: the samples'
 * fingerprints are these.
 */
export function labelsFingerprint(labels: Record<string, string>): string {
  const MASK = (1n << 64n) - 1n;
  let h = 0xcbf29ce484222325n;
  const add = (bytes: Iterable<number>) => {
    for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & MASK;
  };
  for (const k of Object.keys(labels).sort()) {
    add(Buffer.from(k, 'utf8'));
    add([0xff]);
    add(Buffer.from(labels[k], 'utf8'));
    add([0xff]);
  }
  return h.toString(16).padStart(16, '0');
}

/**
 * One notification of the demo's group: the sample of that stage with the story's team label (the groupKey and each
 * alert's fingerprint follow the labels, as Alertmanager computes them), the alerts' `startsAt` moved to `startedAt`
 * (keeping their spacing), and the `endsAt` of a resolved alert the time it resolved: `endedAt[i]` for the sample's
 * i-th alert (the last time given when there is none for it).
 */
export function demoGroupNotification(
  stage: GroupStage,
  startedAt: number,
  endedAt: readonly number[] = [],
): AlertmanagerWebhook {
  const sample = JSON.parse(
    readFileSync(new URL(`../../schemas/fixtures/alertmanager-group-${stage}.json`, import.meta.url), 'utf8'),
  ) as AlertmanagerWebhook;
  const team = DEMO_GROUP_STORY.team;
  const first = Math.min(...sample.alerts.map((a) => Date.parse(a.startsAt)));
  const iso = (ms: number) => new Date(ms).toISOString();
  const relabel = (labels: Record<string, string>) => ('team' in labels ? { ...labels, team } : labels);
  return {
    ...sample,
    alerts: sample.alerts.map((a, i) => {
      const labels = relabel(a.labels);
      const ended = endedAt[i] ?? endedAt.at(-1);
      return {
        ...a,
        labels,
        startsAt: iso(startedAt + (Date.parse(a.startsAt) - first)),
        ...(a.status === 'resolved' && ended !== undefined ? { endsAt: iso(ended) } : {}),
        fingerprint: labelsFingerprint(labels),
      };
    }),
    groupLabels: relabel(sample.groupLabels),
    commonLabels: relabel(sample.commonLabels),
    groupKey: sample.groupKey.replace(/team="[^"]*"/, `team="${team}"`),
  };
}
