import type { AckRecordIn } from '../../schemas/ack-record.js';
import { normalizeAddress } from '../../schemas/address.js';
import { isDrillId } from '../../schemas/drill-record.js';
import { eventId } from '../../schemas/ids.js';
import type { ResolvedAckCode } from '../../shared/ack-codes.js';
import { UnavailableError } from './errors.js';
import { writeRecords, type RouteDeps } from './http.js';

/**
 * A text reply `ACK <code>` (or a drill's `OK <code>`) → an ack record, whichever provider carried it: Twilio's
 * inbound SMS/WhatsApp (twilio-webhook.ts) and the second route's two-way SMS (aws-sms-voice-webhook.ts, the
 * origination number's two-way channel). One set of rules for both:
 *
 * - the body must be the reply and nothing else (`parseAckReply`); anything else is not an ack;
 * - the code must resolve (shared/ack-codes.ts: known, not expired);
 * - the reply must come from a phone number paged with that code (`paged`: the code's `recipients`, compared
 *   normalized): a code is short enough to be guessed or forwarded, so a reply from any other number is not counted;
 * - the ack's event id is derived from the provider's id of the inbound message: a redelivery is the same ack.
 *
 * The caller turns the outcome into its provider's answer (TwiML for Twilio; an SMS back, if it can, for AWS).
 */

/**
 * `ACK <code>` (case-insensitive, spaces, `:` or `#` tolerated) → the code as typed; else undefined. `OK <code>` too:
 * the answer a reachability drill asks for (the code is the drill's, so it acknowledges the drill, never an incident).
 */
export function parseAckReply(body: string): string | undefined {
  return /^\s*(?:ack[\s:#-]*|ok[\s:#-]+)([a-z0-9]{1,16})\s*[.!]?\s*$/i.exec(body)?.[1];
}

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

const alarmName = (arn: string) => arn.split(':alarm:')[1] ?? arn;

/** One inbound text message, as its provider delivered it. */
export interface InboundReply {
  /** The receiver route (logs only). */
  route: string;
  /** Who carried it: part of the ack's event id. */
  provider: 'twilio' | 'aws';
  /** The provider's id of the inbound message (Twilio MessageSid, AWS inboundMessageId). */
  messageId: string;
  /** The message as typed. */
  body: string;
  /** The sender's address as the provider gives it (`+1…`, `whatsapp:+1…`). Never logged. */
  from: string | undefined;
  channel: 'sms' | 'whatsapp';
  /** Epoch ms of the reply (the ack's event_time). */
  atMs: number;
}

export type ReplyOutcome =
  /** Not an ACK/OK reply: nothing to do (no answer). */
  | { kind: 'not_a_reply' }
  /** The code does not resolve. */
  | { kind: 'unknown_code'; answer: string }
  /** The sender was not paged with the code: not counted. */
  | { kind: 'not_paged'; incidentId: string; answer: string }
  /** The ack is on the stream. */
  | { kind: 'acked'; ack: AckRecordIn; answer: string };

/**
 * Applies the rules above; writes the ack when they hold. Throws UnavailableError (503: the provider retries)
 * when the ack-code ledger or the stream fails.
 */
export async function ackByReply(deps: RouteDeps, reply: InboundReply): Promise<ReplyOutcome> {
  const typed = parseAckReply(reply.body);
  if (!typed) return { kind: 'not_a_reply' };
  let entry: ResolvedAckCode | undefined;
  try {
    entry = await deps.ackCodes.resolve(typed);
  } catch (cause) {
    throw new UnavailableError('ack code lookup', { cause });
  }
  const log = { route: reply.route, message_id: reply.messageId };
  if (!entry) {
    deps.logger.info(log, 'ack reply with an unknown or expired code');
    return { kind: 'unknown_code', answer: `Unknown or expired ack code ${typed.toUpperCase()}.` };
  }
  const who = paged(entry, reply.from);
  if (!who) {
    // The number itself is never logged.
    deps.logger.warn(
      { ...log, incident_id: entry.incidentId },
      'ack reply from a number not paged for the incident: not counted',
    );
    return { kind: 'not_paged', incidentId: entry.incidentId, answer: notPagedMessage(entry.incidentId) };
  }
  const ack: AckRecordIn = {
    v: 1,
    kind: 'ack',
    event_id: eventId('ack', reply.provider, reply.messageId),
    incident_id: entry.incidentId,
    alarm_arn: entry.alarmArn,
    event_time: new Date(reply.atMs).toISOString(),
    channel: reply.channel,
    via: reply.channel === 'whatsapp' ? 'whatsapp_reply' : 'sms_reply',
    ...(who.person ? { person: who.person } : {}),
    recipient: reply.from,
    message_id: reply.messageId,
  };
  await writeRecords(deps, [ack]);
  deps.logger.info({ ...log, incident_id: entry.incidentId, event_id: ack.event_id }, 'acknowledged by reply');
  const answer = isDrillId(entry.incidentId)
    ? 'Drill confirmed: this number reaches you. Thank you.'
    : `Acknowledged: ${alarmName(entry.alarmArn)}.`;
  return { kind: 'acked', ack, answer };
}
