import { execFileSync } from 'node:child_process';
import { createSign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SignatureError } from './errors.js';
import { canonicalString, SnsVerifier, TopicNotAllowedError, type SnsVerifierOptions } from './sns-signature.js';

/**
 * Known answers: messages Amazon SNS signed (SignatureVersion 1 and 2, with and without Subject) and the certificate
 * they name, from AWS's own PHP validator's tests (fixtures/sns/aws-php-functional.json names the commit). The
 * failure cases sign with a key of the test's own (openssl) so that only the one property under test is wrong.
 */
const dir = new URL('./fixtures/sns/', import.meta.url).pathname;
const kat = JSON.parse(readFileSync(path.join(dir, 'aws-php-functional.json'), 'utf8')) as {
  messages: Record<string, string>[];
};
const AWS_CERT = readFileSync(path.join(dir, 'aws-php-functional.cert.pem'), 'utf8');
const KAT_NOW = Date.parse('2022-07-29T00:00:00Z'); // inside the certificate's validity (2021-09-07..2022-08-17)

const katVerifier = (o: Partial<SnsVerifierOptions> = {}) =>
  new SnsVerifier({
    allowedTopics: kat.messages.map((m) => m.TopicArn),
    fetchCert: async (url) => {
      if (url !== kat.messages[0].SigningCertURL) throw new Error('404');
      return AWS_CERT;
    },
    now: () => KAT_NOW,
    ...o,
  });

describe('SNS verifier: known answers (messages AWS signed)', () => {
  it.each(kat.messages.map((m) => [`v${m.SignatureVersion}${m.Subject ? ' with Subject' : ''}`, m] as const))(
    '%s verifies',
    async (_name, m) => {
      await expect(katVerifier().verify(JSON.stringify(m))).resolves.toMatchObject({ MessageId: m.MessageId });
    },
  );

  it('fetches a certificate once and serves the next messages from the cache', async () => {
    const v = katVerifier();
    await Promise.all(kat.messages.map((m) => v.verify(JSON.stringify(m))));
    await v.verify(JSON.stringify(kat.messages[0]));
    expect(v.fetches).toBe(1);
  });

  it('a certificate past its validity (the same AWS certificate, a year later) → 401', async () => {
    const v = katVerifier({ now: () => Date.parse('2023-07-29T00:00:00Z') });
    await expect(v.verify(JSON.stringify(kat.messages[1]))).rejects.toThrow(/not valid now/);
  });

  it('the canonical string of a Notification names Subject only when present', () => {
    const m = kat.messages[0];
    expect(canonicalString(m)).toBe(
      `Message\nHello world\nMessageId\n${m.MessageId}\nTimestamp\n${m.Timestamp}\nTopicArn\n${m.TopicArn}\n` +
        'Type\nNotification\n',
    );
    expect(canonicalString({ ...m, Subject: null })).toBe(canonicalString(m));
  });
});

// A key and certificate of our own, to sign messages whose one property under test is wrong.
const tmp = mkdtempSync(path.join(tmpdir(), 'sns-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
function selfSigned(cn: string, days: number): { key: string; cert: string } {
  const key = path.join(tmp, `${cn}-${days}.key`);
  const cert = path.join(tmp, `${cn}-${days}.pem`);
  execFileSync('openssl', [
    ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert],
    ...['-days', String(days), '-subj', `/CN=${cn}`],
  ]);
  return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
}
const own = selfSigned('sns.amazonaws.com', 2);
const other = selfSigned('sns.amazonaws.com', 3); // another key: "unknown certificate"
const notSns = selfSigned('evil.example.com', 2);

const TOPIC = 'arn:aws:sns:eu-west-1:111122223333:pagetrail-sms-voice-events';
const CERT_URL = 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem';

function signed(over: Record<string, unknown> = {}, key = own.key): Record<string, unknown> {
  const m: Record<string, unknown> = {
    Type: 'Notification',
    MessageId: '5b1f5c5e-6d1c-5a44-9c3a-0c5f8b5e2a11',
    TopicArn: TOPIC,
    Message: '{"eventType":"TEXT_DELIVERED"}',
    Timestamp: '2026-12-07T21:00:00.000Z',
    SignatureVersion: '2',
    SigningCertURL: CERT_URL,
    ...over,
  };
  const s = createSign(m.SignatureVersion === '1' ? 'RSA-SHA1' : 'RSA-SHA256');
  s.update(canonicalString(m));
  return { ...m, Signature: s.sign(key, 'base64') };
}

function ownVerifier(certs: Record<string, string> = { [CERT_URL]: own.cert }, o: Partial<SnsVerifierOptions> = {}) {
  return new SnsVerifier({
    allowedTopics: [TOPIC],
    fetchCert: async (url) => {
      const c = certs[url];
      if (!c) throw new Error('answered 404');
      return c;
    },
    getUrl: async () => 200,
    ...o,
  });
}

describe('SNS verifier: what it refuses', () => {
  it('a message it signs itself passes (the failure table below differs from it in one thing each)', async () => {
    await expect(ownVerifier().verify(JSON.stringify(signed()))).resolves.toMatchObject({ TopicArn: TOPIC });
    const v1 = signed({ SignatureVersion: '1', Subject: 'x' });
    await expect(ownVerifier().verify(JSON.stringify(v1))).resolves.toMatchObject({ Subject: 'x' });
  });

  const table: [string, () => Record<string, unknown> | string, RegExp, Record<string, string>?][] = [
    [
      'a certificate from another host',
      () => signed({ SigningCertURL: 'https://sns.eu-west-1.example.com/SimpleNotificationService-1.pem' }),
      /host/,
    ],
    [
      'a look-alike host',
      () => signed({ SigningCertURL: 'https://sns.eu-west-1.amazonaws.com.evil.io/SimpleNotificationService-1.pem' }),
      /host/,
    ],
    ['an http URL', () => signed({ SigningCertURL: CERT_URL.replace('https:', 'http:') }), /not https/],
    [
      'a URL with a port or credentials',
      () => signed({ SigningCertURL: CERT_URL.replace('amazonaws.com/', 'amazonaws.com:8443/') }),
      /port/,
    ],
    ['a URL that is not a .pem', () => signed({ SigningCertURL: CERT_URL.replace('.pem', '.txt') }), /\.pem/],
    ['an altered Message', () => ({ ...signed(), Message: '{"eventType":"TEXT_BLOCKED"}' }), /does not match/],
    ['an altered Timestamp', () => ({ ...signed(), Timestamp: '2026-12-07T21:00:01.000Z' }), /does not match/],
    ['an added Subject', () => ({ ...signed(), Subject: 'hi' }), /does not match/],
    ['a Type changed after signing', () => ({ ...signed(), Type: 'SubscriptionConfirmation' }), /not an SNS/],
    ['SignatureVersion 3', () => signed({ SignatureVersion: '3' }), /SignatureVersion/],
    ['a v1 signature claimed as v2', () => ({ ...signed({ SignatureVersion: '1' }), SignatureVersion: '2' }), /match/],
    ['signed by another key (an unknown certificate)', () => signed({}, other.key), /does not match/],
    ['a certificate that cannot be fetched', () => signed({ SigningCertURL: CERT_URL.replace('0123', '9999') }), /404/],
    ['a certificate that is not X.509', () => signed(), /not an X.509/, { [CERT_URL]: 'not a certificate' }],
    ['a certificate that names no SNS host', () => signed({}, notSns.key), /SNS host/, { [CERT_URL]: notSns.cert }],
    ['a body that is not JSON', () => 'Type=Notification', /not JSON/],
    ['a missing Signature', () => ({ ...signed(), Signature: undefined }), /Signature/],
  ];
  it.each(table)('%s → SignatureError (401)', async (_name, make, reason, certs) => {
    const body = make();
    const err = await ownVerifier(certs)
      .verify(typeof body === 'string' ? body : JSON.stringify(body))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SignatureError);
    expect((err as SignatureError).reason).toMatch(reason);
  });

  it('an expired certificate → 401; a bad one is never fetched again for a bad URL', async () => {
    const v = ownVerifier(undefined, { now: () => Date.now() + 5 * 86_400_000 });
    await expect(v.verify(JSON.stringify(signed()))).rejects.toThrow(/not valid now/);
    const bad = ownVerifier();
    await bad.verify(JSON.stringify(signed({ SigningCertURL: CERT_URL.replace('https:', 'http:') }))).catch(() => 0);
    expect(bad.fetches).toBe(0);
  });

  it('an authentic message of a topic not on the list → TopicNotAllowedError (403)', async () => {
    const err = await ownVerifier()
      .verify(JSON.stringify(signed({ TopicArn: 'arn:aws:sns:eu-west-1:111122223333:other' })))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TopicNotAllowedError);
  });

  it('a trusted local certificate URL (http) is taken as the settings say, and only that exact URL', async () => {
    const local = 'http://127.0.0.1:4580/__sim/sns/SimpleNotificationService-local.pem';
    const v = ownVerifier({ [local]: notSns.cert }, { trustedCertUrls: [local] });
    await expect(v.verify(JSON.stringify(signed({ SigningCertURL: local }, notSns.key)))).resolves.toBeTruthy();
    const near = `${local}?x=1`;
    await expect(v.verify(JSON.stringify(signed({ SigningCertURL: near }, notSns.key)))).rejects.toThrow(/not https/);
  });
});

describe('SNS verifier: subscription confirmation', () => {
  const confirmation = (topic = TOPIC, subscribe = 'https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription') =>
    signed({
      Type: 'SubscriptionConfirmation',
      TopicArn: topic,
      Token: '2336412f37fb687f5d51e6e2425c464de',
      SubscribeURL: `${subscribe}&TopicArn=${topic}&Token=2336412f37fb687f5d51e6e2425c464de`,
      Message: `You have chosen to subscribe to the topic ${topic}.`,
    });

  it('is confirmed (GET SubscribeURL) for an allowed topic', async () => {
    const got: string[] = [];
    const v = ownVerifier(undefined, {
      getUrl: async (u) => {
        got.push(u);
        return 200;
      },
    });
    const m = await v.verify(JSON.stringify(confirmation()));
    await v.confirm(m);
    expect(got).toEqual([(confirmation().SubscribeURL as string) ?? '']);
  });

  it('is refused for another topic, and a SubscribeURL outside AWS is never called', async () => {
    const got: string[] = [];
    const v = ownVerifier(undefined, {
      getUrl: async (u) => {
        got.push(u);
        return 200;
      },
    });
    const other = 'arn:aws:sns:eu-west-1:111122223333:other';
    await expect(v.verify(JSON.stringify(confirmation(other)))).rejects.toBeInstanceOf(TopicNotAllowedError);
    const m = await v.verify(
      JSON.stringify(confirmation(TOPIC, 'https://attacker.example/?Action=ConfirmSubscription')),
    );
    await expect(v.confirm(m)).rejects.toBeInstanceOf(SignatureError);
    expect(got).toEqual([]);
  });
});
