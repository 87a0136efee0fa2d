import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PayloadError, SignatureError } from './errors.js';
import { ResendVerifier, type SvixHeaders } from './resend-signature.js';
import { jsonFixture, svixHeaders, thrown } from './testing.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const body = JSON.stringify(jsonFixture('resend/email.delivered.json'));
const verifier = new ResendVerifier(SECRET);
const MIN = 60_000;

const reject = thrown;

describe('ResendVerifier', () => {
  // Acceptance (prefix, rotation, ±5 min): the known answers below, not signatures made by svix itself.

  const good = svixHeaders(body, { secret: SECRET });
  const sig = good['svix-signature']!;
  const failures: [string, SvixHeaders, string?][] = [
    ['missing svix-id', { ...good, 'svix-id': undefined }],
    ['missing svix-timestamp', { ...good, 'svix-timestamp': undefined }],
    ['missing svix-signature', { ...good, 'svix-signature': undefined }],
    ['timestamp not a number', { ...good, 'svix-timestamp': 'yesterday' }],
    ['timestamp with trailing junk', { ...good, 'svix-timestamp': `${good['svix-timestamp']}abc` }],
    ['timestamp in milliseconds', { ...good, 'svix-timestamp': String(Date.now()) }],
    ['too old (6 min)', svixHeaders(body, { secret: SECRET, date: new Date(Date.now() - 6 * MIN) })],
    ['too new (6 min ahead)', svixHeaders(body, { secret: SECRET, date: new Date(Date.now() + 6 * MIN) })],
    ['timestamp changed after signing', { ...good, 'svix-timestamp': String(Number(good['svix-timestamp']) - 1) }],
    ['svix-id changed after signing', { ...good, 'svix-id': 'msg_other' }],
    [
      'wrong secret',
      svixHeaders(body, { secret: 'whsec_' + Buffer.from('another-secret-of-24-byt').toString('base64') }),
    ],
    ['truncated signature', { ...good, 'svix-signature': sig.slice(0, -6) }],
    ['signature without version', { ...good, 'svix-signature': sig.slice(3) }],
    ['wrong version', { ...good, 'svix-signature': sig.replace('v1,', 'v2,') }],
    ['altered body', good, body.replace('email.delivered', 'email.opened')],
    ['body with extra whitespace', good, body + ' '],
  ];
  it.each(failures)('rejects: %s', (_name, headers, b) => {
    expect(reject(() => verifier.verify(b ?? body, headers))).toBeInstanceOf(SignatureError);
  });

  it('an authentic body that is not JSON is a payload error', () => {
    const text = 'not json';
    expect(reject(() => verifier.verify(text, svixHeaders(text, { secret: SECRET })))).toBeInstanceOf(PayloadError);
  });
});

describe('known answers: Standard Webhooks test vectors (Svix signs the same way, svix-* headers)', () => {
  const v = jsonFixture<{
    secret: string;
    msgId: string;
    timestamp: number;
    payload: string;
    signature: string;
    invalidSignatures: { name: string; signature: string }[];
  }>('standard-webhooks/sign-vectors.json');
  const known = new ResendVerifier(v.secret);
  const headers: SvixHeaders = {
    'svix-id': v.msgId,
    'svix-timestamp': String(v.timestamp),
    'svix-signature': v.signature,
  };
  const at = (epochS: number) => vi.setSystemTime(epochS * 1000);

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    at(v.timestamp + 1);
  });
  afterEach(() => vi.useRealTimers());

  it('accepts the known signature and returns svix-id and the payload', () => {
    expect(known.verify(v.payload, headers)).toEqual({ id: v.msgId, payload: { test: 2432232314 } });
  });

  it('accepts the secret without the whsec_ prefix', () => {
    expect(new ResendVerifier(v.secret.replace(/^whsec_/, '')).verify(v.payload, headers).id).toBe(v.msgId);
  });

  it('accepts the known signature among others (rotation), in any position', () => {
    const others = v.invalidSignatures.map((s) => s.signature).filter((s) => !s.includes(' '));
    expect(known.verify(v.payload, { ...headers, 'svix-signature': [...others, v.signature].join(' ') }).id).toBe(
      v.msgId,
    );
    expect(known.verify(v.payload, { ...headers, 'svix-signature': [v.signature, ...others].join(' ') }).id).toBe(
      v.msgId,
    );
  });

  it.each([
    ['4 min later', 4 * 60],
    ['4 min earlier (sender clock ahead)', -4 * 60],
  ])('accepts within the tolerance: %s', (_name, skew) => {
    at(v.timestamp + skew);
    expect(known.verify(v.payload, headers).id).toBe(v.msgId);
  });

  const altered: [string, SvixHeaders, string?, string?][] = [
    ['svix-id altered', { ...headers, 'svix-id': `${v.msgId}x` }],
    ['svix-timestamp one second later', { ...headers, 'svix-timestamp': String(v.timestamp + 1) }],
    ['svix-timestamp one second earlier', { ...headers, 'svix-timestamp': String(v.timestamp - 1) }],
    ['payload digit altered', headers, v.payload.replace('2432232314', '2432232315')],
    ['payload whitespace altered', headers, v.payload.replace(': ', ':')],
    ['payload with a trailing newline', headers, `${v.payload}\n`],
    ['another secret', headers, undefined, 'whsec_' + Buffer.from('another-secret-of-24-byt').toString('base64')],
    ...v.invalidSignatures.map((s): [string, SvixHeaders] => [
      `signature: ${s.name}`,
      { ...headers, 'svix-signature': s.signature },
    ]),
  ];
  it.each(altered)('rejects: %s', (_name, h, payload, secret) => {
    const verifierUnderTest = secret ? new ResendVerifier(secret) : known;
    expect(reject(() => verifierUnderTest.verify(payload ?? v.payload, h))).toBeInstanceOf(SignatureError);
  });

  it.each([
    ['6 min later (replayed)', 6 * 60],
    ['6 min earlier', -6 * 60],
    ['today (the vector is from 2021)', Math.floor(Date.parse('2026-12-01T00:00:00Z') / 1000) - v.timestamp],
  ])('rejects outside the tolerance: %s', (_name, skew) => {
    at(v.timestamp + skew);
    expect(reject(() => known.verify(v.payload, headers))).toBeInstanceOf(SignatureError);
  });
});
