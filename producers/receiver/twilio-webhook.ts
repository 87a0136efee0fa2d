import type { Context, Hono } from 'hono';
import type { AckRecordIn } from '../../schemas/ack-record.js';
import type { ReceiptRecordIn } from '../../schemas/receipt-record.js';
import { pageRefFromQuery } from '../../schemas/correlation.js';
import { eventId } from '../../schemas/ids.js';
import { PayloadError, UnavailableError } from './errors.js';
import { guarded, pathAndQuery, utf8, writeRecords, type RouteDeps } from './http.js';
import { twilioStatus } from './status-map.js';
import { verifyTwilioRequest, type TwilioParams } from './twilio-signature.js';

/**
 * POST /webhooks/twilio — status callbacks of the pages we sent (→ receipt records) and inbound
 * replies (`ACK <code>` → ack record). Twilio's status callbacks carry no event timestamp
 * (RawDlrDoneDate is the carrier's minute-precision time without a time zone, kept in `raw` only),
 * so event_time is the time the callback arrived.
 */

const one = (params: TwilioParams, name: string): string | undefined => {
  const v = params[name];
  return Array.isArray(v) ? v[0] : v;
};

const required = (params: TwilioParams, name: string): string => {
  const v = one(params, name);
  if (!v) throw new PayloadError('required', name);
  return v;
};

const isWhatsApp = (params: TwilioParams) =>
  [one(params, 'To'), one(params, 'From')].some((a) => a?.toLowerCase().startsWith('whatsapp:')) || one(params, 'ChannelPrefix') === 'whatsapp';

/** The status word: MessageStatus, or SmsStatus (older payloads). */
const statusWord = (params: TwilioParams) => one(params, 'MessageStatus') ?? one(params, 'SmsStatus');

/** An inbound message (a reply), as opposed to a status callback of a message we sent. */
export function isInboundMessage(params: TwilioParams): boolean {
  const word = statusWord(params)?.toLowerCase();
  return params.Body !== undefined && (word === undefined || word === 'received');
}

/** A verified status callback → a receipt record. `query`: the callback URL's query (the page reference). */
export function twilioReceipt(params: TwilioParams, query: URLSearchParams, nowMs: number): ReceiptRecordIn {
  const sid = required(params, 'MessageSid');
  const word = statusWord(params);
  if (!word) throw new PayloadError('required', 'MessageStatus');
  const { status, provider_status } = twilioStatus(word);
  const page = pageRefFromQuery(query);
  if (!page) throw new PayloadError('missing or malformed page reference (incident, alarm, dispatch) in the callback URL', 'query');
  const errorCode = one(params, 'ErrorCode');
  const errorMessage = one(params, 'ErrorMessage') ?? one(params, 'ChannelStatusMessage');
  return {
    v: 1,
    kind: 'receipt',
    event_id: eventId('receipt', 'twilio', sid, provider_status),
    incident_id: page.incidentId,
    alarm_arn: page.alarmArn,
    event_time: new Date(nowMs).toISOString(),
    provider: 'twilio',
    channel: isWhatsApp(params) ? 'whatsapp' : 'sms',
    message_id: sid,
    status,
    provider_status,
    recipient: one(params, 'To'),
    ...(errorCode ? { error_code: errorCode } : {}),
    ...(errorMessage ? { error_message: errorMessage } : {}),
    raw: JSON.stringify(params),
  };
}

/** `ACK <code>` (case-insensitive, spaces, `:` or `#` tolerated) → the code as typed; else undefined. */
export function parseAckReply(body: string): string | undefined {
  return /^\s*ack[\s:#-]*([a-z0-9]{1,16})\s*[.!]?\s*$/i.exec(body)?.[1];
}

const xml = (s: string) => s.replace(/[<>&'"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[ch]!);

/** A TwiML response: empty, or one reply message. */
export function twiml(c: Context, message?: string): Response {
  const body = message
    ? `<?xml version="1.0" encoding="UTF-8"?><Response><Message>${xml(message)}</Message></Response>`
    : '<?xml version="1.0" encoding="UTF-8"?><Response/>';
  return c.body(body, 200, { 'content-type': 'text/xml; charset=utf-8' });
}

const alarmName = (arn: string) => arn.split(':alarm:')[1] ?? arn;

async function inboundReply(c: Context, deps: RouteDeps, params: TwilioParams, nowMs: number): Promise<Response> {
  const typed = parseAckReply(one(params, 'Body') ?? '');
  if (!typed) return twiml(c);
  const sid = required(params, 'MessageSid');
  let entry;
  try {
    entry = await deps.ackCodes.resolve(typed);
  } catch (cause) {
    throw new UnavailableError('ack code lookup', { cause });
  }
  if (!entry) {
    deps.logger.info({ route: '/webhooks/twilio', message_id: sid }, 'ack reply with an unknown or expired code');
    return twiml(c, `Unknown or expired ack code ${typed.toUpperCase()}.`);
  }
  const whatsapp = isWhatsApp(params);
  const ack: AckRecordIn = {
    v: 1,
    kind: 'ack',
    event_id: eventId('ack', 'twilio', sid),
    incident_id: entry.incidentId,
    alarm_arn: entry.alarmArn,
    event_time: new Date(nowMs).toISOString(),
    channel: whatsapp ? 'whatsapp' : 'sms',
    via: whatsapp ? 'whatsapp_reply' : 'sms_reply',
    ...(entry.person ? { person: entry.person } : {}),
    recipient: one(params, 'From'),
    message_id: sid,
  };
  await writeRecords(deps, [ack]);
  deps.logger.info({ route: '/webhooks/twilio', incident_id: entry.incidentId, event_id: ack.event_id }, 'acknowledged by reply');
  return twiml(c, `Acknowledged: ${alarmName(entry.alarmArn)}.`);
}

export function twilioRoutes(app: Hono, deps: RouteDeps): void {
  const route = '/webhooks/twilio';
  app.post(
    route,
    guarded(deps, route, async (c, body) => {
      const params = verifyTwilioRequest(deps.config.TWILIO_AUTH_TOKEN, deps.config.PUBLIC_BASE_URL, {
        pathAndQuery: pathAndQuery(c),
        signature: c.req.header('x-twilio-signature'),
        body: utf8(body),
      });
      const nowMs = deps.now();
      if (isInboundMessage(params)) return inboundReply(c, deps, params, nowMs);
      const record = twilioReceipt(params, new URL(c.req.url).searchParams, nowMs);
      await writeRecords(deps, [record]);
      deps.logger.info({ route, event_id: record.event_id, status: record.status }, 'receipt written');
      return c.body(null, 200);
    }),
  );
}
