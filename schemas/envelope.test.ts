import { describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord, partitionKeyOf, StreamRecord } from './envelope.js';
import { RecordDecodeError } from './errors.js';
import {
  ALARM_ARN,
  INCIDENT,
  T0,
  ack,
  alarmEvent,
  cloudwatchExample,
  dispatch,
  escalation,
  receipt,
} from '../test/fixtures/records.js';

const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe('stream record envelope', () => {
  it('decodes every kind and keys every record of an incident by the alarm ARN', () => {
    const records = [
      alarmEvent(),
      dispatch('SM1', T0 + 1),
      receipt('SM1', 'delivered', T0 + 2),
      ack(T0 + 3),
      escalation(T0 + 4),
    ];
    for (const r of records) {
      const d = decodeRecord(encodeRecord(r));
      expect(d.kind).toBe(r.kind);
      expect(d.incident_id).toBe(INCIDENT);
      expect(d.alarm_arn).toBe(ALARM_ARN);
      expect(partitionKeyOf(r)).toBe(ALARM_ARN);
      expect(typeof d.event_time).toBe('number');
    }
  });

  it('accepts the raw EventBridge event as the rule input transformer wraps it', () => {
    const d = decodeRecord(bytes({ v: 1, kind: 'alarm', event: cloudwatchExample() }));
    expect(d).toMatchObject({
      kind: 'alarm',
      alarm_arn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh',
      alarm_name: 'ServerCpuTooHigh',
      state: 'ALARM',
      previous_state: 'OK',
      namespace: 'AWS/EC2',
      event_time: Date.parse('2019-10-02T17:04:40.989Z'),
    });
    expect(d.incident_id).toMatch(/^inc_[0-9a-f]{20}$/);
  });

  it('takes severity from the alarm tags when the record does not carry one', () => {
    const e = cloudwatchExample();
    e.detail.alarmTags = { severity: 'P2', team: 'db' };
    expect(StreamRecord.parse({ v: 1, kind: 'alarm', event: e })).toMatchObject({ severity: 'P2' });
  });

  it.each([
    ['not JSON', new TextEncoder().encode('{"v":1,'), /not UTF-8 JSON/, '(record)'],
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0x7d]), /not UTF-8 JSON/, '(record)'],
    ['unknown kind', bytes({ v: 1, kind: 'page' }), /kind/, 'kind'],
    ['unknown version', bytes({ ...dispatch('SM1', T0), v: 2 }), /v: |invalid/i, 'v'],
    ['bad timestamp', bytes({ ...dispatch('SM1', T0), event_time: 'yesterday' }), /ISO-8601/, 'event_time'],
    ['bad status', bytes({ ...receipt('SM1', 'delivered', T0), status: 'seen' }), /status|option/i, 'status'],
    [
      'partition key not an ARN',
      bytes({ ...receipt('SM1', 'delivered', T0), alarm_arn: 'api-cpu' }),
      /arn:/,
      'alarm_arn',
    ],
    [
      'alarm event from another source',
      bytes({ v: 1, kind: 'alarm', event: { ...cloudwatchExample(), source: 'aws.ec2' } }),
      /aws.cloudwatch/,
      'event.source',
    ],
  ])('rejects %s with a pointer to the failing field', (_name, data, message, path) => {
    let err: unknown;
    try {
      decodeRecord(data);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RecordDecodeError);
    expect((err as RecordDecodeError).message).toMatch(message);
    expect((err as RecordDecodeError).path).toBe(path);
  });

  it('refuses to encode an invalid record (nothing bad is written to the stream)', () => {
    expect(() => encodeRecord({ ...dispatch('SM1', T0), level: 0 } as never)).toThrow(RecordDecodeError);
  });
});
