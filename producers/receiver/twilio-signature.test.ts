import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PayloadError, SignatureError } from './errors.js';
import { fixture, formBody, jsonFixture, pageQuery, twilioSignature, thrown } from './testing.js';
import {
  signingKey,
  twilioSignedUrl,
  verifyTwilioRequest,
  type TwilioKeys,
  type TwilioParams,
} from './twilio-signature.js';

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
  // Known answer for this fixture, computed with OpenSSL (not twilio-node):
  // printf '%s' "$URL_SIGNED$(sorted name+value pairs)" | openssl dgst -sha1 -hmac "$TOKEN" -binary | base64
  const KNOWN = 'zXs2jOPfB6C885b7rM+xekmkSYA=';

  it('accepts the known signature over the public URL and every posted field', () => {
    expect(verify({ signature: KNOWN })).toEqual(params);
  });

  const altered: [string, Parameters<typeof verify>[0]][] = [
    ...Object.keys(params).map((k): [string, Parameters<typeof verify>[0]] => [
      `${k} altered`,
      { signature: KNOWN, body: formBody({ ...params, [k]: `${params[k]}0` }) },
    ]),
    ...Object.keys(params).map((k): [string, Parameters<typeof verify>[0]] => [
      `${k} removed`,
      { signature: KNOWN, body: formBody(Object.fromEntries(Object.entries(params).filter(([n]) => n !== k))) },
    ]),
    ['a field added', { signature: KNOWN, body: formBody({ ...params, Extra: 'x' }) }],
    ['incident in the query altered', { signature: KNOWN, pathAndQuery: PATH.replace('inc_0123', 'inc_9123') }],
    ['path altered', { signature: KNOWN, pathAndQuery: PATH.replace('/webhooks/', '/webhook/') }],
    ['origin altered', { signature: KNOWN, base: 'https://alerts.example.org' }],
    ['scheme altered', { signature: KNOWN, base: 'http://alerts.example.com' }],
  ];
  it.each(altered)('known signature, %s → rejected', (_name, over) => {
    expect(reject(() => verify(over))).toBeInstanceOf(SignatureError);
  });

  it('rebuilds the signed URL from the configured public origin', () => {
    expect(twilioSignedUrl('https://alerts.example.com', '/webhooks/twilio?a=1')).toBe(
      'https://alerts.example.com/webhooks/twilio?a=1',
    );
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
    [
      'removed param',
      { body: formBody(Object.fromEntries(Object.entries(params).filter(([k]) => k !== 'ErrorCode'))) },
    ],
    [
      'wrong host',
      { signature: twilioSignature(TOKEN, URL_SIGNED.replace('alerts.example.com', 'evil.example.com'), params) },
    ],
    ['wrong scheme', { signature: twilioSignature(TOKEN, URL_SIGNED.replace('https:', 'http:'), params) }],
    ['wrong path', { pathAndQuery: PATH.replace('/webhooks/twilio', '/webhooks/twilio2') }],
    ['wrong query (other incident)', { pathAndQuery: PATH.replace('inc_0123', 'inc_9999') }],
    ['query dropped', { pathAndQuery: '/webhooks/twilio' }],
    [
      'signed over the socket URL, not the public URL',
      { signature: twilioSignature(TOKEN, `http://127.0.0.1:8080${PATH}`, params) },
    ],
    [
      'signed over the Host header URL behind the proxy',
      { signature: twilioSignature(TOKEN, `http://receiver.internal:8080${PATH}`, params) },
    ],
  ];
  it.each(failures)('rejects: %s', (_name, over) => {
    const err = reject(() => verify(over));
    expect(err).toBeInstanceOf(SignatureError);
  });

  // Port variants (signed with and without :443): the known answers of twilio-node below.

  it('accepts a configured non-default port only as configured', () => {
    const base = 'https://alerts.example.com:8443';
    const sig = twilioSignature(TOKEN, base + PATH, params);
    expect(verify({ base, signature: sig })).toEqual(params);
    expect(reject(() => verify({ signature: sig }))).toBeInstanceOf(SignatureError);
  });

  it('keeps repeated fields (all values are signed)', () => {
    const multi: TwilioParams = { ...params, MediaUrl0: ['https://a.example/1', 'https://a.example/2'] };
    const sig = twilioSignature(TOKEN, URL_SIGNED, multi);
    expect(
      verifyTwilioRequest(TOKEN, BASE, { pathAndQuery: PATH, signature: sig, body: formBody(multi) }).MediaUrl0,
    ).toEqual(['https://a.example/1', 'https://a.example/2']);
  });
});

describe('verifyTwilioRequest (JSON bodies with bodySHA256)', () => {
  const body = JSON.stringify({ MessageSid: 'SM1', MessageStatus: 'delivered', To: '+15551230001' });
  const hash = createHash('sha256').update(body).digest('hex');
  const path = `${PATH}&bodySHA256=${hash}`;
  const sig = twilioSignature(TOKEN, BASE + path, {});

  it('accepts the body whose hash is in the signed URL', () => {
    expect(verifyTwilioRequest(TOKEN, BASE, { pathAndQuery: path, signature: sig, body })).toMatchObject({
      MessageSid: 'SM1',
      MessageStatus: 'delivered',
    });
  });

  it('rejects an altered body', () => {
    const altered = body.replace('delivered', 'read');
    expect(
      reject(() => verifyTwilioRequest(TOKEN, BASE, { pathAndQuery: path, signature: sig, body: altered })),
    ).toBeInstanceOf(SignatureError);
  });

  it('rejects a body hash swapped in the URL', () => {
    const other = createHash('sha256').update('{}').digest('hex');
    expect(
      reject(() =>
        verifyTwilioRequest(TOKEN, BASE, { pathAndQuery: `${PATH}&bodySHA256=${other}`, signature: sig, body: '{}' }),
      ),
    ).toBeInstanceOf(SignatureError);
  });

  it('a verified body that is not a JSON object is a payload error, not a signature error', () => {
    const text = '[1,2]';
    const p = `${PATH}&bodySHA256=${createHash('sha256').update(text).digest('hex')}`;
    const s = twilioSignature(TOKEN, BASE + p, {});
    expect(
      reject(() => verifyTwilioRequest(TOKEN, BASE, { pathAndQuery: p, signature: s, body: text })),
    ).toBeInstanceOf(PayloadError);
  });
});

/** A JSON body as verifyTwilioRequest returns it: non-string values JSON-encoded. */
const asParams = (body: string) =>
  Object.fromEntries(
    Object.entries(JSON.parse(body) as object).map(([k, x]) => [k, typeof x === 'string' ? x : JSON.stringify(x)]),
  );

/** `https://host[:port]` and the path + query of a known-answer URL, split without re-encoding. */
const split = (url: string) => {
  const m = /^(https?:\/\/[^/]+)(\/.*)$/.exec(url)!;
  return { base: m[1], pathAndQuery: m[2] };
};

type FormVector = { name: string; url: string; params: 'defaultParams' | TwilioParams; signature: string };
type JsonVector = { name: string; url: string; body: string; signature: string };

describe("known answers: twilio-node's spec/validation.spec.js (HMAC-SHA1, Auth Token)", () => {
  const v = jsonFixture<{ token: string; defaultParams: TwilioParams; form: FormVector[]; json: JsonVector[] }>(
    'twilio-node/validation.spec.json',
  );
  const paramsOf = (p: FormVector['params']) => (p === 'defaultParams' ? v.defaultParams : p);

  it.each(v.form)('accepts: $name', ({ url, params: p, signature }) => {
    const { base, pathAndQuery } = split(url);
    const out = verifyTwilioRequest(v.token, base, { pathAndQuery, signature, body: formBody(paramsOf(p)) });
    expect(Object.keys(out).sort()).toEqual(Object.keys(paramsOf(p)).sort());
  });

  it('accepts a URL with a port the signature was computed without (twilio-node strips it)', () => {
    // spec: "should validate https urls with ports by stripping them"
    const { base: b, pathAndQuery: p } = split(v.form[0].url.replace('.com', '.com:1234'));
    expect(
      verifyTwilioRequest(v.token, b, {
        pathAndQuery: p,
        signature: v.form[0].signature,
        body: formBody(v.defaultParams),
      }),
    ).toEqual(v.defaultParams);
  });

  it.each(v.json)('accepts (JSON body): $name', ({ url, body, signature }) => {
    const { base, pathAndQuery } = split(url);
    expect(verifyTwilioRequest(v.token, base, { pathAndQuery, signature, body })).toEqual(asParams(body));
  });

  // Each field of the first vector altered in turn: the same signature must no longer verify.
  const [first] = v.form;
  const { base, pathAndQuery } = split(first.url);
  const body = formBody(v.defaultParams);
  const cases: [string, { token?: string; base?: string; pathAndQuery?: string; body?: string; signature?: string }][] =
    [
      ['wrong token', { token: '12346' }],
      ...Object.keys(v.defaultParams).map((k): [string, { body: string }] => [
        `${k} altered`,
        { body: formBody({ ...v.defaultParams, [k]: `${v.defaultParams[k]}9` }) },
      ]),
      ['a param removed', { body: formBody(Object.fromEntries(Object.entries(v.defaultParams).slice(1))) }],
      ['a param added', { body: `${body}&Extra=1` }],
      ['query value altered', { pathAndQuery: pathAndQuery.replace('foo=1', 'foo=2') }],
      ['query parameter added', { pathAndQuery: `${pathAndQuery}&baz=3` }],
      ['path altered', { pathAndQuery: pathAndQuery.replace('myapp', 'yourapp') }],
      ['host altered', { base: base.replace('mycompany', 'othercompany') }],
      ['scheme altered', { base: base.replace('https:', 'http:') }],
      ['signature with one character changed', { signature: `X${first.signature.slice(1)}` }],
      ['signature truncated', { signature: first.signature.slice(0, -2) }],
      ['signature of another vector (the http URL)', { signature: v.form[2].signature }],
    ];
  it.each(cases)('rejects: %s', (_name, over) => {
    const err = reject(() =>
      verifyTwilioRequest(over.token ?? v.token, over.base ?? base, {
        pathAndQuery: over.pathAndQuery ?? pathAndQuery,
        signature: over.signature ?? first.signature,
        body: over.body ?? body,
      }),
    );
    expect(err).toBeInstanceOf(SignatureError);
  });

  it.each(v.json)('rejects (JSON body altered): $name', ({ url, body: b, signature }) => {
    const { base: jb, pathAndQuery: jp } = split(url);
    expect(
      reject(() => verifyTwilioRequest(v.token, jb, { pathAndQuery: jp, signature, body: b.replace('}', ' }') })),
    ).toBeInstanceOf(SignatureError);
  });
});

describe('known answers: SharedKey signatures (X-Twilio-Webhooks-Signature-Settings, HMAC-SHA256)', () => {
  const spec = jsonFixture<{ token: string; defaultParams: TwilioParams }>('twilio-node/validation.spec.json');
  const v = jsonFixture<{
    secret: string;
    settingsHeader: string;
    form: FormVector[];
    json: JsonVector[];
    sha1WithSharedKey: { url: string; settingsHeader: string; signature: string };
  }>('twilio-node/shared-key-sha256.json');
  const keys: TwilioKeys = { authToken: spec.token, sharedKeySecret: v.secret };
  const body = formBody(spec.defaultParams);

  it.each(v.form)('accepts: $name', ({ url, signature }) => {
    const { base, pathAndQuery } = split(url);
    expect(
      verifyTwilioRequest(keys, base, { pathAndQuery, signature, signatureSettings: v.settingsHeader, body }),
    ).toEqual(spec.defaultParams);
  });

  it.each(v.json)('accepts (JSON body): $name', ({ url, body: b, signature }) => {
    const { base, pathAndQuery } = split(url);
    expect(
      verifyTwilioRequest(keys, base, { pathAndQuery, signature, signatureSettings: v.settingsHeader, body: b }),
    ).toMatchObject({ property: 'value', boolean: 'true' });
  });

  it('accepts HMAC-SHA1 with the SharedKey when the header says so', () => {
    const { base, pathAndQuery } = split(v.sha1WithSharedKey.url);
    expect(
      verifyTwilioRequest(keys, base, {
        pathAndQuery,
        signature: v.sha1WithSharedKey.signature,
        signatureSettings: v.sha1WithSharedKey.settingsHeader,
        body,
      }),
    ).toEqual(spec.defaultParams);
  });

  const [first] = v.form;
  const { base, pathAndQuery } = split(first.url);
  const cases: [
    string,
    {
      keys?: TwilioKeys;
      settings?: string | undefined;
      base?: string;
      pathAndQuery?: string;
      body?: string;
      signature?: string;
    },
  ][] = [
    ['SharedKey not configured (off by default)', { keys: { authToken: spec.token } }],
    ['wrong SharedKey secret', { keys: { authToken: spec.token, sharedKeySecret: `${v.secret}x` } }],
    ['no settings header (checked as an Auth Token HMAC-SHA1)', { settings: undefined }],
    ['header says HMAC_SHA1', { settings: v.settingsHeader.replace('HMAC_SHA256', 'HMAC_SHA1') }],
    ['unsupported algorithm', { settings: v.settingsHeader.replace('HMAC_SHA256', 'HMAC_SHA512') }],
    [
      'the Auth Token used as the key',
      { keys: { authToken: spec.token, sharedKeySecret: spec.token.padEnd(16, '0') } },
    ],
    ...Object.keys(spec.defaultParams).map((k): [string, { body: string }] => [
      `${k} altered`,
      { body: formBody({ ...spec.defaultParams, [k]: `${spec.defaultParams[k]}9` }) },
    ]),
    ['query altered', { pathAndQuery: pathAndQuery.replace('bar=2', 'bar=3') }],
    ['host altered', { base: base.replace('mycompany', 'othercompany') }],
    ['signature with one character changed', { signature: `X${first.signature.slice(1)}` }],
  ];
  it.each(cases)('rejects: %s', (_name, over) => {
    const err = reject(() =>
      verifyTwilioRequest(over.keys ?? keys, over.base ?? base, {
        pathAndQuery: over.pathAndQuery ?? pathAndQuery,
        signature: over.signature ?? first.signature,
        signatureSettings: 'settings' in over ? over.settings : v.settingsHeader,
        body: over.body ?? body,
      }),
    );
    expect(err).toBeInstanceOf(SignatureError);
  });

  it('signingKey(): the Auth Token and HMAC_SHA1 without the header, the SharedKey and its algorithm with it', () => {
    expect(signingKey(keys, undefined)).toEqual({ secret: spec.token, algorithm: 'HMAC_SHA1' });
    expect(signingKey(keys, '')).toEqual({ secret: spec.token, algorithm: 'HMAC_SHA1' });
    expect(signingKey(keys, v.settingsHeader)).toEqual({ secret: v.secret, algorithm: 'HMAC_SHA256' });
    expect(signingKey(keys, 'key=webhooks_sharedkey_x')).toEqual({ secret: v.secret, algorithm: 'HMAC_SHA1' });
  });
});
