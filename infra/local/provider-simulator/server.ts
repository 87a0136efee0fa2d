/**
 * A local stand-in for the two messaging providers, good enough for the official SDKs and for the
 * webhook receiver:
 *
 * - Twilio Messages API: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` (form body, HTTP Basic
 *   AccountSid:AuthToken) → 201 message resource; `GET …/Messages/{Sid}.json`; `GET …/Messages.json`
 *   (list: `To`, `From`, `DateSent`, `DateSent<`, `DateSent>` (inclusive, second precision; a date-only
 *   value means the whole UTC day; messages not yet sent have no date_sent and do not match a date
 *   filter), `PageSize` (default 50), `PageToken`; newest first, unsent ones first; Twilio's page
 *   shape, so twilio-node's `list()`/`each()` page through it). Then status callbacks (form-encoded,
 *   `X-Twilio-Signature` over the StatusCallback URL as given) and inbound replies. A template message
 *   (ContentSid) gets its `body` rendered from `contentTemplates`, else the content variables joined.
 * - Resend emails API: `POST /emails` (JSON, `Authorization: Bearer <key>`, `Idempotency-Key`) → 200
 *   `{ id }`; `GET /emails/{id}`. Then Svix-signed webhooks (`svix-id` stable across retries).
 *   Idempotency as Resend documents: the same key within 24 h returns the first id (no new email, no
 *   new webhooks); the same key with another payload → 409 `invalid_idempotent_request`; the same key
 *   while the first request has not been answered yet (a hung answer) → 409
 *   `concurrent_idempotent_requests`.
 *
 * Faults: `hangFraction` of the sending requests (seeded, deterministic: SHA-256 of seed, the page's
 * dispatch id or idempotency key, and how many times that page was sent before) are accepted but
 * answered `hangMs` late; the behaviour step `hang` does that for a recipient; one-shot `faults` per
 * recipient answer 5xx/429 (before or after creating the message), reset the connection, or hang.
 * Hangs and faults apply to requests that would create a message or email; an idempotent replay
 * answers at once. Every API request is recorded with its receive and answer times (epoch ms) and,
 * for sends, the recipient, the page reference and the dispatch id.
 *
 * Callbacks are signed over the *public* URL (what Twilio/Resend would call: the receiver's
 * PUBLIC_BASE_URL) and delivered to `receiverBaseUrl` + the same path and query. A 5xx (Twilio) or
 * any non-2xx (Resend, as Svix does) or an unreachable receiver is retried with exponential backoff.
 *
 * What each recipient does is set by behaviours (see behaviours.ts). Every API call and every callback
 * attempt is recorded (`requests()`, `callbacks()`, `GET /__sim/requests`, `GET /__sim/callbacks`).
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import type { z } from 'zod';
import { Webhook } from 'svix';
import twilio from 'twilio';
import { silentLogger, type Logger } from '../../logger.js';
import type { HttpBindings } from '@hono/node-server';
import { ApiFault, ApiFaults, Behaviour, DEFAULT_BEHAVIOUR, normalizeBehaviours, recipientKey, stepOf, type Behaviours, type StepName } from './behaviours.js';
import { findAckLink, forms, links } from './html.js';

export type { ApiFault, Behaviour, Behaviours, StepName } from './behaviours.js';

/** "Ref 7Q2M9XKD": the page reference as messages carry it (Crockford base32, 8–10 characters). */
const REF_RE = /(?:^|[^0-9A-Za-z])Ref\s+([0-9A-HJKMNP-TV-Z]{8,10})(?![0-9A-Za-z])/;
export const referenceIn = (...texts: (string | null | undefined)[]): string | undefined => {
  for (const t of texts) {
    const m = t ? REF_RE.exec(t) : null;
    if (m) return m[1];
  }
  return undefined;
};
/** Default answer delay of a `hang` step or fault when hangMs is 0. */
const DEFAULT_HANG_MS = 5_000;

export interface ProviderSimulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  accountSid: string;
  twilioAuthToken: string;
  /** The API key `POST /emails` accepts (Bearer). */
  resendApiKey: string;
  /** `whsec_…`: signs the Resend (Svix) webhooks. */
  resendWebhookSecret: string;
  /** Where callbacks are actually POSTed, e.g. http://127.0.0.1:8080. */
  receiverBaseUrl: string;
  /** The receiver's PUBLIC_BASE_URL: the URL base Twilio signs over. Default: receiverBaseUrl. */
  publicBaseUrl?: string;
  resendWebhookPath?: string;
  twilioInboundPath?: string;
  behaviours?: Behaviours;
  /** Spacing of behaviour steps (ms). Default 200. */
  stepDelayMs?: number;
  /** Callback retries: attempts in all (default 5), first backoff (default 100 ms), doubling up to maxDelayMs (default 2 s). */
  retry?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number };
  /** Per-attempt timeout of a callback (ms). Default 10 s. */
  callbackTimeoutMs?: number;
  /** Senders picked for messages sent with a MessagingServiceSid (no From). */
  senders?: { sms?: string; whatsapp?: string };
  /** Content templates by ContentSid (`Alarm {{1}}: reply ACK {{2}}`): renders `body`, helps find the ACK code. */
  contentTemplates?: Record<string, string>;
  /**
   * WhatsApp's 24-hour rule: a free-form WhatsApp Body (no ContentSid) to someone who has not written
   * in the last 24 h is accepted, then fails with 63016, as on Twilio. Default true.
   */
  whatsappSessionRule?: boolean;
  /** Fraction (0..1) of sending requests that hang (accepted, answer delayed hangMs). Default 0. */
  hangFraction?: number;
  /** How late a hung request is answered (ms). Default 0 (the `hang` step and faults then use 5 s). */
  hangMs?: number;
  /** Seed of the deterministic hang choice. Default 0. */
  seed?: string | number;
  /** One-shot API faults per recipient (consumed in order, one per sending request). */
  faults?: Record<string, ApiFault[]>;
  logger?: Logger;
}

export interface ApiRequestRecord {
  at: string;
  /** When the request was received (epoch ms). */
  receivedAt: number;
  /** When it was answered (epoch ms); absent while a hung answer is pending or after a reset. */
  answeredAt?: number;
  api: 'twilio' | 'resend';
  method: string;
  path: string;
  status: number;
  /** Twilio: the form parameters (MediaUrl etc. joined by ','). */
  params?: Record<string, string>;
  /** Resend: the JSON body. */
  body?: unknown;
  idempotencyKey?: string;
  /** The id the call created or returned (SM…, email uuid). */
  id?: string;
  /** True when an Idempotency-Key replay returned an earlier result. */
  replayed?: boolean;
  error?: { code: number | string; message: string };
  /** Sending requests: the recipient (To / first email `to`). */
  recipient?: string;
  /** Sending requests: the page reference found in the message ("Ref XXXXXXXX"). */
  reference?: string;
  /** Sending requests: the dispatch id (StatusCallback `dispatch` query / `dispatch_id` tag). */
  dispatchId?: string;
  /** The answer was delayed this long (hang). */
  hungMs?: number;
  /** A one-shot fault applied to this request (`hang`, `error 500`, `reset`, …). */
  fault?: string;
  /** List requests: the query parameters and how many items the page returned. */
  query?: Record<string, string>;
  count?: number;
}

export type CallbackKind = 'twilio.status' | 'twilio.inbound' | 'resend.webhook' | 'ack.get' | 'ack.post' | 'link.scan';

export interface CallbackRecord {
  at: string;
  kind: CallbackKind;
  /** MessageStatus, Resend event type, or the HTTP step of a person/scanner following a link. */
  event: string;
  /** SM… / email id the callback is about. */
  messageId: string;
  recipient: string;
  method: 'GET' | 'POST';
  /** Where it was sent (receiver). */
  url: string;
  /** The URL the signature covers (public). */
  signedUrl?: string;
  /** Twilio form params / form fields posted. */
  params?: Record<string, string>;
  /** Resend webhook payload. */
  payload?: unknown;
  headers: Record<string, string>;
  attempt: number;
  /** The receiver's status; 0 when unreachable or timed out. */
  status: number;
  error?: string;
  /** The first 2 KB of the receiver's answer to a GET/POST of the ack flow. */
  responseText?: string;
}

export interface ProviderSimulator {
  url: string;
  port: number;
  close(): Promise<void>;
  requests(): ApiRequestRecord[];
  callbacks(): CallbackRecord[];
  setBehaviour(recipient: string, behaviour: Behaviour): void;
  /** Resolves when every scheduled step and callback (with its retries) has run (not answers held back by a hang: close() releases those). */
  idle(): Promise<void>;
  /** Forgets the recorded requests and callbacks. */
  clearRecords(): void;
  /** Queues one-shot API faults for a recipient's next sending requests. */
  injectFaults(recipient: string, faults: ApiFault[]): void;
}

// ---------------------------------------------------------------------------------------------------
// Twilio helpers

const API_VERSION = '2010-04-01';
const E164 = /^\+[1-9]\d{1,14}$/;
const ACK_RE = /ACK\s+([A-Z0-9]{4,8})(?![A-Z0-9])/;

interface TwilioError {
  status: number;
  code: number;
  message: string;
}
const twilioError = (status: number, code: number, message: string): TwilioError => ({ status, code, message });

/** Twilio's test-credential magic numbers, as the live API treats the corresponding real cases. */
const MAGIC_TO: Record<string, TwilioError> = {
  '+15005550001': twilioError(400, 21211, "The 'To' number +15005550001 is not a valid phone number."),
  '+15005550002': twilioError(400, 21612, "The 'To' phone number: +15005550002, is not currently reachable using the 'From' phone number via SMS."),
  '+15005550003': twilioError(400, 21408, 'Permission to send an SMS has not been enabled for the region indicated by the \'To\' number: +15005550003.'),
  '+15005550004': twilioError(400, 21610, 'Attempt to send to unsubscribed recipient'),
  '+15005550009': twilioError(400, 21614, "'To' number is not a valid mobile number"),
};

const ERROR_MESSAGES: Record<number, string> = {
  30003: 'Unreachable destination handset',
  30008: 'Unknown error',
  63016: 'Failed to send freeform message because you are outside the allowed window. If you are using WhatsApp, please use a Message Template.',
};

const rfc2822 = (d: Date) => d.toUTCString().replace(/GMT$/, '+0000');
const hex32 = () => randomBytes(16).toString('hex');
const sid = (prefix: string) => prefix + hex32();

function segments(body: string): number {
  if (!body) return 1;
  const gsm = /^[\x20-\x7E\n\r£¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà€]*$/.test(body);
  const [single, multi] = gsm ? [160, 153] : [70, 67];
  const len = [...body].length;
  return len <= single ? 1 : Math.ceil(len / multi);
}

/** YYMMDDhhmm (UTC), as in RawDlrDoneDate. */
function dlrDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}`;
}

interface TwilioMessage {
  sid: string;
  accountSid: string;
  to: string;
  from: string | null;
  /** The sender actually used (From, or the Messaging Service's pick). */
  sender: string;
  messagingServiceSid: string | null;
  body: string;
  contentSid: string | null;
  contentVariables: Record<string, string> | null;
  statusCallback: string | null;
  status: string;
  direction: 'outbound-api' | 'inbound';
  errorCode: number | null;
  errorMessage: string | null;
  numMedia: number;
  dateCreated: Date;
  dateUpdated: Date;
  dateSent: Date | null;
}

function messageJson(m: TwilioMessage) {
  const uri = `/${API_VERSION}/Accounts/${m.accountSid}/Messages/${m.sid}.json`;
  return {
    account_sid: m.accountSid,
    api_version: API_VERSION,
    body: m.body,
    date_created: rfc2822(m.dateCreated),
    date_sent: m.dateSent ? rfc2822(m.dateSent) : null,
    date_updated: rfc2822(m.dateUpdated),
    direction: m.direction,
    error_code: m.errorCode,
    error_message: m.errorMessage,
    from: m.from,
    messaging_service_sid: m.messagingServiceSid,
    num_media: String(m.numMedia),
    num_segments: m.messagingServiceSid && m.status === 'accepted' ? '0' : String(segments(m.body)),
    price: null,
    price_unit: 'USD',
    sid: m.sid,
    status: m.status,
    subresource_uris: {
      media: `/${API_VERSION}/Accounts/${m.accountSid}/Messages/${m.sid}/Media.json`,
      feedback: `/${API_VERSION}/Accounts/${m.accountSid}/Messages/${m.sid}/Feedback.json`,
    },
    to: m.to,
    uri,
  };
}

function render(template: string, vars: Record<string, string> | null): string {
  return template.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (_, k: string) => vars?.[k] ?? '');
}

/** The body of a template message whose template is not configured: the variables in key order. */
function renderDefault(vars: Record<string, string> | null): string {
  return Object.keys(vars ?? {})
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((k) => vars![k])
    .join(' · ');
}

/** The ACK code a person would type back: from the Body, the rendered template, or the content variables. */
export function ackCodeOf(text: { body?: string | null; rendered?: string | null; variables?: Record<string, string> | null }): string | undefined {
  for (const t of [text.body, text.rendered, ...Object.values(text.variables ?? {})]) {
    const m = t ? ACK_RE.exec(String(t)) : null;
    if (m) return m[1];
  }
  for (const [k, v] of Object.entries(text.variables ?? {})) {
    if (/ack|code/i.test(k) && /^[A-Z0-9]{4,8}$/.test(String(v))) return String(v);
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Resend helpers

interface ResendErrorBody {
  statusCode: number;
  name: string;
  message: string;
}
const resendError = (statusCode: number, name: string, message: string): ResendErrorBody => ({ statusCode, name, message });

const EMAIL = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;
const validAddress = (s: string) => {
  const m = /^(?:[^<>]*<\s*([^<>]+?)\s*>|\s*([^<>\s]+)\s*)$/.exec(s);
  const addr = m?.[1] ?? m?.[2];
  return !!addr && EMAIL.test(addr);
};
const TAG_RE = /^[A-Za-z0-9_-]{1,256}$/;

/** Resend's data.created_at style: `2024-02-22T23:41:11.894719+00:00`. */
const pgTimestamp = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');

interface Email {
  id: string;
  from: string;
  to: string[];
  subject: string;
  html?: string;
  text?: string;
  cc?: string[];
  bcc?: string[];
  replyTo?: string[];
  tags: Record<string, string>;
  createdAt: Date;
  lastEvent: string;
}

const asList = (v: unknown): string[] | undefined => (v === undefined || v === null ? undefined : Array.isArray(v) ? v.map(String) : [String(v)]);

// ---------------------------------------------------------------------------------------------------

class Closed extends Error {
  constructor() {
    super('provider simulator closed');
  }
}

function trimBase(u: string): string {
  return new URL(u).toString().replace(/\/+$/, '');
}

export async function startProviderSimulator(opts: ProviderSimulatorOptions): Promise<ProviderSimulator> {
  const log = opts.logger ?? silentLogger;
  const stepDelayMs = opts.stepDelayMs ?? 200;
  const attempts = Math.max(1, opts.retry?.attempts ?? 5);
  const baseDelayMs = opts.retry?.baseDelayMs ?? 100;
  const maxDelayMs = opts.retry?.maxDelayMs ?? 2_000;
  const callbackTimeoutMs = opts.callbackTimeoutMs ?? 10_000;
  const receiverBase = trimBase(opts.receiverBaseUrl);
  const publicBase = trimBase(opts.publicBaseUrl ?? opts.receiverBaseUrl);
  const resendWebhookPath = opts.resendWebhookPath ?? '/webhooks/resend';
  const twilioInboundPath = opts.twilioInboundPath ?? '/webhooks/twilio';
  const senders = { sms: opts.senders?.sms ?? '+15550000000', whatsapp: opts.senders?.whatsapp ?? 'whatsapp:+15550000000' };
  const whatsappSessionRule = opts.whatsappSessionRule ?? true;
  const svix = new Webhook(opts.resendWebhookSecret);

  const behaviours = normalizeBehaviours(opts.behaviours ?? {});
  const behaviourFor = (recipient: string): Behaviour => behaviours.get(recipientKey(recipient)) ?? behaviours.get('default') ?? DEFAULT_BEHAVIOUR;

  const apiRequests: ApiRequestRecord[] = [];
  const callbackRecords: CallbackRecord[] = [];
  const messages = new Map<string, TwilioMessage>();
  const emails = new Map<string, Email>();
  /** Idempotency keys → the first request's payload hash and email; `answered` false while its answer hangs. */
  const idempotency = new Map<string, { hash: string; id: string; at: number; answered: boolean }>();
  /** WhatsApp customer-service windows: recipient → time of their last inbound message. */
  const sessions = new Map<string, number>();

  const hangFraction = opts.hangFraction ?? 0;
  if (!(hangFraction >= 0 && hangFraction <= 1)) throw new Error(`hangFraction must be within 0..1, got ${hangFraction}`);
  const hangMs = opts.hangMs ?? 0;
  if (!(Number.isFinite(hangMs) && hangMs >= 0)) throw new Error(`hangMs must be >= 0, got ${hangMs}`);
  const seed = String(opts.seed ?? 0);
  type Fault = z.output<typeof ApiFault>;
  const faults = new Map<string, Fault[]>();
  const injectFaults = (recipient: string, list: ApiFault[]) => {
    const key = recipientKey(recipient);
    faults.set(key, [...(faults.get(key) ?? []), ...ApiFaults.parse(list)]);
  };
  for (const [k, v] of Object.entries(opts.faults ?? {})) injectFaults(k, v);
  /** How many sending requests each page (dispatch id / idempotency key / content) made: the draw index. */
  const sendCounts = new Map<string, number>();

  const closing = new AbortController();
  setMaxListeners(0, closing.signal);
  const tasks = new Set<Promise<void>>();

  const sleep = (ms: number) =>
    new Promise<void>((resolve, reject) => {
      if (closing.signal.aborted) return reject(new Closed());
      const onAbort = () => {
        clearTimeout(t);
        reject(new Closed());
      };
      const t = setTimeout(() => {
        closing.signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      closing.signal.addEventListener('abort', onAbort, { once: true });
    });

  const spawn = (what: string, fn: () => Promise<void>) => {
    const p = fn()
      .catch((err) => {
        if (!(err instanceof Closed)) log.error({ err, what }, 'simulator task failed');
      })
      .finally(() => tasks.delete(p));
    tasks.add(p);
  };

  /** The receiver URL for a public URL (same path and query); other URLs are used as they are. */
  const toReceiver = (url: string): string => {
    if (url.startsWith(publicBase) && ['', '/', '?', '#'].includes(url.charAt(publicBase.length))) return receiverBase + url.slice(publicBase.length);
    return url;
  };
  const pathOnly = (url: string) => {
    try {
      return new URL(url).pathname;
    } catch {
      return url;
    }
  };

  const backoff = (attempt: number) => Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));

  interface Outgoing {
    kind: CallbackKind;
    event: string;
    messageId: string;
    recipient: string;
    url: string;
    signedUrl?: string;
    params?: Record<string, string>;
    payload?: unknown;
    /** Headers and body of attempt n (Svix re-signs each attempt with a fresh timestamp). */
    build: (attempt: number) => { headers: Record<string, string>; body: string };
    retryOn: (status: number) => boolean;
  }

  /** POSTs a callback, retrying as the provider does; resolves with the final status (0: unreachable). */
  async function deliver(o: Outgoing): Promise<number> {
    let status = 0;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const { headers, body } = o.build(attempt);
      let error: string | undefined;
      try {
        const res = await fetch(o.url, {
          method: 'POST',
          headers,
          body,
          redirect: 'manual',
          signal: AbortSignal.any([closing.signal, AbortSignal.timeout(callbackTimeoutMs)]),
        });
        status = res.status;
        await res.arrayBuffer().catch(() => undefined);
      } catch (err) {
        if (closing.signal.aborted) throw new Closed();
        status = 0;
        error = (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message;
      }
      callbackRecords.push({
        at: new Date().toISOString(),
        kind: o.kind,
        event: o.event,
        messageId: o.messageId,
        recipient: o.recipient,
        method: 'POST',
        url: o.url,
        signedUrl: o.signedUrl,
        params: o.params,
        payload: o.payload,
        headers,
        attempt,
        status,
        ...(error ? { error } : {}),
      });
      const retry = status === 0 || o.retryOn(status);
      log[retry ? 'warn' : 'debug']({ kind: o.kind, event: o.event, messageId: o.messageId, path: pathOnly(o.url), attempt, status, error }, 'callback');
      if (!retry) return status;
      if (attempt < attempts) await sleep(backoff(attempt));
    }
    log.warn({ kind: o.kind, event: o.event, messageId: o.messageId, attempts }, 'callback given up');
    return status;
  }

  // -------------------------------------------------------------------------------------------------
  // Twilio

  const twilioRetryOn = (s: number) => s >= 500 || s === 429;

  function signTwilio(url: string, params: Record<string, string>): string {
    return twilio.getExpectedTwilioSignature(opts.twilioAuthToken, url, params);
  }

  function twilioPost(kind: 'twilio.status' | 'twilio.inbound', event: string, m: TwilioMessage, recipient: string, publicUrl: string, params: Record<string, string>) {
    const signature = signTwilio(publicUrl, params);
    const body = new URLSearchParams(params).toString();
    const idem = `${m.sid}-${event}-${randomUUID()}`;
    return deliver({
      kind,
      event,
      messageId: m.sid,
      recipient,
      url: toReceiver(publicUrl),
      signedUrl: publicUrl,
      params,
      build: () => ({
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'user-agent': 'TwilioProxy/1.1',
          'x-twilio-signature': signature,
          'i-twilio-idempotency-token': idem,
          'x-home-region': 'us1',
        },
        body,
      }),
      retryOn: twilioRetryOn,
    });
  }

  const channelInstallSid = (sender: string) => 'XE' + createHash('md5').update(sender).digest('hex');

  async function statusCallback(m: TwilioMessage, status: string, errorCode?: number) {
    const now = new Date();
    m.status = status;
    m.dateUpdated = now;
    if (status === 'sent' && !m.dateSent) m.dateSent = now;
    if (errorCode) {
      m.errorCode = errorCode;
      m.errorMessage = ERROR_MESSAGES[errorCode] ?? null;
    }
    if (!m.statusCallback) return;
    const whatsapp = m.to.startsWith('whatsapp:');
    const params: Record<string, string> = {
      AccountSid: m.accountSid,
      ApiVersion: API_VERSION,
      From: m.sender,
      MessageSid: m.sid,
      MessageStatus: status,
      SmsSid: m.sid,
      SmsStatus: status,
      To: m.to,
    };
    if (m.messagingServiceSid) params.MessagingServiceSid = m.messagingServiceSid;
    if (whatsapp) {
      params.ChannelPrefix = 'whatsapp';
      params.ChannelInstallSid = channelInstallSid(m.sender);
      params.ChannelToAddress = m.to.slice('whatsapp:'.length);
      params.StructuredMessage = m.contentSid ? 'true' : 'false';
    } else if (status === 'delivered' || status === 'undelivered') {
      params.RawDlrDoneDate = dlrDate(now);
    }
    if (errorCode) {
      params.ErrorCode = String(errorCode);
      if (ERROR_MESSAGES[errorCode]) params.ErrorMessage = ERROR_MESSAGES[errorCode];
    }
    await twilioPost('twilio.status', status, m, m.to, m.statusCallback, params);
  }

  async function replyAck(m: TwilioMessage) {
    const code = ackCodeOf({
      body: m.body,
      rendered: m.contentSid && opts.contentTemplates?.[m.contentSid] ? render(opts.contentTemplates[m.contentSid], m.contentVariables) : null,
      variables: m.contentVariables,
    });
    if (!code) {
      log.warn({ messageId: m.sid }, 'reply_ack: no ACK code in the message body or content variables; no reply sent');
      return;
    }
    const whatsapp = m.to.startsWith('whatsapp:');
    const now = new Date();
    const inbound: TwilioMessage = {
      sid: sid('SM'),
      accountSid: m.accountSid,
      to: m.sender,
      from: m.to,
      sender: m.to,
      messagingServiceSid: m.messagingServiceSid,
      body: `ACK ${code}`,
      contentSid: null,
      contentVariables: null,
      statusCallback: null,
      status: 'received',
      direction: 'inbound',
      errorCode: null,
      errorMessage: null,
      numMedia: 0,
      dateCreated: now,
      dateUpdated: now,
      dateSent: now,
    };
    messages.set(inbound.sid, inbound);
    if (whatsapp) sessions.set(m.to, Date.now());
    const params: Record<string, string> = {
      ToCountry: 'US',
      SmsMessageSid: inbound.sid,
      NumMedia: '0',
      SmsSid: inbound.sid,
      SmsStatus: 'received',
      Body: inbound.body,
      To: inbound.to,
      NumSegments: '1',
      MessageSid: inbound.sid,
      AccountSid: inbound.accountSid,
      From: inbound.from!,
      ApiVersion: API_VERSION,
    };
    if (m.messagingServiceSid) params.MessagingServiceSid = m.messagingServiceSid;
    if (whatsapp) {
      delete params.ToCountry;
      params.ProfileName = 'Simulated Recipient';
      params.WaId = m.to.replace(/^whatsapp:\+/, '');
      params.MessageType = 'text';
      params.ReferralNumMedia = '0';
      params.ChannelMetadata = JSON.stringify({ type: 'whatsapp', data: { context: { ProfileName: 'Simulated Recipient', WaId: params.WaId } } });
    } else if (inbound.from!.startsWith('+1')) {
      params.FromCountry = 'US';
    }
    await twilioPost('twilio.inbound', 'received', inbound, m.to, publicBase + twilioInboundPath, params);
  }

  async function runTwilio(m: TwilioMessage) {
    const whatsapp = m.to.startsWith('whatsapp:');
    const steps = behaviourFor(m.to)
      .map(stepOf)
      .filter((s) => s.step !== 'hang');
    if (m.messagingServiceSid) {
      await sleep(stepDelayMs / 2);
      await statusCallback(m, 'queued');
    }
    await sleep(stepDelayMs);
    if (whatsapp && whatsappSessionRule && !m.contentSid) {
      const last = sessions.get(m.to);
      if (!last || Date.now() - last > 24 * 3600_000) {
        await statusCallback(m, 'failed', 63016);
        return;
      }
    }
    if (steps[0]?.step === 'failed') {
      await statusCallback(m, 'failed', 30008);
      return;
    }
    await statusCallback(m, 'sent');
    for (const s of steps) {
      await sleep(s.afterMs ?? stepDelayMs);
      switch (s.step) {
        case 'delivered':
          await statusCallback(m, 'delivered');
          break;
        case 'read':
          if (whatsapp) await statusCallback(m, 'read');
          else log.warn({ messageId: m.sid }, 'behaviour step "read" ignored: SMS has no read receipts');
          break;
        case 'undelivered':
          await statusCallback(m, 'undelivered', 30003);
          return;
        case 'failed':
          await statusCallback(m, 'failed', 30008);
          return;
        case 'delayed':
          await sleep(2 * stepDelayMs);
          await statusCallback(m, 'delivered');
          break;
        case 'reply_ack':
          await replyAck(m);
          break;
        case 'no_answer':
          break;
        default:
          log.warn({ messageId: m.sid, step: s.step }, 'behaviour step does not apply to SMS/WhatsApp; ignored');
      }
    }
  }

  function validateTwilio(p: URLSearchParams): TwilioError | undefined {
    const to = p.get('To');
    const from = p.get('From');
    const mg = p.get('MessagingServiceSid');
    const body = p.get('Body');
    const contentSid = p.get('ContentSid');
    if (!to) return twilioError(400, 21604, "A 'To' phone number is required.");
    const whatsapp = to.startsWith('whatsapp:');
    const toNumber = whatsapp ? to.slice('whatsapp:'.length) : to;
    if (!E164.test(toNumber)) return twilioError(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
    if (MAGIC_TO[to]) return MAGIC_TO[to];
    if (!from && !mg) return twilioError(400, 21603, "A 'From' phone number is required.");
    if (mg && !/^MG[0-9a-f]{32}$/.test(mg)) return twilioError(400, 21701, `The Messaging Service Sid ${mg} is invalid.`);
    if (from) {
      const fromWhatsapp = from.startsWith('whatsapp:');
      const fromNumber = fromWhatsapp ? from.slice('whatsapp:'.length) : from;
      if (!E164.test(fromNumber) && !(/^[A-Za-z0-9 ]{1,11}$/.test(from) && /[A-Za-z]/.test(from)) && !/^\d{5,6}$/.test(from)) {
        return twilioError(400, 21212, `The 'From' number ${from} is not a valid phone number, shortcode, or alphanumeric sender ID.`);
      }
      if (fromWhatsapp !== whatsapp) return twilioError(400, 21910, 'Invalid From and To pair. From and To should be of the same channel');
    }
    if (!body && !contentSid && !p.get('MediaUrl')) return twilioError(400, 21619, 'A text message body or media urls must be specified.');
    if (body && [...body].length > 1600) return twilioError(400, 21617, 'The concatenated message body exceeds the 1600 character limit.');
    if (contentSid && !/^HX[0-9a-f]{32}$/.test(contentSid)) return twilioError(400, 21655, 'The ContentSid is Invalid.');
    const vars = p.get('ContentVariables');
    if (vars !== null) {
      try {
        const v = JSON.parse(vars);
        if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
      } catch {
        return twilioError(400, 21656, 'The ContentVariables Parameter is invalid.');
      }
    }
    const cb = p.get('StatusCallback');
    if (cb !== null) {
      try {
        const u = new URL(cb);
        if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.hostname.includes('_')) throw new Error('bad');
      } catch {
        return twilioError(400, 21609, 'Invalid StatusCallback url');
      }
    }
    return undefined;
  }

  function twilioAuthOk(header: string | undefined): boolean {
    const m = /^Basic\s+(.+)$/i.exec(header ?? '');
    if (!m) return false;
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) return false;
    const expected = Buffer.from(`${opts.accountSid}:${opts.twilioAuthToken}`);
    const got = Buffer.from(decoded);
    return got.length === expected.length && timingSafeEqual(got, expected);
  }

  const twilioErrorResponse = (c: Context, e: TwilioError) =>
    c.json({ code: e.code, message: e.message, more_info: `https://www.twilio.com/docs/errors/${e.code}`, status: e.status }, e.status as 400);

  // -------------------------------------------------------------------------------------------------
  // Resend

  function webhookPayload(e: Email, type: string, extra: Record<string, unknown> = {}) {
    return {
      type,
      created_at: new Date().toISOString(),
      data: {
        created_at: pgTimestamp(e.createdAt),
        email_id: e.id,
        from: e.from,
        to: e.to,
        subject: e.subject,
        ...(Object.keys(e.tags).length ? { tags: e.tags } : {}),
        ...extra,
      },
    };
  }

  async function resendEvent(e: Email, type: string, extra: Record<string, unknown> = {}) {
    e.lastEvent = type.replace(/^email\./, '');
    const payload = webhookPayload(e, type, extra);
    const body = JSON.stringify(payload);
    const msgId = 'msg_' + randomBytes(20).toString('base64url').slice(0, 27);
    const url = receiverBase + resendWebhookPath;
    await deliver({
      kind: 'resend.webhook',
      event: type,
      messageId: e.id,
      recipient: e.to[0],
      url,
      signedUrl: publicBase + resendWebhookPath,
      payload,
      build: () => {
        const now = new Date();
        return {
          headers: {
            'content-type': 'application/json',
            'user-agent': 'Svix-Webhooks/1.99 (sender-sim; +https://www.svix.com/http-sender/)',
            'svix-id': msgId,
            'svix-timestamp': String(Math.floor(now.getTime() / 1000)),
            'svix-signature': svix.sign(msgId, now, body),
          },
          body,
        };
      },
      retryOn: (s) => s < 200 || s >= 300,
    });
  }

  const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 pagetrail-simulator';

  /** One browser request (following redirects, rewriting public URLs to the receiver); recorded. */
  async function browse(
    kind: 'ack.get' | 'ack.post' | 'link.scan',
    e: Email,
    publicUrl: string,
    init: { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string; fields?: Record<string, string> },
  ): Promise<{ status: number; text: string; url: string; cookies: string[] }> {
    let url = publicUrl;
    let method = init.method;
    let body = init.body;
    const headers: Record<string, string> = { 'user-agent': BROWSER_UA, accept: 'text/html,application/xhtml+xml', ...init.headers };
    let status = 0;
    let text = '';
    let error: string | undefined;
    const cookies: string[] = [];
    for (let hop = 0; hop < 5; hop++) {
      try {
        const res = await fetch(toReceiver(url), {
          method,
          headers: method === 'POST' ? headers : Object.fromEntries(Object.entries(headers).filter(([k]) => k !== 'content-type')),
          body: method === 'POST' ? body : undefined,
          redirect: 'manual',
          signal: AbortSignal.any([closing.signal, AbortSignal.timeout(callbackTimeoutMs)]),
        });
        status = res.status;
        text = await res.text();
        for (const c of res.headers.getSetCookie()) cookies.push(c.split(';')[0]);
        const location = res.headers.get('location');
        if (status >= 300 && status < 400 && location) {
          url = new URL(location, url).toString();
          if (status !== 307 && status !== 308) {
            method = 'GET';
            body = undefined;
          }
          continue;
        }
      } catch (err) {
        if (closing.signal.aborted) throw new Closed();
        status = 0;
        error = (err as Error).message;
      }
      break;
    }
    callbackRecords.push({
      at: new Date().toISOString(),
      kind,
      event: `${init.method} ${pathOnly(publicUrl)}`,
      messageId: e.id,
      recipient: e.to[0],
      method: init.method,
      url: toReceiver(publicUrl),
      signedUrl: publicUrl,
      ...(init.fields ? { params: init.fields } : {}),
      headers,
      attempt: 1,
      status,
      ...(error ? { error } : {}),
      responseText: text.slice(0, 2048),
    });
    log.debug({ kind, messageId: e.id, path: pathOnly(publicUrl), status }, 'browser request');
    return { status, text, url, cookies };
  }

  /** A person opens the acknowledge link and presses the button: GET the page, POST its form. */
  async function clickAck(e: Email) {
    const link = findAckLink(e.html ?? '');
    if (!link) {
      log.warn({ messageId: e.id }, 'click_ack: no /ack? link in the html');
      return;
    }
    const publicLink = new URL(link, publicBase + '/').toString();
    const page = await browse('ack.get', e, publicLink, { method: 'GET' });
    if (page.status !== 200) return;
    const form = forms(page.text).find((f) => f.method === 'post');
    if (!form) {
      log.warn({ messageId: e.id }, 'click_ack: the acknowledge page has no POST form');
      return;
    }
    const action = new URL(form.action || page.url, page.url).toString();
    const fields = Object.fromEntries(form.fields);
    const origin = new URL(page.url).origin;
    await browse('ack.post', e, action, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin,
        referer: page.url,
        ...(page.cookies.length ? { cookie: page.cookies.join('; ') } : {}),
      },
      body: new URLSearchParams(form.fields).toString(),
      fields,
    });
  }

  const clickData = (link: string) => ({
    click: { ipAddress: '198.51.100.23', link, timestamp: new Date().toISOString(), userAgent: BROWSER_UA },
  });

  async function runEmail(e: Email) {
    const recipient = e.to.find((t) => behaviours.has(recipientKey(t))) ?? e.to[0];
    const steps = behaviourFor(recipient)
      .map(stepOf)
      .filter((s) => s.step !== 'hang');
    await sleep(stepDelayMs);
    await resendEvent(e, 'email.sent');
    for (const s of steps) {
      await sleep(s.afterMs ?? stepDelayMs);
      switch (s.step) {
        case 'delivered':
          await resendEvent(e, 'email.delivered');
          break;
        case 'opened':
          await resendEvent(e, 'email.opened');
          break;
        case 'complained':
          await resendEvent(e, 'email.complained');
          break;
        case 'bounced':
          await resendEvent(e, 'email.bounced', {
            bounce: {
              message:
                "The recipient's email provider sent a hard bounce message, but didn't specify the reason for the hard bounce. We recommend removing the recipient's email address from your mailing list.",
              subType: 'General',
              type: 'Permanent',
            },
          });
          return;
        case 'delayed':
          await resendEvent(e, 'email.delivery_delayed');
          await sleep(2 * stepDelayMs);
          await resendEvent(e, 'email.delivered');
          break;
        case 'clicked': {
          const link = findAckLink(e.html ?? '') ?? links(e.html ?? '')[0];
          if (link) await resendEvent(e, 'email.clicked', clickData(link));
          break;
        }
        case 'click_ack': {
          const link = findAckLink(e.html ?? '');
          if (link) await resendEvent(e, 'email.clicked', clickData(link));
          await clickAck(e);
          break;
        }
        case 'link_scan': {
          const link = findAckLink(e.html ?? '');
          if (link) await browse('link.scan', e, new URL(link, publicBase + '/').toString(), { method: 'GET', headers: { 'user-agent': 'Mozilla/5.0 (compatible; SafeLinks-Scanner/1.0; pagetrail-simulator)' } });
          break;
        }
        case 'no_answer':
          break;
        default:
          log.warn({ messageId: e.id, step: s.step }, 'behaviour step does not apply to email; ignored');
      }
    }
  }

  function validateEmail(b: Record<string, unknown>): ResendErrorBody | undefined {
    for (const f of ['from', 'to', 'subject'] as const) {
      if (b[f] === undefined || b[f] === null || b[f] === '') return resendError(422, 'missing_required_field', `Missing \`${f}\` field.`);
    }
    if (typeof b.from !== 'string' || !validAddress(b.from)) {
      return resendError(422, 'validation_error', 'Invalid `from` field. The email address needs to follow the `email@example.com` or `Name <email@example.com>` format.');
    }
    const to = asList(b.to)!;
    if (to.length === 0) return resendError(422, 'missing_required_field', 'Missing `to` field.');
    if (to.length > 50) return resendError(422, 'validation_error', 'Too many recipients in the `to` field: the maximum is 50.');
    for (const [field, list] of [['to', to], ['cc', asList(b.cc)], ['bcc', asList(b.bcc)], ['reply_to', asList(b.reply_to)]] as const) {
      for (const a of list ?? []) {
        if (!validAddress(a)) return resendError(422, 'validation_error', `Invalid \`${field}\` field. The email address needs to follow the \`email@example.com\` or \`Name <email@example.com>\` format.`);
      }
    }
    if (!b.html && !b.text && !b.template) return resendError(422, 'validation_error', 'Missing `html` or `text` field.');
    if (b.tags !== undefined) {
      if (!Array.isArray(b.tags)) return resendError(422, 'validation_error', 'The `tags` field must be an array of `{ name, value }` objects.');
      for (const t of b.tags as { name?: unknown; value?: unknown }[]) {
        if (typeof t?.name !== 'string' || !TAG_RE.test(t.name) || (t.value !== undefined && (typeof t.value !== 'string' || !TAG_RE.test(t.value)))) {
          return resendError(422, 'validation_error', 'Tags should only contain ASCII letters, numbers, underscores, or dashes.');
        }
      }
    }
    return undefined;
  }

  function resendAuth(header: string | undefined): ResendErrorBody | undefined {
    const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
    if (!m) {
      return resendError(401, 'missing_api_key', 'Missing API key in the authorization header. Include the following header Authorization: Bearer YOUR_API_KEY in the request.');
    }
    const got = Buffer.from(m[1].trim());
    const expected = Buffer.from(opts.resendApiKey);
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) return resendError(403, 'invalid_api_key', 'API key is invalid');
    return undefined;
  }

  // -------------------------------------------------------------------------------------------------
  // Faults: what happens to a request that would create a message

  interface Plan {
    /** Create the message (its callbacks follow). */
    create: boolean;
    /** Answer late (ms). */
    delayMs: number;
    /** Answer with this error status instead of the result. */
    errorStatus?: number;
    /** Destroy the connection instead of answering. */
    reset?: boolean;
    fault?: string;
  }

  /** Deterministic: SHA-256(seed, page key, how many times this page was sent before) < hangFraction. */
  function seededHang(pageKey: string): number {
    const n = sendCounts.get(pageKey) ?? 0;
    sendCounts.set(pageKey, n + 1);
    if (hangFraction <= 0 || hangMs <= 0) return 0;
    const h = createHash('sha256').update(`${seed}\0${pageKey}\0${n}`).digest();
    return h.readUInt32BE(0) / 2 ** 32 < hangFraction ? hangMs : 0;
  }

  function planFor(recipient: string, pageKey: string): Plan {
    const seeded = seededHang(pageKey);
    const f = faults.get(recipientKey(recipient))?.shift();
    if (f?.type === 'error') return { create: f.accepted, delayMs: 0, errorStatus: f.status, fault: `error ${f.status}${f.accepted ? ' after accepting' : ''}` };
    if (f?.type === 'reset') return { create: f.accepted, delayMs: 0, reset: true, fault: `reset${f.accepted ? ' after accepting' : ''}` };
    if (f?.type === 'hang') return { create: true, delayMs: f.ms ?? (hangMs || DEFAULT_HANG_MS), fault: 'hang' };
    const step = behaviourFor(recipient)
      .map(stepOf)
      .find((s) => s.step === 'hang');
    if (step) return { create: true, delayMs: step.afterMs ?? (hangMs || DEFAULT_HANG_MS) };
    return { create: true, delayMs: seeded };
  }

  /** Waits ms, or until the simulator closes (never rejects). */
  const hold = (ms: number) =>
    new Promise<void>((resolve) => {
      if (closing.signal.aborted) return resolve();
      const done = () => {
        clearTimeout(t);
        closing.signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      closing.signal.addEventListener('abort', done, { once: true });
    });

  /** Applies the plan's delay / reset to an answer; stamps answeredAt. */
  async function answer(c: Context<{ Bindings: HttpBindings }>, record: ApiRequestRecord, plan: Plan, respond: () => Response): Promise<Response> {
    if (plan.delayMs > 0) {
      record.hungMs = plan.delayMs;
      log.info({ api: record.api, id: record.id, ms: plan.delayMs }, 'answer held back (hang)');
      await hold(plan.delayMs);
    }
    if (plan.reset) {
      record.status = 0;
      record.error = { code: 'reset', message: 'connection reset by the simulator' };
      c.env.incoming.socket.destroy();
      return c.body(null, 500);
    }
    record.answeredAt = Date.now();
    return respond();
  }

  // -------------------------------------------------------------------------------------------------
  // HTTP

  const app = new Hono<{ Bindings: HttpBindings }>();
  const newRecord = (api: 'twilio' | 'resend', method: string, path: string, extra: Partial<ApiRequestRecord> = {}): ApiRequestRecord => {
    const receivedAt = Date.now();
    const record: ApiRequestRecord = { at: new Date(receivedAt).toISOString(), receivedAt, api, method, path, status: 0, ...extra };
    apiRequests.push(record);
    return record;
  };
  const dispatchOf = (statusCallback: string | null): string | undefined => {
    if (!statusCallback) return undefined;
    try {
      return new URL(statusCallback).searchParams.get('dispatch') ?? undefined;
    } catch {
      return undefined;
    }
  };

  app.post(`/${API_VERSION}/Accounts/:accountSid/Messages.json`, async (c) => {
    const path = new URL(c.req.url).pathname;
    const form = new URLSearchParams(await c.req.text());
    const params: Record<string, string> = {};
    for (const k of new Set(form.keys())) params[k] = form.getAll(k).join(',');
    const dispatchId = dispatchOf(form.get('StatusCallback'));
    const bodyRef = referenceIn(form.get('Body'));
    const record = newRecord('twilio', 'POST', path, {
      params,
      ...(form.get('To') ? { recipient: form.get('To')! } : {}),
      ...(dispatchId ? { dispatchId } : {}),
      ...(bodyRef ? { reference: bodyRef } : {}),
    });
    const fail = (e: TwilioError) => {
      record.status = e.status;
      record.error = { code: e.code, message: e.message };
      record.answeredAt = Date.now();
      log.info({ api: 'twilio', path, status: e.status, code: e.code }, 'api request rejected');
      return twilioErrorResponse(c, e);
    };
    if (!twilioAuthOk(c.req.header('authorization'))) {
      c.header('WWW-Authenticate', 'Basic realm="Twilio API"');
      return fail(twilioError(401, 20003, 'Authenticate'));
    }
    if (c.req.param('accountSid') !== opts.accountSid) return fail(twilioError(404, 20404, `The requested resource ${path} was not found`));
    const invalid = validateTwilio(form);
    if (invalid) return fail(invalid);

    const to = form.get('To')!;
    const whatsapp = to.startsWith('whatsapp:');
    const mg = form.get('MessagingServiceSid');
    const from = form.get('From');
    const contentSid = form.get('ContentSid');
    const contentVariables = form.get('ContentVariables') ? (JSON.parse(form.get('ContentVariables')!) as Record<string, unknown>) : null;
    const vars = contentVariables ? Object.fromEntries(Object.entries(contentVariables).map(([k, v]) => [k, String(v)])) : null;
    const template = contentSid ? opts.contentTemplates?.[contentSid] : undefined;
    const body = form.get('Body') ?? (template ? render(template, vars) : contentSid ? renderDefault(vars) : '');
    const reference = referenceIn(body);
    if (reference) record.reference = reference;

    const plan = planFor(to, dispatchId ?? `${to}\0${body}`);
    if (plan.fault) record.fault = plan.fault;
    let json: ReturnType<typeof messageJson> | undefined;
    if (plan.create) {
      const created = new Date();
      const m: TwilioMessage = {
        sid: sid('SM'),
        accountSid: opts.accountSid,
        to,
        from: from ?? null,
        sender: from ?? (whatsapp ? senders.whatsapp : senders.sms),
        messagingServiceSid: mg ?? null,
        body,
        contentSid: contentSid ?? null,
        contentVariables: vars,
        statusCallback: form.get('StatusCallback'),
        status: from ? 'queued' : 'accepted',
        direction: 'outbound-api',
        errorCode: null,
        errorMessage: null,
        numMedia: form.getAll('MediaUrl').length,
        dateCreated: created,
        dateUpdated: created,
        dateSent: null,
      };
      messages.set(m.sid, m);
      record.status = 201;
      record.id = m.sid;
      log.info({ api: 'twilio', messageId: m.sid, channel: whatsapp ? 'whatsapp' : 'sms', template: !!contentSid, fault: plan.fault }, 'message accepted');
      json = messageJson(m);
      spawn(`twilio ${m.sid}`, () => runTwilio(m));
    }
    if (plan.errorStatus) {
      const st = plan.errorStatus;
      const e = twilioError(st, st === 429 ? 20429 : 20000 + st, st === 429 ? 'Too Many Requests' : st >= 500 ? 'Service unavailable (simulated)' : 'Simulated error');
      return answer(c, record, plan, () => fail(e));
    }
    return answer(c, record, plan, () => c.json(json!, 201));
  });

  /** A DateSent filter value: a date-only value covers the whole UTC day; else second precision. */
  function dateRange(v: string): { from: number; to: number } | undefined {
    if (/^\d{4}-\d{2}-\d{2}$/.test(v)) {
      const from = Date.parse(`${v}T00:00:00Z`);
      return Number.isNaN(from) ? undefined : { from, to: from + 86_400_000 - 1 };
    }
    const t = Date.parse(v);
    if (Number.isNaN(t)) return undefined;
    const s = Math.floor(t / 1000) * 1000;
    return { from: s, to: s + 999 };
  }

  app.get(`/${API_VERSION}/Accounts/:accountSid/Messages.json`, (c) => {
    const u = new URL(c.req.url);
    const q = u.searchParams;
    const record = newRecord('twilio', 'GET', u.pathname, { query: Object.fromEntries(q) });
    const fail = (e: TwilioError) => {
      record.status = e.status;
      record.error = { code: e.code, message: e.message };
      record.answeredAt = Date.now();
      return twilioErrorResponse(c, e);
    };
    if (!twilioAuthOk(c.req.header('authorization'))) return fail(twilioError(401, 20003, 'Authenticate'));
    if (c.req.param('accountSid') !== opts.accountSid) return fail(twilioError(404, 20404, `The requested resource ${u.pathname} was not found`));
    const pageSize = q.has('PageSize') ? Number(q.get('PageSize')) : 50;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) return fail(twilioError(400, 20001, `Invalid PageSize ${q.get('PageSize')}`));
    const filters: ((m: TwilioMessage) => boolean)[] = [];
    if (q.get('To')) filters.push((m) => m.to === q.get('To'));
    if (q.get('From')) filters.push((m) => (m.from ?? m.sender) === q.get('From'));
    for (const [key, test] of [
      ['DateSent', (t: number, r: { from: number; to: number }) => t >= r.from && t <= r.to],
      ['DateSent>', (t: number, r: { from: number }) => t >= r.from],
      ['DateSent<', (t: number, r: { to: number }) => t <= r.to],
    ] as const) {
      const v = q.get(key);
      if (v === null) continue;
      const r = dateRange(v);
      if (!r) return fail(twilioError(400, 20001, `Invalid ${key} value ${v}`));
      filters.push((m) => m.dateSent !== null && test(m.dateSent.getTime(), r));
    }
    // Newest first: not yet sent (no date_sent) first, then by date_sent, then by creation (insertion order breaks ties).
    const all = [...messages.values()].map((m, i) => ({ m, i })).filter(({ m }) => filters.every((f) => f(m)));
    all.sort((a, b) => {
      const as = a.m.dateSent?.getTime() ?? Infinity;
      const bs = b.m.dateSent?.getTime() ?? Infinity;
      if (as !== bs) return bs - as;
      return b.m.dateCreated.getTime() - a.m.dateCreated.getTime() || b.i - a.i;
    });
    const list = all.map(({ m }) => m);
    const page = Math.max(0, Number(q.get('Page') ?? 0) || 0);
    const token = q.get('PageToken');
    let start = page * pageSize;
    if (token) {
      const after = list.findIndex((m) => `PA${m.sid}` === token);
      if (after < 0) return fail(twilioError(400, 20001, `Invalid PageToken ${token}`));
      start = after + 1;
    }
    const items = list.slice(start, start + pageSize);
    const base = `/${API_VERSION}/Accounts/${opts.accountSid}/Messages.json`;
    const filterParams = new URLSearchParams([...q].filter(([k]) => !['Page', 'PageSize', 'PageToken'].includes(k)));
    const uriOf = (p: number, tok?: string) => {
      const sp = new URLSearchParams(filterParams);
      sp.set('PageSize', String(pageSize));
      sp.set('Page', String(p));
      if (tok) sp.set('PageToken', tok);
      return `${base}?${sp}`;
    };
    const more = start + items.length < list.length;
    record.status = 200;
    record.count = items.length;
    record.answeredAt = Date.now();
    return c.json({
      end: start + Math.max(items.length, 1) - 1,
      first_page_uri: uriOf(0),
      messages: items.map(messageJson),
      next_page_uri: more ? uriOf(page + 1, `PA${items[items.length - 1].sid}`) : null,
      page,
      page_size: pageSize,
      previous_page_uri: page > 0 ? uriOf(page - 1) : null,
      start,
      uri: uriOf(page, token ?? undefined),
    });
  });

  app.get(`/${API_VERSION}/Accounts/:accountSid/Messages/:file`, (c) => {
    const path = new URL(c.req.url).pathname;
    const record = newRecord('twilio', 'GET', path);
    const fail = (e: TwilioError) => {
      record.status = e.status;
      record.error = { code: e.code, message: e.message };
      record.answeredAt = Date.now();
      return twilioErrorResponse(c, e);
    };
    if (!twilioAuthOk(c.req.header('authorization'))) return fail(twilioError(401, 20003, 'Authenticate'));
    const m = messages.get(c.req.param('file').replace(/\.json$/, ''));
    if (c.req.param('accountSid') !== opts.accountSid || !m) return fail(twilioError(404, 20404, `The requested resource ${path} was not found`));
    record.status = 200;
    record.id = m.sid;
    record.answeredAt = Date.now();
    return c.json(messageJson(m));
  });

  const RESEND_ERROR_NAMES: Record<number, string> = { 429: 'rate_limit_exceeded', 500: 'internal_server_error' };

  app.post('/emails', async (c) => {
    const path = '/emails';
    const key = c.req.header('idempotency-key');
    const record = newRecord('resend', 'POST', path, key !== undefined ? { idempotencyKey: key } : {});
    const fail = (e: ResendErrorBody) => {
      record.status = e.statusCode;
      record.error = { code: e.name, message: e.message };
      record.answeredAt = Date.now();
      log.info({ api: 'resend', path, status: e.statusCode, name: e.name }, 'api request rejected');
      return c.json(e, e.statusCode as 400);
    };
    const authErr = resendAuth(c.req.header('authorization'));
    if (authErr) return fail(authErr);
    const raw = await c.req.text();
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw);
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
    } catch {
      return fail(resendError(422, 'validation_error', 'The request body must be a JSON object.'));
    }
    record.body = body;
    const tags: Record<string, string> = {};
    if (Array.isArray(body.tags)) for (const t of body.tags as { name?: unknown; value?: unknown }[]) if (typeof t?.name === 'string') tags[t.name] = typeof t.value === 'string' ? t.value : '';
    const recipient = asList(body.to)?.[0];
    if (recipient) record.recipient = recipient;
    if (tags.dispatch_id) record.dispatchId = tags.dispatch_id;
    const reference = referenceIn(typeof body.text === 'string' ? body.text : null, typeof body.html === 'string' ? body.html : null, typeof body.subject === 'string' ? body.subject : null, tags.page_ref ? `Ref ${tags.page_ref}` : null);
    if (reference) record.reference = reference;
    if (key !== undefined && (key.length < 1 || key.length > 256)) return fail(resendError(400, 'invalid_idempotency_key', 'The key must be between 1-256 chars.'));
    const hash = createHash('sha256').update(raw).digest('hex');
    if (key !== undefined) {
      const prev = idempotency.get(key);
      if (prev && Date.now() - prev.at < 24 * 3600_000) {
        if (prev.hash !== hash) return fail(resendError(409, 'invalid_idempotent_request', 'Same idempotency key used with a different request payload.'));
        if (!prev.answered) {
          return fail(resendError(409, 'concurrent_idempotent_requests', 'Same idempotency key used while original request is still in progress.'));
        }
        record.status = 200;
        record.id = prev.id;
        record.replayed = true;
        record.answeredAt = Date.now();
        log.info({ api: 'resend', emailId: prev.id }, 'idempotent replay');
        return c.json({ id: prev.id });
      }
    }
    const invalid = validateEmail(body);
    if (invalid) return fail(invalid);
    const plan = planFor(recipient!, key ?? hash);
    if (plan.fault) record.fault = plan.fault;
    let entry: { hash: string; id: string; at: number; answered: boolean } | undefined;
    if (plan.create) {
      const e: Email = {
        id: randomUUID(),
        from: String(body.from),
        to: asList(body.to)!,
        subject: String(body.subject),
        html: typeof body.html === 'string' ? body.html : undefined,
        text: typeof body.text === 'string' ? body.text : undefined,
        cc: asList(body.cc),
        bcc: asList(body.bcc),
        replyTo: asList(body.reply_to),
        tags,
        createdAt: new Date(),
        lastEvent: 'queued',
      };
      emails.set(e.id, e);
      if (key !== undefined) {
        entry = { hash, id: e.id, at: Date.now(), answered: false };
        idempotency.set(key, entry);
      }
      record.status = 200;
      record.id = e.id;
      log.info({ api: 'resend', emailId: e.id, fault: plan.fault }, 'email accepted');
      spawn(`resend ${e.id}`, () => runEmail(e));
    }
    try {
      if (plan.errorStatus) {
        const st = plan.errorStatus;
        const err = resendError(st, RESEND_ERROR_NAMES[st] ?? 'application_error', 'Simulated error');
        return await answer(c, record, plan, () => fail(err));
      }
      return await answer(c, record, plan, () => c.json({ id: record.id }));
    } finally {
      if (entry) entry.answered = true;
    }
  });

  app.get('/emails/:id', (c) => {
    const path = new URL(c.req.url).pathname;
    const record = newRecord('resend', 'GET', path);
    const authErr = resendAuth(c.req.header('authorization'));
    const e = emails.get(c.req.param('id'));
    const err = authErr ?? (e ? undefined : resendError(404, 'not_found', 'Email not found'));
    if (err || !e) {
      record.status = err!.statusCode;
      record.error = { code: err!.name, message: err!.message };
      record.answeredAt = Date.now();
      return c.json(err, err!.statusCode as 400);
    }
    record.status = 200;
    record.id = e.id;
    record.answeredAt = Date.now();
    return c.json({
      object: 'email',
      id: e.id,
      to: e.to,
      from: e.from,
      created_at: pgTimestamp(e.createdAt),
      subject: e.subject,
      html: e.html ?? null,
      text: e.text ?? null,
      bcc: e.bcc ?? null,
      cc: e.cc ?? null,
      reply_to: e.replyTo ?? null,
      last_event: e.lastEvent,
      tags: Object.entries(e.tags).map(([name, value]) => ({ name, value })),
    });
  });

  app.get('/__sim/health', (c) => c.json({ ok: true }));
  app.get('/__sim/requests', (c) => c.json(apiRequests));
  app.get('/__sim/callbacks', (c) => c.json(callbackRecords));
  app.delete('/__sim/records', (c) => {
    apiRequests.length = 0;
    callbackRecords.length = 0;
    return c.body(null, 204);
  });
  app.put('/__sim/faults/:recipient', async (c) => {
    const parsed = ApiFaults.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json({ error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) }, 400);
    injectFaults(decodeURIComponent(c.req.param('recipient')), parsed.data);
    return c.body(null, 204);
  });
  app.put('/__sim/behaviours/:recipient', async (c) => {
    const parsed = Behaviour.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json({ error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) }, 400);
    const recipient = decodeURIComponent(c.req.param('recipient'));
    behaviours.set(recipient === 'default' ? recipient : recipientKey(recipient), parsed.data);
    return c.body(null, 204);
  });
  app.notFound((c) => c.json({ statusCode: 404, name: 'not_found', message: `no simulated route for ${c.req.method} ${new URL(c.req.url).pathname}` }, 404));
  app.onError((err, c) => {
    log.error({ err }, 'simulator route failed');
    return c.json({ statusCode: 500, name: 'internal_server_error', message: 'simulator error' }, 500);
  });

  const host = opts.host ?? '127.0.0.1';
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: opts.port ?? 0, hostname: host }, () => resolve(s));
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host}:${port}`;
  log.info({ url, receiver: receiverBase, public: publicBase }, 'provider simulator listening');

  let closed: Promise<void> | undefined;
  return {
    url,
    port,
    requests: () => apiRequests.map((r) => structuredClone(r)),
    callbacks: () => callbackRecords.map((r) => structuredClone(r)),
    setBehaviour(recipient, behaviour) {
      behaviours.set(recipient === 'default' ? recipient : recipientKey(recipient), Behaviour.parse(behaviour));
    },
    injectFaults,
    async idle() {
      while (tasks.size) await Promise.allSettled([...tasks]);
    },
    clearRecords() {
      apiRequests.length = 0;
      callbackRecords.length = 0;
    },
    close() {
      closed ??= (async () => {
        closing.abort();
        await Promise.allSettled([...tasks]);
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        });
      })();
      return closed;
    },
  };
}
