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
