/**
 * Bounded fuzz of every POST route of the receiver, in-process (`app.request`) with the fake stream and
 * error sink: random bytes, truncated JSON, deeply nested JSON, `__proto__`/`constructor` keys, wrong
 * content types, huge numbers, mutated fixtures, each sent correctly signed or not. Seeded (a failure
 * names its seed and case), a fixed number of cases, and a time bound.
 *
 * Asserted for every case: an answer (no throw), within a second, never a 5xx (except 503 while the
 * fake stream or error sink is made to fail), nothing written or kept for a 401, every written record
 * encodable for the stream, and Object.prototype untouched.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import twilio from 'twilio';
import { encodeRecord, decodeRecord } from '../../schemas/envelope.js';
import { parseForm } from '../../producers/receiver/body-parse.js';
import { ackLinkUrl } from '../../shared/ack-links.js';
import {
  PAGE,
  TEST_ENV,
  fixture,
  formBody,
  jsonFixture,
  pageQuery,
  svixHeaders,
  testApp,
} from '../../producers/receiver/testing.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_128);
const CASES = Number(process.env.FUZZ_CASES ?? 1500);
const TIME_BOUND_MS = 20_000;
const NOW = Date.parse('2026-11-28T10:00:00.000Z');

/** mulberry32: small, seedable, good enough to pick cases. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  return { next, int, pick, chance: (p: number) => next() < p };
}
type Rng = ReturnType<typeof prng>;

interface Case {
  route: string;
  path: string;
  headers: Record<string, string>;
  body: string | Uint8Array;
  label: string;
}

const ALARM = jsonFixture<Record<string, unknown>>('../../../schemas/fixtures/cloudwatch-alarm-state-change.json');
const RESEND = ['email.delivered.json', 'email.bounced.json', 'email.opened.json'].map((n) =>
  jsonFixture<Record<string, unknown>>(`resend/${n}`),
);
const TWILIO = ['sms-delivered.json', 'whatsapp-failed-63016.json', 'inbound-sms.json'].map((n) =>
  fixture(`twilio/${n}`),
);
const INGEST = {
  incident_id: PAGE.incidentId,
  alarm_arn: PAGE.alarmArn,
  channel: 'sms',
  status: 'delivered',
  timestamp: '2026-11-28T09:59:00.000Z',
  message_id: 'ext-1',
};

const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];
const HOSTILE_VALUES: unknown[] = [
  // biome-ignore-start lint/correctness/noPrecisionLoss: hostile on purpose (±Infinity, beyond a double's precision)
  1e400,
  -1e400,
  123456789012345678901234567890,
  // biome-ignore-end lint/correctness/noPrecisionLoss: the hostile literals end here
  -0,
  0.1e-320,
  Number.MAX_SAFE_INTEGER + 2,
  '',
  ' ',
  '\u0000',
  '\ud800',
  'x'.repeat(3000),
  null,
  true,
  [],
  {},
  [[[]]],
  JSON.parse('{"__proto__":{"polluted":1}}'),
  'not a time',
  '2026-13-45T99:99:99Z',
  'arn:' + 'a'.repeat(400),
  '+275760-09-13T00:00:00.001Z',
];

function randomBytes(rng: Rng, max: number): Uint8Array {
  const out = new Uint8Array(rng.int(max));
  for (let i = 0; i < out.length; i++) out[i] = rng.int(256);
  return out;
}

const deepJson = (rng: Rng) => {
  const depth = rng.pick([65, 100, 1000, 5000, 20_000, 60_000]);
  const [open, close] = rng.chance(0.5) ? ['[', ']'] : ['{"a":', '}'];
  const inner = open.repeat(depth) + '1' + close.repeat(depth);
  return rng.chance(0.5) ? inner : `{"deep":${inner}}`;
};

/** A JSON value with one field somewhere replaced, removed or a hostile key added. */
function mutate(rng: Rng, value: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(value)) as unknown;
  const objects: Record<string, unknown>[] = [];
  const walk = (v: unknown) => {
    if (v && typeof v === 'object') {
      objects.push(v as Record<string, unknown>);
      Object.values(v).forEach(walk);
    }
  };
  walk(copy);
  for (let n = 1 + rng.int(3); n > 0; n--) {
    const target = rng.pick(objects);
    const keys = Object.keys(target);
    const op = rng.int(3);
    if (op === 0 && keys.length) target[rng.pick(keys)] = rng.pick(HOSTILE_VALUES);
    else if (op === 1 && keys.length) delete target[rng.pick(keys)];
    else
      Object.defineProperty(target, rng.pick(HOSTILE_KEYS), {
        value: rng.pick(HOSTILE_VALUES),
        enumerable: true,
        configurable: true,
        writable: true,
      });
  }
  return copy;
}

/** A JSON body text: mutated fixture, truncated, nested, hostile keys, raw junk. */
function jsonText(rng: Rng, base: unknown): string {
  switch (rng.int(6)) {
    case 0:
      return JSON.stringify(mutate(rng, base));
    case 1: {
      const s = JSON.stringify(base);
      return s.slice(0, rng.int(s.length));
    }
    case 2:
      return deepJson(rng);
    case 3:
      return JSON.stringify(base).replace(
        /^\{/,
        `{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},`,
      );
    case 4:
      return rng.pick([
        '',
        'null',
        '[]',
        '{}',
        '"x"',
        '1e400',
        '[' + '1,'.repeat(2000) + '1]',
        'true',
        '{"a":1}{"b":2}',
        '\ufeff{}',
      ]);
    default:
      return JSON.stringify(Array.from({ length: 1 + rng.int(3) }, () => (rng.chance(0.7) ? base : mutate(rng, base))));
  }
}

const CONTENT_TYPES = [
  'application/json',
  'application/x-www-form-urlencoded',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/json; charset=latin1',
  '',
];
const contentType = (rng: Rng, right: string) => (rng.chance(0.8) ? right : rng.pick(CONTENT_TYPES));
const bytesOr = (rng: Rng, text: string): string | Uint8Array => (rng.chance(0.1) ? randomBytes(rng, 600) : text);

function twilioCase(rng: Rng): Case {
  const sign = rng.chance(0.8);
  if (rng.chance(0.3)) {
    // JSON body, bodySHA256 in the URL
    const text = jsonText(rng, rng.pick(TWILIO));
    const path = `/webhooks/twilio?${pageQuery()}&bodySHA256=${createHash('sha256').update(text).digest('hex')}`;
    const signature = twilio.getExpectedTwilioSignature(
      sign ? TEST_ENV.TWILIO_AUTH_TOKEN : 'wrong-token',
      TEST_ENV.PUBLIC_BASE_URL + path,
      {},
    );
    return {
      route: 'twilio-json',
      path,
      headers: { 'content-type': contentType(rng, 'application/json'), 'x-twilio-signature': signature },
      body: text,
      label: 'twilio json',
    };
  }
  const params: Record<string, string | string[]> = { ...rng.pick(TWILIO) };
  for (let n = rng.int(4); n > 0; n--) {
    const op = rng.int(4);
    const keys = Object.keys(params);
    if (op === 0) delete params[rng.pick(keys)];
    else if (op === 1) params[rng.pick(keys)] = String(rng.pick(HOSTILE_VALUES));
    else if (op === 2) params[rng.pick(keys)] = [String(rng.pick(HOSTILE_VALUES)), 'x'];
    else
      params[rng.pick(['MessageStatus', 'Body', 'ErrorCode', 'From', 'To'])] = rng.pick([
        'ACK 1234',
        'ack',
        'received',
        'bogus',
        '',
        'delivered',
        'whatsapp:+15550001111',
      ]);
  }
  let text = formBody(params);
  if (rng.chance(0.3))
    text += '&' + new URLSearchParams([[rng.pick(HOSTILE_KEYS), String(rng.pick(HOSTILE_VALUES))]]).toString();
  if (rng.chance(0.1)) text = Buffer.from(randomBytes(rng, 400)).toString('latin1');
  const path = rng.chance(0.9)
    ? `/webhooks/twilio?${pageQuery()}`
    : rng.pick(['/webhooks/twilio', '/webhooks/twilio?incident=x', `/webhooks/twilio?${pageQuery()}&%zz=1`]);
  // Signed over what the receiver will parse (null-prototype: hostile keys included, as twilio-node does).
  const signature = twilio.getExpectedTwilioSignature(
    sign ? TEST_ENV.TWILIO_AUTH_TOKEN : 'wrong-token',
    TEST_ENV.PUBLIC_BASE_URL + path,
    parseForm(text),
  );
  return {
    route: 'twilio-form',
    path,
    headers: { 'content-type': contentType(rng, 'application/x-www-form-urlencoded'), 'x-twilio-signature': signature },
    body: text,
    label: 'twilio form',
  };
}

function resendCase(rng: Rng): Case {
  const text = jsonText(rng, rng.pick(RESEND));
  const sign = rng.chance(0.8);
  // Svix checks svix-timestamp against the real clock (±5 min).
  const headers = svixHeaders(text, {
    secret: sign
      ? TEST_ENV.RESEND_WEBHOOK_SECRET
      : 'whsec_' + Buffer.from('another-secret-0123456789').toString('base64'),
  });
  return {
    route: 'resend',
    path: '/webhooks/resend',
    headers: { 'content-type': contentType(rng, 'application/json'), ...headers },
    body: bytesOr(rng, text),
    label: 'resend',
  };
}

function apiCase(rng: Rng, path: string, base: unknown): Case {
  const key = rng.chance(0.85) ? TEST_ENV.API_KEY : rng.pick(['', 'wrong-key-0123456789abcdef']);
  return {
    route: path,
    path,
    headers: { 'content-type': contentType(rng, 'application/json'), ...(key ? { 'x-api-key': key } : {}) },
    body: bytesOr(rng, jsonText(rng, base)),
    label: path,
  };
}

function ackCase(rng: Rng): Case {
  const url = new URL(
    ackLinkUrl(
      TEST_ENV.PUBLIC_BASE_URL,
      { incidentId: PAGE.incidentId, alarmArn: PAGE.alarmArn, person: 'alice' },
      TEST_ENV.ACK_LINK_SECRET,
      NOW + 3_600_000,
    ),
  );
  const params = Object.fromEntries(url.searchParams);
  if (rng.chance(0.6)) params[rng.pick([...Object.keys(params), ...HOSTILE_KEYS])] = String(rng.pick(HOSTILE_VALUES));
  const text = rng.chance(0.15) ? Buffer.from(randomBytes(rng, 300)).toString('latin1') : formBody(params);
  return {
    route: 'ack',
    path: '/ack',
    headers: { 'content-type': contentType(rng, 'application/x-www-form-urlencoded') },
    body: text,
    label: 'ack',
  };
}

/**
 * Voice: call status callbacks, the answered call's TwiML request, and the key-press (Gather) callback, signed like
 * every Twilio webhook.
 */
function voiceCase(rng: Rng): Case {
  const sign = rng.chance(0.8);
  const kind = rng.pick(['status', 'status', 'gather', 'answer'] as const);
  const gather = kind !== 'status';
  const params: Record<string, string | string[]> = gather
    ? {
        CallSid: `CA${'0'.repeat(32)}`,
        Digits: rng.pick(['1', '2', '', '#', '11']),
        AnsweredBy: rng.pick(['human', 'machine_start', 'unknown', '']),
        To: '+15551230002',
        From: '+15550000000',
      }
    : {
        CallSid: `CA${'1'.repeat(32)}`,
        CallStatus: rng.pick([
          'queued',
          'initiated',
          'ringing',
          'in-progress',
          'completed',
          'busy',
          'no-answer',
          'failed',
          'canceled',
          'bogus',
          '',
        ]),
        AnsweredBy: rng.pick(['human', 'machine_end_beep', 'fax', 'unknown', 'weird', '']),
        To: '+15551230002',
        From: '+15550000000',
      };
  for (let n = rng.int(3); n > 0; n--) {
    const keys = Object.keys(params);
    if (rng.chance(0.5)) delete params[rng.pick(keys)];
    else params[rng.pick(keys)] = String(rng.pick(HOSTILE_VALUES));
  }
  let text = formBody(params);
  if (rng.chance(0.3))
    text += '&' + new URLSearchParams([[rng.pick(HOSTILE_KEYS), String(rng.pick(HOSTILE_VALUES))]]).toString();
  if (rng.chance(0.1)) text = Buffer.from(randomBytes(rng, 400)).toString('latin1');
  const base =
    kind === 'gather'
      ? '/webhooks/twilio/voice/gather'
      : kind === 'answer'
        ? '/webhooks/twilio/voice/answer'
        : '/webhooks/twilio/voice';
  const script =
    kind === 'answer' && rng.chance(0.8)
      ? `&${new URLSearchParams({
          say: String(rng.pick(['Alarm.', ...HOSTILE_VALUES])),
          ref: rng.pick(['7Q2M9XKD', '', 'x<y']),
        })}`
      : '';
  const path = rng.chance(0.9) ? `${base}?${pageQuery()}${script}` : base;
  const signature = twilio.getExpectedTwilioSignature(
    sign ? TEST_ENV.TWILIO_AUTH_TOKEN : 'wrong-token',
    TEST_ENV.PUBLIC_BASE_URL + path,
    parseForm(text),
  );
  return {
    route: `voice-${kind}`,
    path,
    headers: { 'content-type': contentType(rng, 'application/x-www-form-urlencoded'), 'x-twilio-signature': signature },
    body: text,
    label: `voice ${kind}`,
  };
}

function nextCase(rng: Rng): Case {
  switch (rng.int(6)) {
    case 0:
      return twilioCase(rng);
    case 5:
      return voiceCase(rng);
    case 1:
      return resendCase(rng);
    case 2:
      return apiCase(
        rng,
        '/events/cloudwatch',
        rng.chance(0.5)
          ? ALARM
          : {
              ...ALARM,
              detail: {
                ...(ALARM.detail as object),
                configuration: {
                  metrics: [{ metricStat: { metric: { namespace: 'AWS/ECS', name: 'CPUUtilization' } } }],
                },
              },
            },
      );
    case 3:
      return apiCase(rng, '/api/v1/ingest/events', INGEST);
    default:
      return ackCase(rng);
  }
}

type Harness = ReturnType<typeof testApp>;

async function run(h: Harness, k: Case, allow503: boolean): Promise<{ status: number; ms: number }> {
  const before = { records: h.producer.records.length, kept: h.errorSink.calls.length };
  const started = performance.now();
  const res = await h.app.request(k.path, { method: 'POST', headers: k.headers, body: k.body });
  await res.arrayBuffer();
  const ms = performance.now() - started;
  const where = `${k.label} ${k.path} ${JSON.stringify(
    typeof k.body === 'string' ? k.body.slice(0, 200) : `<${k.body.length} bytes>`,
  )}`;
  // A hang detector, not a speed bound (speed: make bench-receiver): every case is answered, in-process.
  expect(ms, `no answer for 10 s: ${where}`).toBeLessThan(10_000);
  if (res.status >= 500) expect(allow503 && res.status === 503, `${res.status} for ${where}`).toBe(true);
  if (res.status === 401) {
    expect(h.producer.records.length, `401 wrote a record: ${where}`).toBe(before.records);
    expect(h.errorSink.calls.length, `401 kept a body: ${where}`).toBe(before.kept);
  }
  for (const r of h.producer.records.slice(before.records))
    expect(() => decodeRecord(encodeRecord(r)), `unencodable record from ${where}`).not.toThrow();
  return { status: res.status, ms };
}

function harness(): Harness {
  return testApp({
    config: { BODY_LIMIT_BYTES: 256 * 1024, ALARM_NAMESPACES: ['AWS/EC2', 'AWS/ECS'] },
    now: () => NOW,
  });
}

describe('receiver fuzz (bounded, seeded)', () => {
  it(`${CASES} hostile requests over every POST route: never a 5xx, never slow, nothing kept for a 401`, async () => {
    const rng = prng(SEED);
    const h = harness();
    const started = Date.now();
    const statuses = new Map<string, number>();
    for (let i = 0; i < CASES && Date.now() - started < TIME_BOUND_MS; i++) {
      const k = nextCase(rng);
      const { status } = await run(h, k, false);
      statuses.set(`${k.route} ${status}`, (statuses.get(`${k.route} ${status}`) ?? 0) + 1);
    }
    if (process.env.FUZZ_VERBOSE) console.log(Object.fromEntries([...statuses].sort()));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // The generator reaches every route, authentic and not, accepted and rejected.
    const seen = [...statuses.keys()];
    for (const route of [
      'twilio-form',
      'twilio-json',
      'resend',
      '/events/cloudwatch',
      '/api/v1/ingest/events',
      'ack',
      'voice-status',
      'voice-gather',
      'voice-answer',
    ]) {
      expect(
        seen.some((s) => s.startsWith(route + ' 4')),
        `${route} never rejected`,
      ).toBe(true);
    }
    for (const accepted of [
      'twilio-form 200',
      'resend 200',
      '/events/cloudwatch 200',
      '/api/v1/ingest/events 200',
      'ack 200',
      'voice-status 200',
      'voice-gather 200',
      'voice-answer 200',
    ])
      expect(seen).toContain(accepted);
    expect(seen.some((s) => s.endsWith(' 401'))).toBe(true);
    expect(h.errorSink.calls.length).toBeGreaterThan(0);
  }, 30_000);

  it('with the stream or the error sink down: 503 (the documented retry answer), never another 5xx', async () => {
    const rng = prng(SEED + 1);
    const h = harness();
    let saw503 = false;
    for (let i = 0; i < 300; i++) {
      h.producer.failWith = rng.chance(0.5) ? new Error('stream down') : undefined;
      h.errorSink.failWith = rng.chance(0.5) ? new Error('sink down') : undefined;
      const { status } = await run(h, nextCase(rng), true);
      saw503 ||= status === 503;
    }
    expect(saw503).toBe(true);
  }, 30_000);
});
