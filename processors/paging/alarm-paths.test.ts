import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EscalationEngine } from './escalation.js';
import { loadPagingConfig } from './config.js';
import { parseOnCallConfig } from '../../schemas/oncall/config.js';
import { alarmRecordsFrom } from '../../producers/receiver/alarm-intake.js';
import { loadAlarmIntakeSettings } from '../../producers/receiver/config.js';
import { StreamRecord, type StreamRecordIn } from '../../schemas/envelope.js';

/**
 * One alarm, two ways onto the stream — the receiver's intake (which resolves a severity) and the
 * EventBridge rule (which writes the raw event) — must open the same incident with the same severity
 * and team. Both read SEVERITY_MAP / SEVERITY_DEFAULT from the same environment variables.
 */
const demo = JSON.parse(readFileSync(new URL('../../infra/local/oncall/demo.json', import.meta.url), 'utf8'));
// demo: app pages P1, P2; db pages P1, P3; routes by namespace (RDS → db, ECS → app); default team app
const oncall = parseOnCallConfig({
  ...demo,
  routes: [{ alarm_prefix: 'ServiceAggregated', team: 'db' }, ...demo.routes],
});
const ENV = {
  SEVERITY_DEFAULT: 'P3',
  SEVERITY_MAP: '{"TotalNetwork":"P1","ServiceAggregatedAlarm":"P1","orders-":"P2"}',
  ALARM_NAMESPACES: 'AWS/ECS,AWS/RDS,AWS/EC2',
};
const PAGING_ENV = {
  ...ENV,
  PUBLIC_BASE_URL: 'https://alerts.example.com',
  TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`,
  TWILIO_AUTH_TOKEN: 'x'.repeat(32),
  RESEND_API_KEY: 're_test',
  ACK_LINK_SECRET: 's'.repeat(32),
};
const intake = loadAlarmIntakeSettings(ENV);
const paging = loadPagingConfig(PAGING_ENV);
const engine = new EscalationEngine(oncall, { maxAlarmAgeMs: 3600_000, severity: paging });

const fixture = (name: string): any =>
  JSON.parse(readFileSync(new URL(`../../schemas/fixtures/${name}`, import.meta.url), 'utf8'));
const insights = (): any => {
  const e = fixture('cloudwatch-alarm-metric-math.json');
  e.detail.alarmName = 'orders-p99-latency';
  e.resources = ['arn:aws:cloudwatch:us-east-1:123456789012:alarm:orders-p99-latency'];
  e.detail.configuration.metrics = [
    {
      id: 'q1',
      expression: 'SELECT MAX(TargetResponseTime) FROM SCHEMA("AWS/ApplicationELB", LoadBalancer)',
      period: 60,
      returnData: true,
    },
  ];
  return e;
};

function opened(record: StreamRecordIn) {
  const r = StreamRecord.parse(record);
  const applied = engine.apply(undefined, r, r.event_time + 1000);
  return applied.state
    ? {
        incident: applied.state.incidentId,
        severity: applied.state.severity,
        team: applied.state.team,
        pages: applied.state.outbox.filter((e) => e.type === 'page').length,
      }
    : { note: applied.note };
}

function bothPaths(event: any) {
  const [viaIntake] = alarmRecordsFrom(structuredClone(event), intake).records;
  // the rule's ENVELOPE_TEMPLATE
  const viaRule: StreamRecordIn = { v: 1, kind: 'alarm', event: structuredClone(event) };
  return { intake: opened(viaIntake), rule: opened(viaRule) };
}

describe('the same alarm through the intake and the EventBridge rule', () => {
  it.each([
    [
      'composite, by the map (exact name), team by the alarm_prefix route',
      () => fixture('cloudwatch-alarm-composite.json'),
      { severity: 'P1', team: 'db' },
    ],
    [
      'composite, a lowercase severity tag and a Team tag',
      () => ({
        ...fixture('cloudwatch-alarm-composite.json'),
        detail: { ...fixture('cloudwatch-alarm-composite.json').detail, alarmTags: { Severity: 'p2', Team: 'app' } },
      }),
      { severity: 'P2', team: 'app' },
    ],
    [
      'metric math, by the map (prefix), default team',
      () => fixture('cloudwatch-alarm-metric-math.json'),
      { severity: 'P1', team: 'app' },
    ],
    ['Metrics Insights, by the map (prefix), default team', insights, { severity: 'P2', team: 'app' }],
  ])('%s', (_name, make, expected) => {
    const { intake: a, rule: b } = bothPaths(make());
    expect(a).toEqual(b);
    expect(a).toMatchObject(expected);
    expect((a as { pages: number }).pages).toBeGreaterThan(0);
  });

  it('SEVERITY_DEFAULT, not a hard-coded P2, for a record with no severity and no map entry', () => {
    const e = insights();
    e.detail.alarmName = 'search-latency';
    const { intake: a, rule: b } = bothPaths(e);
    // P3 has no policy for the default team (app): both paths page the demo's unrouted_fallback (alice, sms + email)
    expect(a).toEqual(b);
    expect(a).toMatchObject({ severity: 'P3', team: 'app', pages: 2 });
  });
});
