import type { Resend, WebhookEvent } from 'resend';
import type { ServiceInstance } from 'twilio/lib/rest/messaging/v1/service.js';
import type { OnCallConfig } from '../../schemas/oncall/config.js';
import { RESEND_STATUS } from '../../producers/receiver/status-map.js';
import type { TwilioClient } from '../../platform/providers/twilio.js';
import type { SecretAction } from './secrets.js';

/**
 * `make providers`: points the stage's provider accounts at its receiver, through the official SDKs,
 * idempotently. First every lookup (nothing changes if one fails: a number the account does not own, an
 * unknown sender or service), then each change, each printed as `field: old → new`.
 *
 * Twilio (what the on-call file's `twilio` block names; status callbacks need nothing here, every page
 * carries its own StatusCallback URL with the page reference):
 * - `sms_from`: the IncomingPhoneNumber's SmsUrl → POST <base>/webhooks/twilio, where `ACK <code>`
 *   replies land; an SmsApplicationSid is cleared (Twilio would use the application's URL instead).
 * - `voice_from`: VoiceUrl → POST <base>/webhooks/twilio/voice/answer, so a call back to the caller id is
 *   answered by the receiver (without a page reference it says goodbye and keeps the request under
 *   errors/) instead of the number's previous handler; a VoiceApplicationSid is cleared; a number on a
 *   SIP trunk is an error (its calls go to the trunk).
 * - `whatsapp_from`: the WhatsApp sender (Senders API v2, `messaging.v2.channelsSenders`) gets
 *   `webhook.callback_url` → POST <base>/webhooks/twilio (inbound WhatsApp replies).
 * - `messaging_service_sid`: the service's InboundRequestUrl → POST <base>/webhooks/twilio (replies to
 *   any number of its pool, unless the service defers to its numbers' own webhooks).
 * Resend: the webhook endpoint <base>/webhooks/resend, created or updated to exactly the event types the
 * receiver maps (status-map.ts RESEND_STATUS) and enabled; its signing secret goes straight into the
 * stage's RESEND_WEBHOOK_SECRET secret, never to the output.
 */

export const ROUTES = {
  twilioMessages: '/webhooks/twilio',
  twilioVoiceAnswer: '/webhooks/twilio/voice/answer',
  resend: '/webhooks/resend',
} as const;

/** The Resend event types the receiver turns into receipts, sorted (all `email.*` types Resend sends). */
export const RESEND_EVENTS = Object.keys(RESEND_STATUS).sort() as WebhookEvent[];

export interface Change {
  field: string;
  from: string | null;
  to: string | null;
}

export interface Step {
  /** What is configured, e.g. `twilio number +15550000000 (sms_from)`. */
  what: string;
  /** Its provider id (PN…, XE…, MG…, the webhook's id), once known. */
  id?: string;
  action: 'create' | 'update' | 'unchanged';
  changes: Change[];
  /** Makes the changes (absent when unchanged); may return lines to print after the step. */
  apply?: () => Promise<string[] | void>;
  /** Lines to print with the step. */
  notes: string[];
}

export interface Plan {
  steps: Step[];
  /** Lookups that failed: nothing is applied when there is one. */
  errors: string[];
}

/** The call failed at the provider (an API error or no answer), with what it was about. */
export class ProviderCallError extends Error {
  override name = 'ProviderCallError';
}

export interface SecretStore {
  /** Makes the stage's Resend signing secret `value` (infra/deploy/secrets.ts). */
  storeResendWebhookSecret(value: string): Promise<{ action: SecretAction; arn: string; name: string }>;
}

export interface ProvidersInput {
  /** The receiver's origin, e.g. https://alerts.example.com (PUBLIC_BASE_URL, the ReceiverUrl output). */
  publicBaseUrl: string;
  oncall: OnCallConfig;
  twilio: TwilioClient;
  accountSid: string;
  resend: Resend;
  /** Where the Resend signing secret goes; undefined: not stored (the operator is told what to do). */
  secrets?: SecretStore;
  /** Called with each secret value as soon as it is known (the printer's guard). */
  guard?: (value: string) => void;
}

const norm = (v: string | null | undefined) => (v === undefined || v === null || v === '' ? null : v);
const sameMethod = (a: string | null | undefined, b: string) => norm(a)?.toUpperCase() === b;

/** A URL for output: credentials in it (`https://user:pass@host`) are masked. */
export function shown(v: string | null): string {
  if (v === null) return '(none)';
  return v.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, '$1***@');
}

/** A Twilio SDK error as one line (RestException: status, code, message; else the transport error). */
function twilioReason(err: unknown): string {
  const e = err as { status?: number; code?: number | string; message?: string };
  if (typeof e?.status === 'number') {
    const hint = e.status === 401 ? ' (check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN)' : '';
    return `Twilio ${e.status}${e.code ? ` ${e.code}` : ''}: ${e.message ?? ''}${hint}`;
  }
  const hint = ' (TWILIO_API_BASE_URL: empty for the real Twilio API)';
  return `Twilio not reached: ${e?.code ? `${e.code} ` : ''}${e?.message ?? String(err)}${hint}`;
}

async function twilioCall<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw new ProviderCallError(`${what}: ${twilioReason(err)}`, { cause: err });
  }
}

type ResendResult<T> = {
  data: T | null;
  error: { name?: string; message?: string; statusCode?: number | null } | null;
};

async function resendCall<T>(what: string, run: () => Promise<ResendResult<T>>): Promise<T> {
  let r: ResendResult<T>;
  try {
    r = await run();
  } catch (err) {
    throw new ProviderCallError(`${what}: Resend not reached: ${(err as Error)?.message ?? String(err)}`, {
      cause: err,
    });
  }
  if (r.error || r.data === null) {
    const e = r.error ?? {};
    const hint =
      e.statusCode === 401 || e.statusCode === 403
        ? ' (RESEND_ADMIN_API_KEY, else RESEND_API_KEY: webhooks need a full-access key)'
        : '';
    const reached =
      e.statusCode === null || e.statusCode === undefined ? ' (RESEND_BASE_URL: empty for the real API)' : '';
    throw new ProviderCallError(
      `${what}: Resend ${e.statusCode ?? 'not reached'} ${e.name ?? 'error'}: ${e.message ?? ''}${hint}${reached}`,
    );
  }
  return r.data;
}

/** A Twilio step: an update of `id` when anything differs, through `update` (one timed, explained call). */
function twilioStep(
  what: string,
  id: string,
  changes: Change[],
  notes: string[],
  update: () => Promise<unknown>,
): Step {
  if (changes.length === 0) return { what, id, action: 'unchanged', changes, notes };
  return {
    what,
    id,
    action: 'update',
    changes,
    notes,
    apply: async () => void (await twilioCall(`${what}: update`, update)),
  };
}

/** The webhook URLs of a receiver origin. */
export function webhookUrls(publicBaseUrl: string) {
  const base = publicBaseUrl.replace(/\/+$/, '');
  return {
    twilioMessages: base + ROUTES.twilioMessages,
    twilioVoiceAnswer: base + ROUTES.twilioVoiceAnswer,
    resend: base + ROUTES.resend,
  };
}

interface NumberRole {
  phoneNumber: string;
  sources: string[];
  sms: boolean;
  voice: boolean;
}

function numberRoles(oncall: OnCallConfig): NumberRole[] {
  const roles = new Map<string, NumberRole>();
  const add = (phoneNumber: string | undefined, source: string, role: 'sms' | 'voice') => {
    if (!phoneNumber) return;
    const r = roles.get(phoneNumber) ?? { phoneNumber, sources: [], sms: false, voice: false };
    r.sources.push(source);
    r[role] = true;
    roles.set(phoneNumber, r);
  };
  add(oncall.twilio.sms_from, 'sms_from', 'sms');
  add(oncall.twilio.voice_from, 'voice_from', 'voice');
  return [...roles.values()];
}

async function planNumber(
  input: ProvidersInput,
  role: NumberRole,
  urls: ReturnType<typeof webhookUrls>,
): Promise<Step> {
  const what = `twilio number ${role.phoneNumber} (${role.sources.join(', ')})`;
  const found = await twilioCall(`${what}: IncomingPhoneNumbers list`, () =>
    input.twilio.incomingPhoneNumbers.list({ phoneNumber: role.phoneNumber, pageSize: 50 }),
  );
  // The filter matches numbers that contain the value: keep the exact one.
  const n = found.find((x) => x.phoneNumber === role.phoneNumber);
  if (!n) {
    throw new ProviderCallError(
      `${what}: not a phone number of Twilio account ${input.accountSid} ` +
        '(buy or port it into this account, or fix twilio.* in the on-call file)',
    );
  }
  const problems: string[] = [];
  if (role.sms && n.capabilities?.sms === false) problems.push('it cannot receive SMS (capabilities.sms is false)');
  if (role.voice && n.capabilities?.voice === false)
    problems.push('it cannot take calls (capabilities.voice is false)');
  if (role.voice && norm(n.trunkSid))
    problems.push(`its calls go to SIP trunk ${n.trunkSid}, not to a VoiceUrl: detach it`);
  if (problems.length > 0) throw new ProviderCallError(`${what} ${n.sid}: ${problems.join('; ')}`);

  const changes: Change[] = [];
  const params: Record<string, string> = {};
  const want = (field: string, current: string | null | undefined, to: string, method = false) => {
    const same = method ? sameMethod(current, to) : norm(current) === norm(to);
    if (same) return;
    changes.push({ field, from: norm(current), to: norm(to) });
    params[field] = to;
  };
  if (role.sms) {
    want('smsUrl', n.smsUrl, urls.twilioMessages);
    want('smsMethod', n.smsMethod, 'POST', true);
    want('smsApplicationSid', n.smsApplicationSid, '');
  }
  if (role.voice) {
    want('voiceUrl', n.voiceUrl, urls.twilioVoiceAnswer);
    want('voiceMethod', n.voiceMethod, 'POST', true);
    want('voiceApplicationSid', n.voiceApplicationSid, '');
  }
  return twilioStep(what, n.sid, changes, [], () => input.twilio.incomingPhoneNumbers(n.sid).update(params));
}

async function planWhatsApp(
  input: ProvidersInput,
  senderId: string,
  urls: ReturnType<typeof webhookUrls>,
): Promise<Step> {
  const what = `whatsapp sender ${senderId} (whatsapp_from)`;
  const senders = await twilioCall(`${what}: Senders list`, () =>
    input.twilio.messaging.v2.channelsSenders.list({ channel: 'whatsapp', pageSize: 50 }),
  );
  const s = senders.find((x) => x.senderId?.toLowerCase() === senderId.toLowerCase());
  if (!s) {
    throw new ProviderCallError(
      `${what}: not a WhatsApp sender of Twilio account ${input.accountSid} ` +
        '(register it under Messaging → Senders → WhatsApp senders, or fix twilio.whatsapp_from)',
    );
  }
  const changes: Change[] = [];
  if (norm(s.webhook?.callbackUrl) !== urls.twilioMessages) {
    changes.push({ field: 'webhook.callback_url', from: norm(s.webhook?.callbackUrl), to: urls.twilioMessages });
  }
  if (!sameMethod(s.webhook?.callbackMethod, 'POST')) {
    changes.push({ field: 'webhook.callback_method', from: norm(s.webhook?.callbackMethod), to: 'POST' });
  }
  // The Senders API takes snake_case keys and twilio-node sends the body as given; its type says
  // camelCase, which the API would not apply. Both fields are sent, so the pair is always consistent.
  const body = { webhook: { callback_url: urls.twilioMessages, callback_method: 'POST' } };
  return twilioStep(what, s.sid, changes, [], () =>
    input.twilio.messaging.v2.channelsSenders(s.sid).update(body as never),
  );
}

async function planService(input: ProvidersInput, sid: string, urls: ReturnType<typeof webhookUrls>): Promise<Step> {
  const what = 'twilio messaging service (messaging_service_sid)';
  let svc: ServiceInstance;
  try {
    svc = await input.twilio.messaging.v1.services(sid).fetch();
  } catch (err) {
    if ((err as { status?: number })?.status === 404) {
      const msg = `${what}: ${sid} is not a Messaging Service of Twilio account ${input.accountSid}`;
      throw new ProviderCallError(msg, { cause: err });
    }
    throw new ProviderCallError(`${what}: fetch: ${twilioReason(err)}`, { cause: err });
  }
  const changes: Change[] = [];
  const params: Record<string, string> = {};
  if (norm(svc.inboundRequestUrl) !== urls.twilioMessages) {
    changes.push({ field: 'inboundRequestUrl', from: norm(svc.inboundRequestUrl), to: urls.twilioMessages });
    params.inboundRequestUrl = urls.twilioMessages;
  }
  if (!sameMethod(svc.inboundMethod, 'POST')) {
    changes.push({ field: 'inboundMethod', from: norm(svc.inboundMethod), to: 'POST' });
    params.inboundMethod = 'POST';
  }
  const notes = svc.useInboundWebhookOnNumber
    ? [
        "note: the service uses its numbers' own webhooks (useInboundWebhookOnNumber): numbers of its pool " +
          'that are not in the on-call file keep theirs',
      ]
    : [];
  return twilioStep(what, svc.sid, changes, notes, () => input.twilio.messaging.v1.services(sid).update(params));
}

/** Every webhook endpoint of the Resend account (pages of 100). */
async function resendEndpoints(resend: Resend) {
  const all: { id: string; endpoint: string; status: string; events: string[] | null }[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await resendCall('resend webhooks: list', () =>
      resend.webhooks.list(after ? { limit: 100, after } : { limit: 100 }),
    );
    all.push(...page.data);
    if (!page.has_more || page.data.length === 0) return all;
    after = page.data[page.data.length - 1].id;
  }
}

/** Stores the signing secret (or says what to do when there is no store); returns the lines to print. */
async function storeSigningSecret(input: ProvidersInput, secret: string | undefined): Promise<string[]> {
  if (!secret) {
    return [
      'signing secret: not returned by the API; copy it from the Resend dashboard (Webhooks → the endpoint) ' +
        'into RESEND_WEBHOOK_SECRET and run make secrets',
    ];
  }
  input.guard?.(secret);
  if (!input.secrets) {
    return [
      'signing secret: present (not shown); not stored (--no-secret): copy it from the Resend dashboard ' +
        'into RESEND_WEBHOOK_SECRET and run make secrets',
    ];
  }
  const r = await input.secrets.storeResendWebhookSecret(secret);
  const lines = [`signing secret: present (not shown); secret ${r.name}: ${r.action} ${r.arn}`];
  if (r.action !== 'unchanged') {
    lines.push(
      'the receiver reads RESEND_WEBHOOK_SECRET when its tasks start: make deploy (first deploy), else roll its ' +
        'tasks (aws ecs update-service --force-new-deployment on the receiver service)',
    );
  }
  return lines;
}

async function planResend(input: ProvidersInput, urls: ReturnType<typeof webhookUrls>): Promise<Step> {
  const what = `resend webhook ${urls.resend}`;
  const endpoints = await resendEndpoints(input.resend);
  const mine = endpoints.filter((w) => w.endpoint === urls.resend);
  const notes: string[] = [];
  if (mine.length > 1) {
    notes.push(
      `note: ${mine.length} endpoints have this URL (every event arrives ${mine.length} times); ` +
        `this one is kept up to date, delete the others: ${mine
          .slice(1)
          .map((w) => w.id)
          .join(', ')}`,
    );
  }
  const elsewhere = endpoints.filter(
    (w) => w.endpoint !== urls.resend && new URL(w.endpoint).pathname === ROUTES.resend,
  );
  for (const w of elsewhere)
    notes.push(`note: endpoint ${w.id} (${shown(w.endpoint)}) is another receiver's: not touched`);

  const existing = mine[0];
  if (!existing) {
    return {
      what,
      action: 'create',
      changes: [
        { field: 'endpoint', from: null, to: urls.resend },
        { field: 'events', from: null, to: RESEND_EVENTS.join(', ') },
      ],
      notes,
      apply: async () => {
        const created = await resendCall(`${what}: create`, () =>
          input.resend.webhooks.create({ endpoint: urls.resend, events: RESEND_EVENTS }),
        );
        input.guard?.(created.signing_secret);
        return [`id ${created.id}`, ...(await storeSigningSecret(input, created.signing_secret))];
      },
    };
  }
  const current = [...(existing.events ?? [])].sort();
  const changes: Change[] = [];
  const update: { events?: WebhookEvent[]; status?: 'enabled' } = {};
  if (current.join(',') !== RESEND_EVENTS.join(',')) {
    changes.push({ field: 'events', from: current.join(', ') || null, to: RESEND_EVENTS.join(', ') });
    update.events = RESEND_EVENTS;
  }
  if (existing.status !== 'enabled') {
    changes.push({ field: 'status', from: existing.status, to: 'enabled' });
    update.status = 'enabled';
  }
  // The stored secret is checked on every run (an endpoint made in the dashboard, a rotated secret).
  const syncSecret = async () => {
    const got = await resendCall(`${what}: get`, () => input.resend.webhooks.get(existing.id));
    return storeSigningSecret(input, got.signing_secret);
  };
  return {
    what,
    id: existing.id,
    action: changes.length > 0 ? 'update' : 'unchanged',
    changes,
    notes,
    apply: async () => {
      if (changes.length > 0) {
        await resendCall(`${what}: update`, () => input.resend.webhooks.update(existing.id, update));
      }
      return syncSecret();
    },
  };
}

/** Looks everything up; changes nothing. */
export async function planProviders(input: ProvidersInput): Promise<Plan> {
  const urls = webhookUrls(input.publicBaseUrl);
  const { twilio } = input.oncall;
  const lookups: (() => Promise<Step>)[] = [
    ...numberRoles(input.oncall).map((role) => () => planNumber(input, role, urls)),
    ...(twilio.whatsapp_from ? [() => planWhatsApp(input, twilio.whatsapp_from!, urls)] : []),
    ...(twilio.messaging_service_sid ? [() => planService(input, twilio.messaging_service_sid!, urls)] : []),
    () => planResend(input, urls),
  ];
  const steps: Step[] = [];
  const errors: string[] = [];
  for (const lookup of lookups) {
    try {
      steps.push(await lookup());
    } catch (err) {
      errors.push(err instanceof Error ? err.message : String(err));
    }
  }
  return { steps, errors };
}
