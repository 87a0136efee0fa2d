import type { Context } from 'hono';
import { pageRefFromQuery } from '../../schemas/correlation.js';
import { eventId } from '../../schemas/ids.js';
import type { ReceiptRecordIn } from '../../schemas/receipt-record.js';
import type { Channel, DeliveryStatus } from '../../schemas/status.js';
import { PayloadError } from './errors.js';
import { markVerified, utf8, type RouteDeps } from './http.js';
import {
  SIGNATURE_HEADER,
  SIGNATURE_SETTINGS_HEADER,
  verifyTwilioRequest,
  type TwilioParams,
} from './twilio-signature.js';

/**
 * What every Twilio webhook route shares (messages: twilio-webhook.ts; calls: twilio-voice.ts): the
 * request verified over the URL exactly as requested, its parameters, and the receipt record a
 * verified status callback becomes.
 */

export const param = (params: TwilioParams, name: string): string | undefined => {
  const v = params[name];
  return Array.isArray(v) ? v[0] : v;
};

export const requiredParam = (params: TwilioParams, name: string): string => {
  const v = param(params, name);
  if (!v) throw new PayloadError('required', name);
  return v;
};

/**
 * Path and query exactly as the client sent them: Twilio signs the URL with the characters it
 * requested (a raw `'` or `+` in the query included), and `new URL()` would re-encode some of them.
 * Under @hono/node-server the raw request target is `c.env.incoming.url`; otherwise (in-process
 * requests) the request URL's text after its origin, not re-parsed.
 */
export function rawPathAndQuery(c: Context): string {
  const incoming = (c.env as { incoming?: { url?: unknown } } | undefined)?.incoming?.url;
  if (typeof incoming === 'string' && incoming.startsWith('/')) return incoming;
  const rest = c.req.url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '');
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/**
 * The request's parameters once its X-Twilio-Signature is checked (the auth token, or the SharedKey
 * a Webhooks Setting names) over PUBLIC_BASE_URL + the raw path and query; SignatureError (→ 401)
 * otherwise. Marks the request verified: an unexpected failure after this keeps the body.
 */
export function verifiedTwilioParams(c: Context, deps: RouteDeps, body: Uint8Array, url: string): TwilioParams {
  const params = verifyTwilioRequest(
    { authToken: deps.config.TWILIO_AUTH_TOKEN, sharedKeySecret: deps.config.TWILIO_WEBHOOK_SHARED_KEY_SECRET },
    deps.config.PUBLIC_BASE_URL,
    {
      pathAndQuery: url,
      signature: c.req.header(SIGNATURE_HEADER),
      signatureSettings: c.req.header(SIGNATURE_SETTINGS_HEADER),
      body: utf8(body),
    },
  );
  markVerified(c);
  return params;
}

/**
 * A verified status callback (message or call) → its receipt record; the page comes from the callback URL's query.
 */
export function twilioStatusReceipt(
  params: TwilioParams,
  query: URLSearchParams,
  nowMs: number,
  r: {
    sid: string;
    channel: Channel;
    status: DeliveryStatus;
    provider_status: string;
    errorCode?: string;
    errorMessage?: string;
  },
): ReceiptRecordIn {
  const page = pageRefFromQuery(query);
  if (!page)
    throw new PayloadError(
      'missing or malformed page reference (incident, alarm, dispatch) in the callback URL',
      'query',
    );
  return {
    v: 1,
    kind: 'receipt',
    event_id: eventId('receipt', 'twilio', r.sid, r.provider_status),
    incident_id: page.incidentId,
    alarm_arn: page.alarmArn,
    event_time: new Date(nowMs).toISOString(),
    provider: 'twilio',
    channel: r.channel,
    message_id: r.sid,
    dispatch_id: page.dispatchId,
    status: r.status,
    provider_status: r.provider_status,
    recipient: param(params, 'To'),
    ...(r.errorCode ? { error_code: r.errorCode } : {}),
    ...(r.errorMessage ? { error_message: r.errorMessage } : {}),
    raw: JSON.stringify(params),
  };
}
