import type { Context, Hono } from 'hono';
import type { AckRecordIn } from '../../schemas/ack-record.js';
import type { ReceiptRecordIn } from '../../schemas/receipt-record.js';
import { normalizeAddress } from '../../schemas/address.js';
import type { ResolvedAckCode } from '../../shared/ack-codes.js';
import { eventId } from '../../schemas/ids.js';
import { PayloadError, UnavailableError } from './errors.js';
import { guarded, writeRecords, type RouteDeps } from './http.js';
import { twilioStatus } from './status-map.js';
import type { TwilioParams } from './twilio-signature.js';
import { param, rawPathAndQuery, requiredParam, twilioStatusReceipt, verifiedTwilioParams } from './twilio-request.js';
import { keepInErrors, keptOnPayloadError, type VerifiedRequest } from './webhook-outcome.js';

/**
 * POST /webhooks/twilio — status callbacks of the pages we sent (→ receipt records) and inbound
 * replies (`ACK <code>` → ack record, counted only when the reply comes from a number paged with that
 * code: the code's `recipients`; a code is short enough to be guessed or forwarded). Twilio's status
 * callbacks carry no event timestamp (RawDlrDoneDate is the carrier's minute-precision time without a
 * time zone, kept in `raw` only), so event_time is the time the callback arrived.
 *
 * Answers: 401 when not authentic (nothing written, nothing kept); a verified callback that cannot
 * become a record (no or a malformed page reference, unknown status, missing MessageSid) is kept under
 * `errors/` with the reason and answered 202 `{kept, error, path}` (TwiML for an inbound message): a
 * retry could not change it. 503 when the stream, the ack-code ledger or the error sink fails.
 */

const one = param;
const required = requiredParam;

const isWhatsApp = (params: TwilioParams) =>
  [one(params, 'To'), one(params, 'From')].some((a) => a?.toLowerCase().startsWith('whatsapp:')) ||
  one(params, 'ChannelPrefix') === 'whatsapp';

/** The status word: MessageStatus, or SmsStatus (older payloads). */
const statusWord = (params: TwilioParams) => one(params, 'MessageStatus') ?? one(params, 'SmsStatus');

export { rawPathAndQuery };

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
  return twilioStatusReceipt(params, query, nowMs, {
    sid,
    channel: isWhatsApp(params) ? 'whatsapp' : 'sms',
    status,
    provider_status,
    errorCode: one(params, 'ErrorCode'),
    errorMessage: one(params, 'ErrorMessage') ?? one(params, 'ChannelStatusMessage'),
  });
}

/** `ACK <code>` (case-insensitive, spaces, `:` or `#` tolerated) → the code as typed; else undefined. */
export function parseAckReply(body: string): string | undefined {
  return /^\s*ack[\s:#-]*([a-z0-9]{1,16})\s*[.!]?\s*$/i.exec(body)?.[1];
}

const xml = (s: string) =>
  s.replace(/[<>&'"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[ch]!);

/** A TwiML response: empty, or one reply message. */
export function twiml(c: Context, message?: string): Response {
  const body = message
    ? `<?xml version="1.0" encoding="UTF-8"?><Response><Message>${xml(message)}</Message></Response>`
    : '<?xml version="1.0" encoding="UTF-8"?><Response/>';
  return c.body(body, 200, { 'content-type': 'text/xml; charset=utf-8' });
}

const alarmName = (arn: string) => arn.split(':alarm:')[1] ?? arn;

/**
 * Who acknowledges when `from` replies with the code: undefined when `from` was not paged with it
 * (compared normalized: `whatsapp:` stripped, E.164). `person` is named when the recipients entries
 * agree on one person (else the code's own person, if any).
 */
export function paged(entry: ResolvedAckCode, from: string | undefined): { person?: string } | undefined {
  const address = normalizeAddress(from);
  if (!address?.startsWith('+')) return undefined; // a reply comes from a phone number, never an email address
  const matches = entry.recipients.filter((r) => r.address === address);
  if (matches.length === 0) return undefined;
  const people = new Set(matches.flatMap((r) => (r.person ? [r.person] : [])));
  if (people.size === 1) return { person: [...people][0] };
  if (people.size === 0 && entry.person) return { person: entry.person };
  return {};
}

/** The answer to an ACK from a number that was not paged for the incident. */
export const notPagedMessage = (incidentId: string) =>
  `This number was not paged for incident ${incidentId}; ` +
  `reply from the phone that was paged, or use the link in the email.`;

async function inboundReply(
  c: Context,
  deps: RouteDeps,
  req: VerifiedRequest,
  params: TwilioParams,
  nowMs: number,
): Promise<Response> {
  const typed = parseAckReply(one(params, 'Body') ?? '');
  if (!typed) return twiml(c);
  let sid: string;
  try {
    sid = required(params, 'MessageSid');
  } catch (err) {
    if (!(err instanceof PayloadError)) throw err;
    await keepInErrors(deps, req, err);
    return twiml(c);
  }
  let entry: ResolvedAckCode | undefined;
  try {
    entry = await deps.ackCodes.resolve(typed);
  } catch (cause) {
    throw new UnavailableError('ack code lookup', { cause });
  }
  if (!entry) {
    deps.logger.info({ route: '/webhooks/twilio', message_id: sid }, 'ack reply with an unknown or expired code');
    return twiml(c, `Unknown or expired ack code ${typed.toUpperCase()}.`);
  }
  const from = one(params, 'From');
  const who = paged(entry, from);
  if (!who) {
    // A verified message: 200 (a retry cannot change the answer). The number itself is never logged.
    deps.logger.warn(
      { route: '/webhooks/twilio', incident_id: entry.incidentId, message_id: sid },
      'ack reply from a number not paged for the incident: not counted',
    );
    return twiml(c, notPagedMessage(entry.incidentId));
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
    ...(who.person ? { person: who.person } : {}),
    recipient: from,
    message_id: sid,
  };
  await writeRecords(deps, [ack]);
  deps.logger.info(
    { route: '/webhooks/twilio', incident_id: entry.incidentId, event_id: ack.event_id },
    'acknowledged by reply',
  );
  return twiml(c, `Acknowledged: ${alarmName(entry.alarmArn)}.`);
}

export function twilioRoutes(app: Hono, deps: RouteDeps): void {
  const route = '/webhooks/twilio';
  app.post(
    route,
    guarded(deps, route, async (c, body) => {
      const url = rawPathAndQuery(c);
      const req: VerifiedRequest = { c, route, body, url, receivedAt: deps.now() };
      return keptOnPayloadError(deps, req, async () => {
        // SignatureError → 401; a verified JSON body that is not an object → PayloadError → kept.
        const params = verifiedTwilioParams(c, deps, body, url);
        const nowMs = deps.now();
        if (isInboundMessage(params)) return inboundReply(c, deps, req, params, nowMs);
        const record = twilioReceipt(params, new URL(c.req.url).searchParams, nowMs);
        await writeRecords(deps, [record]);
        deps.logger.debug?.({ route, event_id: record.event_id, status: record.status }, 'receipt written');
        return c.body(null, 200);
      });
    }),
  );
}
