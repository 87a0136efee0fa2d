/**
 * The Twilio account's configuration APIs, as `make providers` (infra/deploy/providers.ts) drives them
 * through twilio-node — the numbers, WhatsApp senders and Messaging Services the account owns, and
 * where each sends what comes in:
 *
 * - IncomingPhoneNumbers: `GET /2010-04-01/Accounts/{Sid}/IncomingPhoneNumbers.json` (`PhoneNumber`
 *   matches numbers containing it, as on Twilio; `PageSize`, `Page`, `PageToken`), `GET` and `POST
 *   …/IncomingPhoneNumbers/{PN…}.json` (form: SmsUrl, SmsMethod, SmsFallbackUrl, SmsApplicationSid,
 *   VoiceUrl, VoiceMethod, VoiceApplicationSid, StatusCallback, FriendlyName, …; only the fields sent
 *   change; an empty string clears one).
 * - Senders API (WhatsApp): `GET /v2/Channels/Senders?Channel=whatsapp`, `GET` and `POST
 *   /v2/Channels/Senders/{XE…}` (JSON; `webhook.callback_url` etc. in snake_case, merged field by field).
 * - Messaging Services: `GET` and `POST /v1/Services/{MG…}` (form: InboundRequestUrl, InboundMethod,
 *   FallbackUrl, StatusCallback, UseInboundWebhookOnNumber, FriendlyName).
 *
 * Which numbers, senders and services exist is set by the options `phoneNumbers`, `whatsappSenders` and
 * `messagingServices`; nothing here creates or deletes one. The settings are kept, not acted on: inbound
 * messages and callbacks still go to the receiver as before (context.ts `receiverBase`).
 */
import type { Context } from 'hono';
import type { SimApp, SimContext } from './context.js';
import { beginTwilioRequest, pageSizeOf, twilioDone, twilioFetch, twilioNotFound, twilioPage } from './twilio-http.js';
import { API_VERSION, sid, twilioError, type TwilioError } from './twilio-model.js';

export interface TwilioNumber {
  sid: string;
  phoneNumber: string;
  friendlyName: string;
  /** snake_case field → value (the webhook settings: sms_url, voice_method, …). */
  settings: Record<string, string>;
  dateCreated: Date;
  dateUpdated: Date;
}

export interface WhatsAppSender {
  sid: string;
  senderId: string;
  webhook: Record<string, string | null>;
}

export interface MessagingService {
  sid: string;
  friendlyName: string;
  settings: Record<string, string>;
  useInboundWebhookOnNumber: boolean;
  dateCreated: Date;
  dateUpdated: Date;
}

export interface TwilioAccountState {
  numbers: Map<string, TwilioNumber>;
  senders: Map<string, WhatsAppSender>;
  services: Map<string, MessagingService>;
}

/** The numbers the account owns by default: the default SMS sender, the demo on-call file's voice caller id. */
export const DEFAULT_PHONE_NUMBERS = ['+15550000000', '+15550000001'] as const;

/** Form field of IncomingPhoneNumber update → its JSON field. */
const NUMBER_FIELDS: Record<string, string> = {
  SmsUrl: 'sms_url',
  SmsMethod: 'sms_method',
  SmsFallbackUrl: 'sms_fallback_url',
  SmsFallbackMethod: 'sms_fallback_method',
  SmsApplicationSid: 'sms_application_sid',
  VoiceUrl: 'voice_url',
  VoiceMethod: 'voice_method',
  VoiceFallbackUrl: 'voice_fallback_url',
  VoiceFallbackMethod: 'voice_fallback_method',
  VoiceApplicationSid: 'voice_application_sid',
  StatusCallback: 'status_callback',
  StatusCallbackMethod: 'status_callback_method',
  TrunkSid: 'trunk_sid',
};

/** Form field of Messaging Service update → its JSON field. */
const SERVICE_FIELDS: Record<string, string> = {
  InboundRequestUrl: 'inbound_request_url',
  InboundMethod: 'inbound_method',
  FallbackUrl: 'fallback_url',
  FallbackMethod: 'fallback_method',
  StatusCallback: 'status_callback',
};

const SENDER_WEBHOOK_FIELDS = [
  'callback_url',
  'callback_method',
  'fallback_url',
  'fallback_method',
  'status_callback_url',
  'status_callback_method',
];

const rfc2822 = (d: Date) => d.toUTCString().replace(/GMT$/, '+0000');
const isUrlField = (field: string) => field.endsWith('_url') || field === 'status_callback';
const isMethodField = (field: string) => field.endsWith('_method');

/** The problem with a webhook setting's value, if any (empty clears it). */
function invalidSetting(field: string, value: string): string | undefined {
  if (value === '') return undefined;
  if (isUrlField(field)) {
    try {
      const u = new URL(value);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') return `${field} must be an http(s) URL`;
    } catch {
      return `${field} is not a URL`;
    }
  }
  if (isMethodField(field) && !['GET', 'POST'].includes(value.toUpperCase())) return `${field} must be GET or POST`;
  return undefined;
}

export function createTwilioAccountState(opts: {
  phoneNumbers?: readonly string[];
  whatsappSenders?: readonly string[];
  messagingServices?: readonly string[];
}): TwilioAccountState {
  const now = new Date();
  const numbers = new Map<string, TwilioNumber>();
  for (const phoneNumber of opts.phoneNumbers ?? DEFAULT_PHONE_NUMBERS) {
    if (!/^\+[1-9]\d{6,14}$/.test(phoneNumber)) throw new Error(`phoneNumbers: ${phoneNumber} is not an E.164 number`);
    const n: TwilioNumber = {
      sid: sid('PN'),
      phoneNumber,
      friendlyName: phoneNumber,
      settings: { sms_method: 'POST', voice_method: 'POST' },
      dateCreated: now,
      dateUpdated: now,
    };
    numbers.set(n.sid, n);
  }
  const senders = new Map<string, WhatsAppSender>();
  for (const senderId of opts.whatsappSenders ?? ['whatsapp:+15550000000']) {
    if (!/^whatsapp:\+[1-9]\d{6,14}$/.test(senderId))
      throw new Error(`whatsappSenders: ${senderId} is not whatsapp:+<E.164 number>`);
    const s: WhatsAppSender = {
      sid: sid('XE'),
      senderId,
      webhook: Object.fromEntries(SENDER_WEBHOOK_FIELDS.map((f) => [f, null])),
    };
    senders.set(s.sid, s);
  }
  const services = new Map<string, MessagingService>();
  for (const serviceSid of opts.messagingServices ?? []) {
    if (!/^MG[0-9a-f]{32}$/.test(serviceSid))
      throw new Error(`messagingServices: ${serviceSid} is not a Messaging Service SID (MG + 32 hex)`);
    services.set(serviceSid, {
      sid: serviceSid,
      friendlyName: 'pagetrail',
      settings: { inbound_method: 'POST', fallback_method: 'POST' },
      useInboundWebhookOnNumber: false,
      dateCreated: now,
      dateUpdated: now,
    });
  }
  return { numbers, senders, services };
}

function numberJson(accountSid: string, n: TwilioNumber) {
  const s = (field: string) => n.settings[field] ?? null;
  return {
    account_sid: accountSid,
    address_requirements: 'none',
    address_sid: null,
    api_version: API_VERSION,
    beta: false,
    bundle_sid: null,
    capabilities: { fax: false, mms: true, sms: true, voice: true },
    date_created: rfc2822(n.dateCreated),
    date_updated: rfc2822(n.dateUpdated),
    emergency_address_sid: null,
    emergency_address_status: 'unregistered',
    emergency_status: 'Inactive',
    friendly_name: n.friendlyName,
    identity_sid: null,
    origin: 'twilio',
    phone_number: n.phoneNumber,
    sid: n.sid,
    status: 'in-use',
    type: 'local',
    uri: `/${API_VERSION}/Accounts/${accountSid}/IncomingPhoneNumbers/${n.sid}.json`,
    voice_caller_id_lookup: false,
    voice_receive_mode: 'voice',
    ...Object.fromEntries(Object.values(NUMBER_FIELDS).map((f) => [f, s(f)])),
  };
}

function senderJson(s: WhatsAppSender) {
  return {
    sid: s.sid,
    status: 'ONLINE',
    sender_id: s.senderId,
    configuration: { waba_id: null, verification_method: null, verification_code: null, voice_application_sid: null },
    webhook: { ...s.webhook },
    profile: {
      name: 'pagetrail',
      about: null,
      address: null,
      description: null,
      emails: null,
      logo_url: null,
      vertical: null,
      websites: null,
    },
    properties: { quality_rating: 'HIGH', messaging_limit: '1K' },
    offline_reasons: null,
    url: `https://messaging.twilio.com/v2/Channels/Senders/${s.sid}`,
  };
}

function serviceJson(accountSid: string, m: MessagingService) {
  const s = (field: string) => m.settings[field] ?? null;
  return {
    account_sid: accountSid,
    area_code_geomatch: true,
    date_created: rfc2822(m.dateCreated),
    date_updated: rfc2822(m.dateUpdated),
    fallback_to_long_code: true,
    friendly_name: m.friendlyName,
    links: {},
    mms_converter: true,
    scan_message_content: 'inherit',
    sid: m.sid,
    smart_encoding: true,
    sticky_sender: true,
    synchronous_validation: false,
    url: `https://messaging.twilio.com/v1/Services/${m.sid}`,
    us_app_to_person_registered: false,
    use_inbound_webhook_on_number: m.useInboundWebhookOnNumber,
    usecase: 'notifications',
    validity_period: 14400,
    ...Object.fromEntries(Object.values(SERVICE_FIELDS).map((f) => [f, s(f)])),
  };
}

/**
 * An update's settings (`fields`: form field → setting): all checked first, then set (an empty value
 * clears one); Twilio's 400 for the first invalid one, and nothing set.
 */
function setFromForm(
  form: Record<string, string>,
  fields: Record<string, string>,
  settings: Record<string, string>,
): TwilioError | undefined {
  for (const [key, field] of Object.entries(fields)) {
    const problem = key in form ? invalidSetting(field, form[key]) : undefined;
    if (problem) return twilioError(400, 20001, `Invalid parameter ${key}: ${problem}`);
  }
  for (const [key, field] of Object.entries(fields)) {
    if (!(key in form)) continue;
    if (form[key] === '') delete settings[field];
    else settings[field] = isMethodField(field) ? form[key].toUpperCase() : form[key];
  }
  return undefined;
}

export function registerTwilioAccount(app: SimApp, ctx: SimContext) {
  const { opts } = ctx;
  const state = ctx.twilio.account;
  const accountBase = `/${API_VERSION}/Accounts/:accountSid`;

  const formOf = async (c: Context) => {
    const form = new URLSearchParams(await c.req.text());
    return Object.fromEntries([...new Set(form.keys())].map((k) => [k, form.get(k) ?? '']));
  };

  app.get(`${accountBase}/IncomingPhoneNumbers.json`, (c) => {
    const q = new URL(c.req.url).searchParams;
    const r = beginTwilioRequest(ctx, c, 'GET', { query: Object.fromEntries(q) });
    if (r.denied) return r.denied;
    const pageSize = pageSizeOf(q, 50);
    if (typeof pageSize !== 'number') return r.fail(pageSize);
    const filter = q.get('PhoneNumber');
    const friendly = q.get('FriendlyName');
    const all = [...state.numbers.values()].filter(
      (n) => (!filter || n.phoneNumber.includes(filter)) && (!friendly || n.friendlyName === friendly),
    );
    const base = `/${API_VERSION}/Accounts/${opts.accountSid}/IncomingPhoneNumbers.json`;
    const page = twilioPage(q, all, pageSize, base, 'incoming_phone_numbers', (n) => numberJson(opts.accountSid, n));
    if ('error' in page) return r.fail(page.error);
    r.record.count = page.count;
    return twilioDone(c, r.record, page.body);
  });

  app.get(`${accountBase}/IncomingPhoneNumbers/:file`, (c) =>
    twilioFetch(
      ctx,
      c,
      (sid) => state.numbers.get(sid),
      (n) => numberJson(opts.accountSid, n),
    ),
  );

  app.post(`${accountBase}/IncomingPhoneNumbers/:file`, async (c) => {
    const form = await formOf(c);
    const r = beginTwilioRequest(ctx, c, 'POST', { params: form });
    if (r.denied) return r.denied;
    const n = state.numbers.get(c.req.param('file').replace(/\.json$/, ''));
    if (!n) return r.fail(twilioNotFound(r.path));
    const invalid = setFromForm(form, NUMBER_FIELDS, n.settings);
    if (invalid) return r.fail(invalid);
    if ('FriendlyName' in form) n.friendlyName = form.FriendlyName;
    n.dateUpdated = new Date();
    ctx.log.info({ api: 'twilio', number: n.sid, fields: Object.keys(form) }, 'phone number updated');
    return twilioDone(c, r.record, numberJson(opts.accountSid, n), n.sid);
  });

  app.get('/v2/Channels/Senders', (c) => {
    const q = new URL(c.req.url).searchParams;
    const r = beginTwilioRequest(ctx, c, 'GET', { query: Object.fromEntries(q) });
    if (r.denied) return r.denied;
    const channel = q.get('Channel');
    if (!channel) return r.fail(twilioError(400, 20001, 'Missing required parameter Channel in the query string'));
    const pageSize = pageSizeOf(q, 20);
    if (typeof pageSize !== 'number') return r.fail(pageSize);
    const all = channel.toLowerCase() === 'whatsapp' ? [...state.senders.values()] : [];
    const token = q.get('PageToken');
    let start = 0;
    if (token) {
      const after = all.findIndex((s) => `PA${s.sid}` === token);
      if (after < 0) return r.fail(twilioError(400, 20001, `Invalid PageToken ${token}`));
      start = after + 1;
    }
    const items = all.slice(start, start + pageSize);
    const more = start + items.length < all.length;
    const urlOf = (tok?: string) => {
      const sp = new URLSearchParams({ Channel: channel, PageSize: String(pageSize) });
      if (tok) sp.set('PageToken', tok);
      return `https://messaging.twilio.com/v2/Channels/Senders?${sp}`;
    };
    r.record.count = items.length;
    return twilioDone(c, r.record, {
      senders: items.map(senderJson),
      meta: {
        page: 0,
        page_size: pageSize,
        first_page_url: urlOf(),
        previous_page_url: null,
        url: urlOf(token ?? undefined),
        next_page_url: more ? urlOf(`PA${items[items.length - 1].sid}`) : null,
        key: 'senders',
      },
    });
  });

  app.get('/v2/Channels/Senders/:sid', (c) => {
    const r = beginTwilioRequest(ctx, c, 'GET');
    if (r.denied) return r.denied;
    const s = state.senders.get(c.req.param('sid'));
    if (!s) return r.fail(twilioNotFound(r.path));
    return twilioDone(c, r.record, senderJson(s), s.sid);
  });

  app.post('/v2/Channels/Senders/:sid', async (c) => {
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch {
      body = undefined;
    }
    const r = beginTwilioRequest(ctx, c, 'POST', { body });
    if (r.denied) return r.denied;
    const s = state.senders.get(c.req.param('sid'));
    if (!s) return r.fail(twilioNotFound(r.path));
    if (!body || typeof body !== 'object' || Array.isArray(body))
      return r.fail(twilioError(400, 20001, 'The request body must be a JSON object'));
    const webhook = (body as { webhook?: unknown }).webhook;
    if (webhook !== undefined && webhook !== null) {
      if (typeof webhook !== 'object' || Array.isArray(webhook))
        return r.fail(twilioError(400, 20001, 'webhook must be an object'));
      const given = Object.entries(webhook as Record<string, unknown>);
      for (const [field, value] of given) {
        // Twilio's API is snake_case; the SDK sends the object as given, so camelCase keys are a caller's mistake.
        if (!SENDER_WEBHOOK_FIELDS.includes(field))
          return r.fail(twilioError(400, 20001, `Unknown webhook field ${field}`));
        if (value !== null && typeof value !== 'string')
          return r.fail(twilioError(400, 20001, `webhook.${field} must be a string`));
        const problem = typeof value === 'string' ? invalidSetting(field, value) : undefined;
        if (problem) return r.fail(twilioError(400, 20001, `Invalid webhook: ${problem}`));
      }
      for (const [field, value] of given) {
        s.webhook[field] =
          value === null || value === '' ? null : isMethodField(field) ? String(value).toUpperCase() : String(value);
      }
    }
    ctx.log.info({ api: 'twilio', sender: s.sid }, 'whatsapp sender updated');
    return twilioDone(c, r.record, senderJson(s), s.sid);
  });

  app.get('/v1/Services/:sid', (c) => {
    const r = beginTwilioRequest(ctx, c, 'GET');
    if (r.denied) return r.denied;
    const m = state.services.get(c.req.param('sid'));
    if (!m) return r.fail(twilioNotFound(r.path));
    return twilioDone(c, r.record, serviceJson(opts.accountSid, m), m.sid);
  });

  app.post('/v1/Services/:sid', async (c) => {
    const form = await formOf(c);
    const r = beginTwilioRequest(ctx, c, 'POST', { params: form });
    if (r.denied) return r.denied;
    const m = state.services.get(c.req.param('sid'));
    if (!m) return r.fail(twilioNotFound(r.path));
    const invalid = setFromForm(form, SERVICE_FIELDS, m.settings);
    if (invalid) return r.fail(invalid);
    if ('UseInboundWebhookOnNumber' in form) m.useInboundWebhookOnNumber = form.UseInboundWebhookOnNumber === 'true';
    if ('FriendlyName' in form) m.friendlyName = form.FriendlyName;
    m.dateUpdated = new Date();
    ctx.log.info({ api: 'twilio', service: m.sid, fields: Object.keys(form) }, 'messaging service updated');
    return twilioDone(c, r.record, serviceJson(opts.accountSid, m), m.sid);
  });
}
