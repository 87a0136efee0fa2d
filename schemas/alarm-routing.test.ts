import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  alarmTag,
  resolveSeverity,
  routeAlarm,
  SeveritySettingsSchema,
  taggedSeverity,
  unknownSeverityTag,
} from './alarm-routing.js';
import { AlarmRecord } from './alarm-record.js';
import { CloudWatchAlarmEvent, alarmKind, alarmNamespaces } from './cloudwatch-alarm.js';

const fixture = (name: string): any => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));

describe('CloudWatch alarm events of every kind (the user guide examples)', () => {
  it.each([
    ['cloudwatch-alarm-state-change.json', 'metric', ['AWS/EC2']],
    ['cloudwatch-alarm-metric-math.json', 'metric', ['AWS/EC2']],
    ['cloudwatch-alarm-composite.json', 'composite', []],
  ])('%s parses: %s alarm, namespaces %j', (file, kind, namespaces) => {
    const e = CloudWatchAlarmEvent.parse(fixture(file));
    expect(alarmKind(e)).toBe(kind);
    expect(alarmNamespaces(e)).toEqual(namespaces);
    expect(AlarmRecord.parse({ v: 1, kind: 'alarm', event: fixture(file) })).toMatchObject({
      state: 'ALARM',
      alarm_arn: e.resources[0],
    });
  });

  it('a Metrics Insights alarm (a query expression, no metricStat) is an expression alarm with no namespace', () => {
    const raw = fixture('cloudwatch-alarm-metric-math.json');
    raw.detail.configuration.metrics = [
      {
        id: 'q1',
        expression: 'SELECT AVG(CPUUtilization) FROM SCHEMA("AWS/EC2", InstanceId)',
        period: 60,
        returnData: true,
      },
    ];
    const e = CloudWatchAlarmEvent.parse(raw);
    expect(alarmKind(e)).toBe('expression');
    expect(alarmNamespaces(e)).toEqual([]);
  });

  it('the composite example keeps its alarm rule', () => {
    expect(CloudWatchAlarmEvent.parse(fixture('cloudwatch-alarm-composite.json')).detail.configuration.alarmRule).toBe(
      'ALARM(ServerCpuTooHigh) OR ALARM(TotalNetworkTrafficTooHigh)',
    );
  });
});

describe('alarm routing', () => {
  const settings = SeveritySettingsSchema.parse({
    SEVERITY_DEFAULT: 'P3',
    SEVERITY_MAP: '{"orders-":"P2","orders-api-":"P1","billing-db-cpu":"P4"}',
  });

  it.each([
    ['tag, any case', { severity: 'p1' }, 'search', 'P1'],
    ['tag key in another case', { Severity: 'P4' }, 'orders-api-x', 'P4'],
    ['an invalid tag falls through to the map', { severity: 'urgent' }, 'orders-api-x', 'P1'],
    ['longest prefix', undefined, 'orders-api-x', 'P1'],
    ['shorter prefix', undefined, 'orders-worker', 'P2'],
    ['exact name', undefined, 'billing-db-cpu', 'P4'],
    ['default', undefined, 'search', 'P3'],
  ])('%s', (_n, tags, alarmName, expected) => {
    expect(resolveSeverity({ alarmName, tags: tags as Record<string, string> | undefined }, settings)).toBe(expected);
  });

  it('without settings: no map, P2', () => {
    expect(resolveSeverity({ alarmName: 'x' })).toBe('P2');
  });

  it('tags: exact key first, then any case; blank values are none', () => {
    expect(alarmTag({ team: 'a', Team: 'b' }, 'team')).toBe('a');
    expect(alarmTag({ TEAM: ' db ' }, 'team')).toBe('db');
    expect(alarmTag({ team: '  ' }, 'team')).toBeUndefined();
    expect(taggedSeverity({ SEVERITY: 'p3' })).toBe('P3');
    expect(taggedSeverity(undefined)).toBeUndefined();
  });

  it('routeAlarm: severity and the team tag of an event; the record carries the tag severity whatever its case', () => {
    const raw = fixture('cloudwatch-alarm-composite.json');
    raw.detail.alarmTags = { Severity: 'p1', Team: 'db' };
    const e = CloudWatchAlarmEvent.parse(raw);
    expect(routeAlarm(e, settings)).toEqual({ severity: 'P1', team: 'db' });
    expect(AlarmRecord.parse({ v: 1, kind: 'alarm', event: raw }).severity).toBe('P1');
    delete raw.detail.alarmTags;
    expect(routeAlarm(CloudWatchAlarmEvent.parse(raw), settings)).toEqual({ severity: 'P3' });
  });

  it('a severity tag outside P1..P4 is ignored for the severity and reported as unknown', () => {
    const raw = fixture('cloudwatch-alarm-composite.json');
    raw.detail.alarmTags = { severity: 'P9', team: 'tstorm' };
    raw.detail.alarmName = 'not-in-the-map';
    expect(routeAlarm(CloudWatchAlarmEvent.parse(raw), settings)).toEqual({
      severity: 'P3',
      team: 'tstorm',
      unknownSeverityTag: 'P9',
    });
    expect(unknownSeverityTag({ Severity: ' critical ' })).toBe('critical');
    expect(unknownSeverityTag({ severity: 'p2' })).toBeUndefined();
    expect(unknownSeverityTag({ severity: ' ' })).toBeUndefined();
    expect(unknownSeverityTag(undefined)).toBeUndefined();
  });

  it('settings from the environment: invalid values are refused', () => {
    expect(SeveritySettingsSchema.parse({})).toEqual({ SEVERITY_DEFAULT: 'P2', SEVERITY_MAP: {} });
    expect(SeveritySettingsSchema.safeParse({ SEVERITY_MAP: '{"a":"urgent"}' }).success).toBe(false);
    expect(SeveritySettingsSchema.safeParse({ SEVERITY_MAP: 'nope' }).success).toBe(false);
    expect(SeveritySettingsSchema.safeParse({ SEVERITY_DEFAULT: 'P9' }).success).toBe(false);
  });
});
