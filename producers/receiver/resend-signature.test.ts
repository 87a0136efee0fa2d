import { describe, expect, it } from 'vitest';
import { PayloadError, SignatureError } from './errors.js';
import { ResendVerifier, type SvixHeaders } from './resend-signature.js';
import { jsonFixture, svixHeaders, thrown } from './testing.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const body = JSON.stringify(jsonFixture('resend/email.delivered.json'));
const verifier = new ResendVerifier(SECRET);
const MIN = 60_000;

const reject = thrown;

describe('ResendVerifier', () => {
  it('accepts a Svix-signed body and returns svix-id and the payload', () => {
    const out = verifier.verify(body, svixHeaders(body, { secret: SECRET, id: 'msg_1' }));
    expect(out.id).toBe('msg_1');
    expect(out.payload).toEqual(JSON.parse(body));
  });

  it('accepts the secret without the whsec_ prefix', () => {
    const bare = new ResendVerifier(SECRET.slice('whsec_'.length));
    expect(bare.verify(body, svixHeaders(body, { secret: SECRET })).payload).toEqual(JSON.parse(body));
  });

  it('accepts several signatures when one of them is valid (secret rotation)', () => {
    const h = svixHeaders(body, { secret: SECRET });
    const other = svixHeaders(body, { secret: 'whsec_' + Buffer.from('another-secret-of-24-byt').toString('base64') });
    for (const sig of [`${other['svix-signature']} ${h['svix-signature']}`, `${h['svix-signature']} ${other['svix-signature']}`, `v2,abc ${h['svix-signature']}`]) {
      expect(verifier.verify(body, { ...h, 'svix-signature': sig }).id).toBe(h['svix-id']);
    }
  });

  it('accepts timestamps within ±5 minutes', () => {
    for (const skew of [-4 * MIN, 4 * MIN]) {
      expect(verifier.verify(body, svixHeaders(body, { secret: SECRET, date: new Date(Date.now() + skew) })).id).toBeTruthy();
    }
  });

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
    ['wrong secret', svixHeaders(body, { secret: 'whsec_' + Buffer.from('another-secret-of-24-byt').toString('base64') })],
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
