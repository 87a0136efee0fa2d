/**
 * Test support for the receiver (no test framework imports: usable from unit and integration tests):
 * a config, fakes for the stream / error sink / ack codes, fixture loading, and request signing as
 * Twilio and Svix do it.
 */
import { readFileSync } from 'node:fs';
import twilio from 'twilio';
import { Webhook } from 'svix';
import type { StreamRecordIn } from '../../schemas/envelope.js';
import type { AckCodeEntry, AckRecipient, ResolvedAckCode } from '../../shared/ack-codes.js';
import { silentLogger } from '../../platform/logger.js';
import { ReceiverConfigSchema, type ReceiverConfig } from './config.js';
import type { ErrorMeta, ErrorSink } from './error-sink.js';
import { createApp } from './app.js';
import type { AppDeps, StreamHealth } from './http.js';
import type { StructuredLogger } from '../../platform/logger.js';

export const TEST_ENV = {
  PUBLIC_BASE_URL: 'https://alerts.example.com',
  TWILIO_AUTH_TOKEN: 'test-twilio-auth-token-0123456789',
  // base64 of 24 bytes
  RESEND_WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  API_KEY: 'test-api-key-0123456789abcdef',
  ACK_LINK_SECRET: 'test-ack-link-secret-0123456789abcdef0123',
  BODY_LIMIT_BYTES: '4096',
} as const;

export const testConfig = (overrides: Partial<ReceiverConfig> = {}): ReceiverConfig => ({
  ...ReceiverConfigSchema.parse(TEST_ENV),
  ...overrides,
});

/** The page every fixture belongs to (matches the tags in fixtures/resend). */
export const PAGE = {
  incidentId: 'inc_0123456789abcdef0123',
  alarmArn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:api-cpu-high',
  dispatchId: 'evt_00112233445566778899aabbccddeeff',
};

export class FakeProducer {
  calls: StreamRecordIn[][] = [];
  failWith?: Error;
  async putStreamRecords(records: readonly StreamRecordIn[]): Promise<unknown> {
    if (this.failWith) throw this.failWith;
    this.calls.push([...records]);
    return records.map((_, i) => ({ shardId: 'shardId-000000000000', sequenceNumber: String(i) }));
  }
  get records(): StreamRecordIn[] {
    return this.calls.flat();
  }
}

export class FakeErrorSink implements ErrorSink {
  calls: { reason: string; body: string; meta: ErrorMeta }[] = [];
  failWith?: Error;
  async put(reason: string, rawBody: Uint8Array, meta: ErrorMeta): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.calls.push({ reason, body: Buffer.from(rawBody).toString('utf8'), meta });
  }
}

/** Ack codes by code; `recipients` are normalized addresses (as AckCodes.addRecipients stores them). */
export class FakeAckCodes {
  constructor(readonly entries: Record<string, AckCodeEntry & { recipients?: AckRecipient[] }> = {}) {}
  failWith?: Error;
  async resolve(code: string): Promise<ResolvedAckCode | undefined> {
    if (this.failWith) throw this.failWith;
    const entry = this.entries[code.trim().toUpperCase()];
    return entry && { ...entry, recipients: entry.recipients ?? [] };
  }
}

export function testApp(
  opts: {
    config?: Partial<ReceiverConfig>;
    ackCodes?: FakeAckCodes;
    streamHealth?: StreamHealth;
    now?: () => number;
    logger?: StructuredLogger;
    snsVerifier?: AppDeps['snsVerifier'];
    snsEventsVerifier?: AppDeps['snsEventsVerifier'];
  } = {},
) {
  const producer = new FakeProducer();
  const errorSink = new FakeErrorSink();
  const ackCodes = opts.ackCodes ?? new FakeAckCodes();
  const config = testConfig(opts.config);
  const deps: AppDeps = {
    config,
    producer,
    errorSink,
    ackCodes,
    streamHealth: opts.streamHealth,
    logger: opts.logger ?? silentLogger,
    now: opts.now,
    ...(opts.snsVerifier ? { snsVerifier: opts.snsVerifier } : {}),
    ...(opts.snsEventsVerifier ? { snsEventsVerifier: opts.snsEventsVerifier } : {}),
  };
  return { app: createApp(deps), producer, errorSink, ackCodes, config };
}

const FIXTURES = new URL('./fixtures/', import.meta.url);

/** A fixture file, parsed. */
/** Sends a request built by twilioRequest / resendRequest (its url apart from the rest) to the app. */
export async function post(app: ReturnType<typeof testApp>['app'], req: RequestInit & { url: string }) {
  const { url, ...init } = req;
  return app.request(url, init);
}

export function jsonFixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as T;
}

/** A Twilio fixture: form parameters. */
export function fixture(name: string): Record<string, string> {
  return jsonFixture<Record<string, string>>(name);
}

export function formBody(params: Record<string, string | string[]>): string {
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const one of Array.isArray(v) ? v : [v]) form.append(k, one);
  return form.toString();
}

/** X-Twilio-Signature as Twilio computes it (HMAC-SHA1 over the URL + sorted params). */
export function twilioSignature(authToken: string, url: string, params: Record<string, string | string[]>): string {
  return twilio.getExpectedTwilioSignature(authToken, url, params);
}

/** Query of the StatusCallback URL the paging side sets (schemas/correlation.ts). */
export function pageQuery(page = PAGE): string {
  return new URLSearchParams({ incident: page.incidentId, alarm: page.alarmArn, dispatch: page.dispatchId }).toString();
}

/** A signed Twilio form POST to `path` (path + query as Twilio calls it on PUBLIC_BASE_URL). */
export function twilioRequest(
  path: string,
  params: Record<string, string | string[]>,
  opts: { token?: string; base?: string; signedUrl?: string } = {},
): RequestInit & { url: string } {
  const base = opts.base ?? TEST_ENV.PUBLIC_BASE_URL;
  const signature = twilioSignature(opts.token ?? TEST_ENV.TWILIO_AUTH_TOKEN, opts.signedUrl ?? base + path, params);
  return {
    url: path,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
    body: formBody(params),
  };
}

/** Svix headers for `body` signed with `secret` at `date`. */
export function svixHeaders(
  body: string,
  opts: { secret?: string; id?: string; date?: Date } = {},
): Record<string, string> {
  const id = opts.id ?? 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W';
  const date = opts.date ?? new Date();
  return {
    'svix-id': id,
    'svix-timestamp': String(Math.floor(date.getTime() / 1000)),
    'svix-signature': new Webhook(opts.secret ?? TEST_ENV.RESEND_WEBHOOK_SECRET).sign(id, date, body),
  };
}

export function resendRequest(
  body: string,
  opts: { secret?: string; id?: string; date?: Date } = {},
): RequestInit & { url: string } {
  return {
    url: '/webhooks/resend',
    method: 'POST',
    headers: { 'content-type': 'application/json', ...svixHeaders(body, opts) },
    body,
  };
}

/** The error `fn` throws; fails the test when it throws nothing. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}
