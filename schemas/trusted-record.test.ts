import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { generateEvents } from '../test/bench/generate.js';
import { StreamRecord, decodeRecord } from './envelope.js';
import { RecordDecodeError } from './errors.js';
import {
  FINGERPRINTS,
  TRUSTED_SCHEMAS,
  decodeTrusted,
  schemaFingerprint,
  setTrustedDecode,
  type TrustedKind,
} from './trusted-record.js';

const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));

/** What the full schema says about a JSON value: its output, or the RecordDecodeError message. */
function viaZod(json: unknown): { ok: true; value: unknown } | { ok: false; message: string } {
  const parsed = StreamRecord.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, message: new RecordDecodeError(issue.message, issue.path).message };
}

/** The fast path never takes what zod rejects, and what it takes equals zod's output, key order included. */
function expectSameAsZod(json: unknown): 'fast' | 'zod' {
  const fast = decodeTrusted(json);
  const ref = viaZod(json);
  if (fast !== undefined) {
    expect(ref.ok, `fast path accepted what zod rejects: ${JSON.stringify(json)}`).toBe(true);
    expect(JSON.stringify(fast)).toBe(JSON.stringify((ref as { value: unknown }).value));
    expect(fast).toEqual((ref as { value: unknown }).value);
  }
  // And decodeRecord (fast path on) decides exactly as zod does.
  if (ref.ok) expect(decodeRecord(enc(json))).toEqual(ref.value);
  else expect(() => decodeRecord(enc(json))).toThrow(ref.message);
  return fast !== undefined ? 'fast' : 'zod';
}

const base = {
  v: 1,
  event_id: 'evt_0123456789abcdef',
  incident_id: 'inc_0123456789',
  alarm_arn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:api-cpu',
  event_time: '2026-11-28T10:00:01.000Z',
};
const EXAMPLES: Record<TrustedKind, Record<string, unknown>> = {
  dispatch: {
    ...base,
    kind: 'dispatch',
    message_id: 'SM0123',
    channel: 'sms',
    provider: 'twilio',
    recipient: '+15551230001',
    person: 'alice',
    level: 1,
    alarm_name: 'api-cpu',
    severity: 'P1',
    outcome: 'sent',
    round: 0,
    possible_duplicate: true,
    resolved_by: { schedule: 'primary', layer: 0, source: 'rotation', override: false },
    notice: 'ack',
    quiet_hours: false,
    escalate_at: '2026-11-28T10:05:01.000Z',
  },
  receipt: {
    ...base,
    kind: 'receipt',
    provider: 'resend',
    channel: 'email',
    message_id: 'e-1',
    dispatch_id: 'dsp_1',
    status: 'bounced',
    provider_status: 'email.bounced',
    recipient: 'a@example.com',
    error_code: 'Permanent',
    error_message: 'no such mailbox',
    raw: '{"type":"email.bounced"}',
  },
  ack: {
    ...base,
    kind: 'ack',
    channel: 'whatsapp',
    via: 'whatsapp_reply',
    person: 'carol',
    recipient: 'whatsapp:+15551230003',
    message_id: 'SM9',
  },
  escalation: {
    ...base,
    kind: 'escalation',
    reason: 'failover',
    round: 1,
    from_level: 1,
    to_level: 2,
    from_channel: 'sms',
    to_channel: 'email',
    message_id: 'SM1',
    person: 'bob',
    cause: 'no_receipt',
    silence_ms: 90_000,
    maintenance_window: 'deploys',
    alarm_event_id: 'evt_1',
  },
  deadline: {
    ...base,
    kind: 'deadline',
    purpose: 'delivery',
    dispatch_id: 'dsp_1',
    round: 2,
    level: 3,
    scheduled_at: '2026-11-28T09:55:01.000+0000',
  },
};

/** Values that break some check: wrong types, out of range, empty, not in an enum, not a time. */
const BAD_VALUES: unknown[] = [
  null,
  undefined,
  '',
  'x',
  'zzz-not-in-any-enum',
  0,
  -1,
  1.5,
  2 ** 60,
  '1',
  true,
  [],
  {},
  ['sms'],
  { schedule: 'x' },
  'arn',
  '2026-13-01T00:00:00.000Z',
  'not a time',
  'a'.repeat(200),
];

afterEach(() => setTrustedDecode(true));

describe('trusted fast path', () => {
  it('is written against the schemas as they are (fingerprints match)', () => {
    const now = Object.fromEntries(Object.entries(TRUSTED_SCHEMAS).map(([k, s]) => [k, schemaFingerprint(s)]));
    // A difference means a schema changed: update the checks in trusted-record.ts, then FINGERPRINTS.
    expect(now).toEqual(FINGERPRINTS);
  });

  it('a changed schema has another fingerprint', () => {
    const changed = TRUSTED_SCHEMAS.ack.extend({ via: z.enum(['sms_reply', 'api']) });
    expect(schemaFingerprint(changed)).not.toBe(FINGERPRINTS.ack);
    expect(schemaFingerprint(TRUSTED_SCHEMAS.ack.extend({ extra: z.string().optional() }))).not.toBe(FINGERPRINTS.ack);
  });

  it('takes every full example and returns what zod returns', () => {
    for (const ex of Object.values(EXAMPLES)) expect(expectSameAsZod(ex)).toBe('fast');
    // defaults filled in as zod fills them
    expect(decodeTrusted({ ...base, kind: 'deadline', level: 1 })).toEqual({
      ...base,
      event_time: Date.parse(base.event_time),
      kind: 'deadline',
      purpose: 'level',
      round: 0,
      level: 1,
    });
  });

  it('decides like zod on every field of every kind set to every bad value, and with each field removed', () => {
    let fast = 0;
    let total = 0;
    for (const ex of Object.values(EXAMPLES)) {
      for (const key of Object.keys(ex)) {
        const { [key]: _, ...without } = ex;
        if (expectSameAsZod(without) === 'fast') fast++;
        total++;
        for (const bad of BAD_VALUES) {
          if (expectSameAsZod({ ...ex, [key]: bad }) === 'fast') fast++;
          total++;
        }
      }
    }
    // Optional fields removed, or bad values zod also accepts (any string for `person`): taken; the rest go to zod.
    expect(fast).toBeGreaterThan(0);
    expect(fast).toBeLessThan(total);
  });

  it('leaves to zod what it does not vouch for: unknown keys, other versions, other kinds, alarms, non-objects', () => {
    const cases: unknown[] = [
      { ...EXAMPLES.ack, extra: 1 },
      JSON.parse(`{"__proto__":{"x":1},${JSON.stringify(EXAMPLES.ack).slice(1)}`),
      { ...EXAMPLES.ack, v: 2 },
      { ...EXAMPLES.ack, kind: 'constructor' },
      { ...EXAMPLES.ack, kind: '__proto__' },
      { ...EXAMPLES.ack, kind: 'alarm' },
      { ...EXAMPLES.dispatch, resolved_by: { ...(EXAMPLES.dispatch.resolved_by as object), extra: 1 } },
      { ...EXAMPLES.dispatch, resolved_by: { schedule: 'primary', layer: 'weekend', source: 'ical' } },
      { ...EXAMPLES.dispatch, resolved_by: { schedule: 'primary', layer: -1, source: 'ical' } },
      { ...EXAMPLES.dispatch, message_id: null },
      [EXAMPLES.ack],
      null,
      'ack',
      42,
    ];
    for (const c of cases) expectSameAsZod(c);
    for (const c of cases.slice(0, 7)) expect(decodeTrusted(c)).toBeUndefined();
  });

  it('a record that passes the cheap envelope check but fails a field check is never taken', () => {
    const r = { ...EXAMPLES.receipt, status: 'read' }; // Twilio's word, not ours: zod rejects it
    expect(decodeTrusted(r)).toBeUndefined();
    expect(() => decodeRecord(enc(r))).toThrow(RecordDecodeError);
    expect(() => decodeRecord(enc({ ...EXAMPLES.dispatch, level: 0 }))).toThrow(/level/);
  });

  it('generated stream records decode the same with the fast path on and off', () => {
    const records = generateEvents({ events: 3000, seed: 5 });
    const on = records.map((r) => decodeRecord(r.data));
    setTrustedDecode(false);
    const off = records.map((r) => decodeRecord(r.data));
    expect(JSON.stringify(on)).toBe(JSON.stringify(off));
    setTrustedDecode(true);
    const taken = records.filter(
      (r) => decodeTrusted(JSON.parse(new TextDecoder().decode(r.data))) !== undefined,
    ).length;
    expect(taken / records.length).toBeGreaterThan(0.8); // all but the alarms
  });
});
