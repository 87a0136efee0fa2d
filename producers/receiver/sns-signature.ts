import { createVerify, X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { parseJson } from './body-parse.js';
import { SignatureError } from './errors.js';

/**
 * Verifies Amazon SNS messages delivered to an HTTP(S) subscription, as AWS documents it ("Verifying the signatures
 * of Amazon SNS messages", https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html), for
 * every SNS intake of the receiver (`/webhooks/aws-sms-voice` now; a general `/events/sns` later reuses it as is):
 *
 * 1. The body is the SNS JSON document: `Type` Notification, SubscriptionConfirmation or UnsubscribeConfirmation,
 *    with the fields its type signs (zod below; a missing one → 401).
 * 2. `SignatureVersion` 1 (RSA-SHA1) or 2 (RSA-SHA256); anything else → 401.
 * 3. `SigningCertURL` only over https from an `sns.<region>.amazonaws.com` host (`.amazonaws.com.cn` in China), a
 *    `.pem` path, no credentials, query or port — or a URL the settings trust explicitly (`trustedCertUrls`, exact
 *    match: the local stack's simulator, whose certificate it generates itself). Anything else → 401, fetched never.
 * 4. The certificate: fetched once per URL (bounded size and time, no redirects) and cached (`certTtlMs`, at most
 *    `certCacheSize` URLs; concurrent first uses share one fetch); within its validity at the message's check
 *    (`now`); an AWS one must name an `sns…amazonaws.com` host. Unreachable, unparsable, expired → 401.
 * 5. The signature over the canonical string of the message's type — `name\nvalue\n` for each of Message,
 *    MessageId, Subject (when present and not null), Timestamp, TopicArn, Type (Notification); Message, MessageId,
 *    SubscribeURL, Timestamp, Token, TopicArn, Type (the confirmations) — altered or forged → 401.
 * 6. Only then `TopicArn` against the allow-list: an authentic message of another topic → TopicNotAllowedError
 *    (403). A SubscriptionConfirmation is confirmed (GET SubscribeURL, which must pass the same host rule) only for
 *    an allowed topic: `confirm()`.
 *
 * Known answers: producers/receiver/fixtures/sns/ (messages AWS signed, from AWS's own validator's tests).
 */

/** An authentic SNS message of a topic that is not allowed: 403, nothing written. */
export class TopicNotAllowedError extends Error {
  constructor(readonly topicArn: string) {
    super(`SNS topic not allowed: ${topicArn}`);
    this.name = 'TopicNotAllowedError';
  }
}

/** Confirming a subscription failed (SubscribeURL unreachable or refused): 503, SNS sends the confirmation again. */
export class SnsConfirmError extends Error {
  constructor(
    readonly topicArn: string,
    readonly status: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(`SNS subscription to ${topicArn} not confirmed (${status ?? 'unreachable'})`, options);
    this.name = 'SnsConfirmError';
  }
}

const Base = {
  MessageId: z.string().min(1).max(256),
  TopicArn: z.string().startsWith('arn:').max(256),
  Message: z.string(),
  Timestamp: z.string().min(1).max(64),
  SignatureVersion: z.string().max(8),
  Signature: z.string().min(1).max(4096),
  SigningCertURL: z.string().min(1).max(2048),
};

/**
 * The SNS HTTP(S) message (AWS docs, "Amazon SNS message and JSON formats"; the example Notification there:
 * `{"Type":"Notification","MessageId":"22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324","TopicArn":
 * "arn:aws:sns:us-west-2:123456789012:MyTopic","Subject":"My First Message","Message":"Hello world!","Timestamp":
 * "2012-05-02T00:54:06.655Z","SignatureVersion":"1","Signature":"EXAMPLEw6JRN…","SigningCertURL":
 * "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",
 * "UnsubscribeURL":"https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=…"}`). Unknown fields
 * (MessageAttributes, UnsubscribeURL) pass through.
 */
export const SnsMessage = z.discriminatedUnion('Type', [
  z.looseObject({ Type: z.literal('Notification'), ...Base, Subject: z.string().nullable().optional() }),
  z.looseObject({
    Type: z.enum(['SubscriptionConfirmation', 'UnsubscribeConfirmation']),
    ...Base,
    Token: z.string().min(1).max(2048),
    SubscribeURL: z.string().min(1).max(2048),
  }),
]);
export type SnsMessage = z.infer<typeof SnsMessage>;

const NOTIFICATION_KEYS = ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'] as const;
const CONFIRMATION_KEYS = ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'] as const;

/** The string SNS signs for a message of its type (AWS docs, step 5 of the procedure). */
export function canonicalString(m: Record<string, unknown>): string {
  const keys = m.Type === 'Notification' ? NOTIFICATION_KEYS : CONFIRMATION_KEYS;
  let s = '';
  for (const k of keys) {
    const v = m[k];
    if (v === undefined || v === null) continue; // Subject absent (or null, as Lambda shows it): not signed
    s += `${k}\n${String(v)}\n`;
  }
  return s;
}

/** `sns.<region>.amazonaws.com` (or `.amazonaws.com.cn`): the only hosts an AWS signing certificate comes from. */
const AWS_SNS_HOST = /^sns\.[a-z0-9-]{3,}\.amazonaws\.com(\.cn)?$/;

/** Whether a URL is an SNS endpoint of AWS (https, an `sns.<region>` host, no credentials or port). */
export function isAwsSnsUrl(raw: string): boolean {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return false;
  }
  return u.protocol === 'https:' && AWS_SNS_HOST.test(u.hostname) && !u.port && !u.username && !u.password;
}

/** Why a SigningCertURL is refused (undefined: acceptable). */
function certUrlProblem(raw: string, trusted: ReadonlySet<string>): string | undefined {
  if (trusted.has(raw)) return undefined;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return 'SigningCertURL is not a URL';
  }
  if (u.protocol !== 'https:') return `SigningCertURL is not https (${u.protocol})`;
  if (!AWS_SNS_HOST.test(u.hostname)) return `SigningCertURL host ${u.hostname} is not sns.<region>.amazonaws.com`;
  if (u.port || u.username || u.password || u.search || u.hash)
    return 'SigningCertURL has a port, credentials or query';
  if (!u.pathname.endsWith('.pem')) return 'SigningCertURL is not a .pem';
  return undefined;
}

export interface SnsVerifierOptions {
  /** TopicArns whose messages are accepted (exact). Empty: none (every authentic message → 403). */
  allowedTopics: readonly string[];
  /** SigningCertURLs trusted as they are (exact; http allowed): only the local stack's simulator. Default none. */
  trustedCertUrls?: readonly string[];
  /** Fetches a certificate's PEM (default: GET, no redirects, `fetchTimeoutMs`, at most 64 KB). */
  fetchCert?: (url: string) => Promise<string>;
  /** Confirms a subscription: GET SubscribeURL (default: fetch with `fetchTimeoutMs`), resolving the HTTP status. */
  getUrl?: (url: string) => Promise<number>;
  /** Default 5000 ms. */
  fetchTimeoutMs?: number;
  /** How long a fetched certificate is used before it is fetched again. Default 24 h. */
  certTtlMs?: number;
  /** Most certificate URLs kept. Default 32. */
  certCacheSize?: number;
  /** Clock (epoch ms): certificate validity and the cache. Default Date.now. */
  now?: () => number;
}

const MAX_CERT_BYTES = 64 * 1024;

async function defaultFetchCert(url: string, timeoutMs: number): Promise<string> {
  const res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
  if (res.status !== 200) throw new Error(`certificate answered ${res.status}`);
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > MAX_CERT_BYTES) throw new Error('certificate too large');
  const text = await res.text();
  if (text.length > MAX_CERT_BYTES) throw new Error('certificate too large');
  return text;
}

async function defaultGet(url: string, timeoutMs: number): Promise<number> {
  const res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer().catch(() => undefined);
  return res.status;
}

interface CachedCert {
  cert: X509Certificate;
  fetchedAt: number;
}

export class SnsVerifier {
  private readonly allowed: ReadonlySet<string>;
  private readonly trusted: ReadonlySet<string>;
  private readonly fetchCert: (url: string) => Promise<string>;
  private readonly getUrl: (url: string) => Promise<number>;
  private readonly certTtlMs: number;
  private readonly cacheSize: number;
  private readonly now: () => number;
  private readonly certs = new Map<string, CachedCert>();
  private readonly inflight = new Map<string, Promise<X509Certificate>>();
  /** Certificate fetches so far (tests: the cache). */
  fetches = 0;

  constructor(opts: SnsVerifierOptions) {
    const timeout = opts.fetchTimeoutMs ?? 5000;
    this.allowed = new Set(opts.allowedTopics);
    this.trusted = new Set(opts.trustedCertUrls ?? []);
    this.fetchCert = opts.fetchCert ?? ((url) => defaultFetchCert(url, timeout));
    this.getUrl = opts.getUrl ?? ((url) => defaultGet(url, timeout));
    this.certTtlMs = opts.certTtlMs ?? 24 * 3600_000;
    this.cacheSize = opts.certCacheSize ?? 32;
    this.now = opts.now ?? Date.now;
  }

  /**
   * The verified message of a raw body: SignatureError (401) when it is not an authentic SNS message,
   * TopicNotAllowedError (403) when it is one of a topic not on the allow-list.
   */
  async verify(body: string): Promise<SnsMessage> {
    let json: unknown;
    try {
      json = parseJson(body);
    } catch {
      throw new SignatureError('not an SNS message: body is not JSON');
    }
    const parsed = SnsMessage.safeParse(json);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      throw new SignatureError(`not an SNS message: ${i.path.join('.') || 'body'}: ${i.message}`);
    }
    const m = parsed.data;
    const algorithm = m.SignatureVersion === '1' ? 'RSA-SHA1' : m.SignatureVersion === '2' ? 'RSA-SHA256' : undefined;
    if (!algorithm) throw new SignatureError(`unknown SignatureVersion ${JSON.stringify(m.SignatureVersion)}`);
    const problem = certUrlProblem(m.SigningCertURL, this.trusted);
    if (problem) throw new SignatureError(problem);
    const cert = await this.certificate(m.SigningCertURL);
    const ok = (() => {
      try {
        const v = createVerify(algorithm);
        v.update(canonicalString(m), 'utf8');
        return v.verify(cert.publicKey, m.Signature, 'base64');
      } catch {
        return false;
      }
    })();
    if (!ok) throw new SignatureError('SNS signature does not match the message');
    if (!this.allowed.has(m.TopicArn)) throw new TopicNotAllowedError(m.TopicArn);
    return m;
  }

  /**
   * Confirms a verified SubscriptionConfirmation of an allowed topic: GET its SubscribeURL, which must be an SNS
   * endpoint of AWS (or start with a trusted certificate URL's origin: the local simulator). SnsConfirmError when it
   * cannot (503: SNS sends the confirmation again); SignatureError for a SubscribeURL elsewhere.
   */
  async confirm(m: SnsMessage): Promise<void> {
    if (m.Type !== 'SubscriptionConfirmation') return;
    if (!this.allowed.has(m.TopicArn)) throw new TopicNotAllowedError(m.TopicArn);
    const local = [...this.trusted].some((t) => new URL(t).origin === safeOrigin(m.SubscribeURL));
    if (!local && !isAwsSnsUrl(m.SubscribeURL)) throw new SignatureError('SubscribeURL is not an SNS endpoint of AWS');
    let status: number | undefined;
    try {
      status = await this.getUrl(m.SubscribeURL);
    } catch (cause) {
      throw new SnsConfirmError(m.TopicArn, undefined, { cause });
    }
    if (status !== 200) throw new SnsConfirmError(m.TopicArn, status);
  }

  /** The certificate of a URL that passed the host rule: cached, else fetched once (shared by concurrent callers). */
  private async certificate(url: string): Promise<X509Certificate> {
    const now = this.now();
    const hit = this.certs.get(url);
    let cert: X509Certificate;
    if (hit && now - hit.fetchedAt < this.certTtlMs) {
      cert = hit.cert;
    } else {
      let p = this.inflight.get(url);
      if (!p) {
        p = this.load(url).finally(() => this.inflight.delete(url));
        this.inflight.set(url, p);
      }
      cert = await p;
    }
    const from = Date.parse(cert.validFrom);
    const to = Date.parse(cert.validTo);
    if (!(now >= from && now <= to)) throw new SignatureError(`signing certificate not valid now (${cert.validTo})`);
    return cert;
  }

  private async load(url: string): Promise<X509Certificate> {
    this.fetches++;
    let pem: string;
    try {
      pem = await this.fetchCert(url);
    } catch (err) {
      throw new SignatureError(`signing certificate not fetched: ${(err as Error).message}`);
    }
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
    } catch {
      throw new SignatureError('signing certificate is not an X.509 certificate');
    }
    if (!this.trusted.has(url)) {
      const names = `${cert.subject}\n${cert.subjectAltName ?? ''}`;
      if (!/sns(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?/.test(names))
        throw new SignatureError('signing certificate does not name an SNS host');
    }
    this.certs.delete(url);
    this.certs.set(url, { cert, fetchedAt: this.now() });
    while (this.certs.size > this.cacheSize) this.certs.delete(this.certs.keys().next().value!);
    return cert;
  }
}

function safeOrigin(raw: string): string | undefined {
  try {
    return new URL(raw).origin;
  } catch {
    return undefined;
  }
}
