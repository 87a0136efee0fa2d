import type { DeliveryStatus } from '../../schemas/status.js';
import { UnknownStatusError } from './errors.js';

/**
 * Provider status words → the one DeliveryStatus vocabulary (schemas/status.ts). The provider's own
 * word is kept beside it as `provider_status`. An unknown word is an error (400 + error sink), never
 * a silent default: a new provider status must be mapped on purpose.
 */

/** Every Twilio Message status (twilio-node `MessageStatus`). */
export const TWILIO_STATUS: Readonly<Record<string, DeliveryStatus>> = {
  accepted: 'queued', // Messaging Service accepted it (no callback is sent for it, mapped anyway)
  scheduled: 'queued',
  queued: 'queued',
  sending: 'queued', // being handed to the carrier: not yet handed on
  sent: 'sent',
  delivered: 'delivered',
  // Part of the message reached the device; `provider_status` keeps the distinction.
  partially_delivered: 'delivered',
  read: 'opened', // WhatsApp read receipt: the person saw it
  undelivered: 'undelivered',
  failed: 'failed',
  canceled: 'canceled',
  receiving: 'received',
  received: 'received',
};

/**
 * Every Twilio CallStatus (voice pages). `ringing`: the phone rang, the page reached the device
 * (`delivered`, as a delivery receipt). `in-progress` and `completed` depend on AnsweredBy (twilioCallStatus).
 */
export const TWILIO_CALL_STATUS: Readonly<Record<string, DeliveryStatus>> = {
  queued: 'queued',
  initiated: 'sent', // dialling: handed to the carrier
  ringing: 'delivered',
  'in-progress': 'delivered', // answered, AnsweredBy not (yet) known: reached, not proven seen
  completed: 'delivered',
  busy: 'undelivered',
  'no-answer': 'undelivered',
  failed: 'failed',
  canceled: 'canceled',
};

/** AnsweredBy (answering-machine detection) on an answered / completed call. */
export const TWILIO_ANSWERED_BY: Readonly<Record<string, DeliveryStatus>> = {
  human: 'opened', // a person picked up: the page was heard
  unknown: 'delivered', // detection could not tell: reached, not proven a person
  machine_start: 'undelivered', // voicemail: not reached, fail over
  machine_end_beep: 'undelivered',
  machine_end_silence: 'undelivered',
  machine_end_other: 'undelivered',
  fax: 'undelivered',
};

/**
 * A Twilio CallStatus (+ AnsweredBy, when present on in-progress / completed) → status.
 * `provider_status`: `in-progress`, or `in-progress:human` with AnsweredBy.
 */
export function twilioCallStatus(word: string, answeredBy?: string): MappedStatus {
  const w = word.trim().toLowerCase();
  let status = lookup(TWILIO_CALL_STATUS, w);
  if (!status) throw new UnknownStatusError('twilio', word, 'CallStatus');
  const by = answeredBy?.trim().toLowerCase();
  if (by && (w === 'in-progress' || w === 'completed')) {
    const mapped = lookup(TWILIO_ANSWERED_BY, by);
    if (!mapped) throw new UnknownStatusError('twilio', answeredBy!, 'AnsweredBy');
    status = mapped;
    return { status, provider_status: `${word}:${answeredBy}` };
  }
  return { status, provider_status: word };
}

/** Every Resend `email.*` webhook event type. */
export const RESEND_STATUS: Readonly<Record<string, DeliveryStatus>> = {
  'email.scheduled': 'queued',
  'email.sent': 'sent',
  'email.delivered': 'delivered',
  'email.delivery_delayed': 'delayed',
  'email.opened': 'opened',
  'email.clicked': 'clicked',
  'email.bounced': 'bounced',
  'email.complained': 'complained',
  'email.failed': 'failed',
  'email.suppressed': 'suppressed',
  'email.received': 'received',
};

export interface MappedStatus {
  status: DeliveryStatus;
  provider_status: string;
}

function lookup(table: Readonly<Record<string, DeliveryStatus>>, word: string): DeliveryStatus | undefined {
  return Object.hasOwn(table, word) ? table[word] : undefined;
}

/** A Twilio MessageStatus (case-insensitive) → status; `provider_status` is the word as Twilio sent it. */
export function twilioStatus(word: string, path = 'MessageStatus'): MappedStatus {
  const status = lookup(TWILIO_STATUS, word.trim().toLowerCase());
  if (!status) throw new UnknownStatusError('twilio', word, path);
  return { status, provider_status: word };
}

/** A Resend event `type` → status; `provider_status` is the type as sent (`email.opened`). */
export function resendStatus(type: string, path = 'type'): MappedStatus {
  const status = lookup(RESEND_STATUS, type);
  if (!status) throw new UnknownStatusError('resend', type, path);
  return { status, provider_status: type };
}

/**
 * Every AWS End User Messaging SMS and voice event type ("Event types for SMS, MMS, and voice",
 * https://docs.aws.amazon.com/sms-voice/latest/userguide/configuration-sets-event-types.html). TEXT_SUCCESSFUL is
 * "accepted by the recipient's carrier": handed on, not proof of delivery (`sent`, like Twilio's `sent`), so a page
 * that only ever gets it fails over at its delivery deadline; TEXT_DELIVERED is. A call cannot tell a person from a
 * voicemail (no answering-machine detection on this route): answered and completed are `delivered`, not `opened`.
 */
export const AWS_SMS_VOICE_STATUS: Readonly<Record<string, DeliveryStatus>> = {
  TEXT_QUEUED: 'queued',
  TEXT_PENDING: 'queued',
  TEXT_SUCCESSFUL: 'sent',
  TEXT_DELIVERED: 'delivered',
  TEXT_BLOCKED: 'undelivered',
  TEXT_TTL_EXPIRED: 'undelivered',
  TEXT_CARRIER_UNREACHABLE: 'undelivered',
  TEXT_UNREACHABLE: 'undelivered',
  TEXT_CARRIER_BLOCKED: 'undelivered',
  TEXT_SPAM: 'undelivered',
  TEXT_UNKNOWN: 'undelivered',
  TEXT_INVALID: 'failed',
  TEXT_INVALID_MESSAGE: 'failed',
  TEXT_PROTECT_BLOCKED: 'failed',
  VOICE_INITIATED: 'sent',
  VOICE_RINGING: 'delivered',
  VOICE_ANSWERED: 'delivered',
  VOICE_COMPLETED: 'delivered',
  VOICE_BUSY: 'undelivered',
  VOICE_NO_ANSWER: 'undelivered',
  VOICE_TTL_EXPIRED: 'undelivered',
  VOICE_FAILED: 'failed',
};

/** An AWS End User Messaging `eventType` → status; `provider_status` is the event type. */
export function awsSmsVoiceStatus(eventType: string, path = 'Message.eventType'): MappedStatus {
  const status = lookup(AWS_SMS_VOICE_STATUS, eventType);
  if (!status) throw new UnknownStatusError('aws', eventType, path);
  return { status, provider_status: eventType };
}
