import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PayloadError, SignatureError } from './errors.js';
import { fixture, formBody, pageQuery, twilioSignature, thrown } from './testing.js';
import { twilioSignedUrl, verifyTwilioRequest, type TwilioParams } from './twilio-signature.js';

const TOKEN = 'twilio-auth-token-for-tests';
const BASE = 'https://alerts.example.com';
const PATH = `/webhooks/twilio?${pageQuery()}`;
const URL_SIGNED = BASE + PATH;
const params = fixture('twilio/sms-undelivered-30003.json');

function verify(over: { signature?: string | undefined; pathAndQuery?: string; body?: string; base?: string } = {}) {
  return verifyTwilioRequest(TOKEN, over.base ?? BASE, {
    pathAndQuery: over.pathAndQuery ?? PATH,
    signature: 'signature' in over ? over.signature : twilioSignature(TOKEN, URL_SIGNED, params),
    body: over.body ?? formBody(params),
  });
}

const reject = thrown;

describe('verifyTwilioRequest (form bodies)', () => {
  it('accepts the signature Twilio computes over the public URL and every posted field', () => {
    expect(verify()).toEqual(params);
  });

  it('rebuilds the signed URL from the configured public origin', () => {
    expect(twilioSignedUrl('https://alerts.example.com', '/webhooks/twilio?a=1')).toBe('https://alerts.example.com/webhooks/twilio?a=1');
    expect(twilioSignedUrl('https://alerts.example.com/', '/x')).toBe('https://alerts.example.com/x');
  });

  const signed = twilioSignature(TOKEN, URL_SIGNED, params);
  const failures: [string, Parameters<typeof verify>[0]][] = [
    ['missing header', { signature: undefined }],
    ['empty header', { signature: '' }],
    ['wrong signature', { signature: twilioSignature('another-token', URL_SIGNED, params) }],
    ['truncated signature', { signature: signed.slice(0, -4) }],
    ['signature with one character changed', { signature: (signed[0] === 'A' ? 'B' : 'A') + signed.slice(1) }],
    ['altered param', { body: formBody({ ...params, ErrorCode: '30005' }) }],
    ['altered status', { body: formBody({ ...params, MessageStatus: 'delivered' }) }],
    ['added param', { body: formBody({ ...params, Extra: 'x' }) }],
    ['removed param', { body: formBody(Object.fromEntries(Object.entries(params).filter(([k]) => k !== 'ErrorCode'))) }],
    ['wrong host', { signature: twilioSignature(TOKEN, URL_SIGNED.replace('alerts.example.com', 'evil.example.com'), params) }],
    ['wrong scheme', { signature: twilioSignature(TOKEN, URL_SIGNED.replace('https:', 'http:'), params) }],
    ['wrong path', { pathAndQuery: PATH.replace('/webhooks/twilio', '/webhooks/twilio2') }],
    ['wrong query (other incident)', { pathAndQuery: PATH.replace('inc_0123', 'inc_9999') }],
    ['query dropped', { pathAndQuery: '/webhooks/twilio' }],
    ['signed over the socket URL, not the public URL', { signature: twilioSignature(TOKEN, `http://127.0.0.1:8080${PATH}`, params) }],
    ['signed over the Host header URL behind the proxy', { signature: twilioSignature(TOKEN, `http://receiver.internal:8080${PATH}`, params) }],
  ];
  it.each(failures)('rejects: %s', (_name, over) => {
    const err = reject(() => verify(over));
    expect(err).toBeInstanceOf(SignatureError);
  });

  it.each([
    ['signed without the port', URL_SIGNED],
    ['signed with the default port', URL_SIGNED.replace('alerts.example.com', 'alerts.example.com:443')],
  ])('accepts port variants: %s', (_name, url) => {
    expect(verify({ signature: twilioSignature(TOKEN, url, params) })).toEqual(params);
  });

  it('accepts a configured non-default port only as configured', () => {
    const base = 'https://alerts.example.com:8443';
    const sig = twilioSignature(TOKEN, base + PATH, params);
    expect(verify({ base, signature: sig })).toEqual(params);
    expect(reject(() => verify({ signature: sig }))).toBeInstanceOf(SignatureError);
  });

  it('keeps repeated fields (all values are signed)', () => {
    const multi: TwilioParams = { ...params, MediaUrl0: ['https://a.example/1', 'https://a.example/2'] };
    const sig = twilioSignature(TOKEN, URL_SIGNED, multi);
    expect(verifyTwilioRequest(TOKEN, BASE, { pathAndQuery: PATH, signature: sig, body: formBody(multi) }).MediaUrl0).toEqual(['https://a.example/1', 'https://a.example/2']);
  });
});

describe('verifyTwilioRequest (JSON bodies with bodySHA256)', () => {
  const body = JSON.stringify({ MessageSid: 'SM1', MessageStatus: 'delivered', To: '+15551230001' });
  const hash = createHash('sha256').update(body).digest('hex');
  const path = `${PATH}&bodySHA256=${hash}`;
  const sig = twilioSignature(TOKEN, BASE + path, {});

  it('accepts the body whose hash is in the signed URL', () => {
    expect(verifyTwilioRequest(TOKEN, BASE, { pathAndQuery: path, signature: sig, body })).toMatchObject({ MessageSid: 'SM1', MessageStatus: 'delivered' });
  });

  it('rejects an altered body', () => {
    const altered = body.replace('delivered', 'read');
    expect(reject(() => verifyTwilioRequest(TOKEN, BASE, { pathAndQuery: path, signature: sig, body: altered }))).toBeInstanceOf(SignatureError);
  });

  it('rejects a body hash swapped in the URL', () => {
    const other = createHash('sha256').update('{}').digest('hex');
    expect(reject(() => verifyTwilioRequest(TOKEN, BASE, { pathAndQuery: `${PATH}&bodySHA256=${other}`, signature: sig, body: '{}' }))).toBeInstanceOf(SignatureError);
  });

  it('a verified body that is not a JSON object is a payload error, not a signature error', () => {
    const text = '[1,2]';
    const p = `${PATH}&bodySHA256=${createHash('sha256').update(text).digest('hex')}`;
    const s = twilioSignature(TOKEN, BASE + p, {});
    expect(reject(() => verifyTwilioRequest(TOKEN, BASE, { pathAndQuery: p, signature: s, body: text }))).toBeInstanceOf(PayloadError);
  });
});
