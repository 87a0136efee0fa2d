import { describe, expect, it } from 'vitest';
import { AlarmRecord } from '../../schemas/alarm-record.js';
import { alarmKind, CloudWatchAlarmEvent } from '../../schemas/cloudwatch-alarm.js';
import { loadOnCallConfig, policyFor, teamFor } from '../../schemas/oncall/config.js';
import { alarmRecordsFrom } from './alarm-intake.js';
import { ALARM_SAMPLES, alarmSample, sampleEvent, sampleList } from './alarm-samples.js';
import { loadAlarmIntakeSettings } from './config.js';

const demo = loadOnCallConfig(new URL('../../infra/local/oncall/demo.json', import.meta.url).pathname);
// The receiver's settings as `make up` runs it (.env.example's ALARM_NAMESPACES, SEVERITY_* defaults).
const settings = loadAlarmIntakeSettings({ ALARM_NAMESPACES: 'AWS/ECS,AWS/RDS,ECS/ContainerInsights' });
const AT = Date.parse('2026-12-04T15:30:00.250Z');

describe('send-alarm samples', () => {
  it('has the kinds the brief names, each with a documented source', () => {
    expect(ALARM_SAMPLES.map((s) => s.name)).toEqual(
      expect.arrayContaining(['rds-cpu', 'ecs-cpu', 'ecs-memory', 'composite']),
    );
    for (const s of ALARM_SAMPLES) expect(s.source).toMatch(/^schemas\/fixtures\/cloudwatch-alarm-.*\.json/);
    expect(alarmSample('nope')).toBeUndefined();
    expect(sampleList()).toHaveLength(ALARM_SAMPLES.length);
    expect(sampleList()[0]).toMatch(/^ {2}rds-cpu +orders-db-cpu-high: /);
  });

  it.each(ALARM_SAMPLES.map((s) => [s.name, s] as const))(
    '%s passes the intake filter and routes to a team with a policy in demo.json',
    (_name, sample) => {
      const event = sampleEvent(sample, AT, `sample-${sample.name}`);
      expect(CloudWatchAlarmEvent.safeParse(event).success).toBe(true);
      expect(alarmKind(CloudWatchAlarmEvent.parse(event))).toBe(sample.metric ? 'metric' : 'composite');
      const { records, ignored } = alarmRecordsFrom(JSON.parse(JSON.stringify(event)), settings);
      expect(ignored).toEqual([]);
      expect(records).toHaveLength(1);
      const a = AlarmRecord.parse(records[0]);
      expect(a.alarm_name).toBe(sample.alarmName);
      expect(a.state).toBe('ALARM');
      expect(a.severity).toBe(sample.tags.severity);
      const team = teamFor(demo, { alarmName: a.alarm_name, namespace: a.namespace, tags: event.detail.alarmTags });
      expect(a.severity && policyFor(demo, team, a.severity), `${team} ${a.severity}`).toBeTruthy();
    },
  );

  it('stamps the time it is sent and keeps the documented shape', () => {
    const event = sampleEvent(alarmSample('rds-cpu')!, AT, 'e1');
    expect(event.id).toBe('e1');
    expect(event.time).toBe('2026-12-04T15:30:00Z');
    expect(event.resources).toEqual(['arn:aws:cloudwatch:us-east-1:123456789012:alarm:orders-db-cpu-high']);
    expect(event.detail.state.timestamp).toBe('2026-12-04T15:30:00.250+0000');
    expect(event.detail.configuration.metrics[0].metricStat).toMatchObject({
      metric: { namespace: 'AWS/RDS', name: 'CPUUtilization', dimensions: { DBInstanceIdentifier: 'orders-db' } },
      period: 300,
      stat: 'Average',
    });
    expect(JSON.parse(event.detail.state.reasonData ?? '')).toMatchObject({ threshold: 80, period: 300 });
    const later = sampleEvent(alarmSample('rds-cpu')!, AT + 60_000, 'e2');
    expect(later.detail.state.timestamp).not.toBe(event.detail.state.timestamp); // a new episode, a new incident
    const comp = sampleEvent(alarmSample('composite')!, AT, 'e3');
    expect(comp.detail.configuration.alarmRule).toMatch(/^ALARM\(/);
    expect(comp.detail.state).not.toHaveProperty('actionsSuppressedBy');
  });
});
