/**
 * What a provider's failure code means, in words a responder can act on. Twilio error codes come from
 * https://www.twilio.com/docs/api/errors; Resend's bounce types (`<type>/<subType>` in `error_code`,
 * producers/receiver/resend-webhook.ts) are Amazon SES's: Permanent (hard), Transient (soft),
 * Undetermined; `suppressed` and `complained` are their own statuses.
 */
export interface CodeExplanation {
  /** Short label: "unreachable handset". */
  label: string;
  /** One sentence: what happened and what to do. */
  detail: string;
}

const TWILIO: Record<string, CodeExplanation> = {
  '21211': {
    label: "invalid 'To' number",
    detail: 'The number is not a valid phone number: fix the address in the on-call file.',
  },
  '21408': {
    label: 'region not enabled',
    detail: 'SMS to this country is not enabled on the Twilio account (Geo Permissions).',
  },
  '21610': {
    label: 'recipient unsubscribed (STOP)',
    detail: 'The person replied STOP to this sender; they must reply START before SMS reaches them again.',
  },
  '21614': {
    label: 'not a mobile number',
    detail: "The 'To' number cannot receive SMS (e.g. a landline): use another channel.",
  },
  '30001': {
    label: 'queue overflow',
    detail: 'Too many messages were queued for the sender; Twilio dropped this one.',
  },
  '30002': {
    label: 'account suspended',
    detail: 'The Twilio account is suspended: no message goes out until it is restored.',
  },
  '30003': {
    label: 'unreachable handset',
    detail: 'The phone was off, out of coverage or could not take the message; the carrier gave up.',
  },
  '30004': { label: 'message blocked', detail: 'The recipient or their carrier blocks messages from this sender.' },
  '30005': {
    label: 'unknown handset',
    detail: 'The number does not exist or is no longer in service: update the on-call file.',
  },
  '30006': {
    label: 'landline or unreachable carrier',
    detail: 'The number is a landline or its carrier cannot take SMS: use another channel.',
  },
  '30007': {
    label: 'filtered by the carrier',
    detail:
      'The carrier filtered the message as spam or unregistered traffic (check A2P 10DLC / toll-free verification).',
  },
  '30008': {
    label: 'unknown error',
    detail: 'The carrier reported no reason; retrying or another channel usually works.',
  },
  '30009': { label: 'missing segment', detail: 'Part of a multi-part message was lost in transit.' },
  '30010': { label: 'price exceeds max price', detail: 'The message cost more than the MaxPrice set on the request.' },
  '30032': {
    label: 'toll-free number not verified',
    detail: 'Messages from an unverified toll-free number are blocked by US carriers.',
  },
  '30034': {
    label: 'unregistered 10DLC number',
    detail: 'US carriers block messages from a long code not registered for A2P 10DLC.',
  },
  '63003': { label: 'WhatsApp address not found', detail: 'The number has no WhatsApp account on this channel.' },
  '63016': {
    label: 'outside the WhatsApp 24-hour window',
    detail:
      'A free-form WhatsApp message can only answer a user message of the last 24 h: page with an approved template.',
  },
  '63024': {
    label: 'invalid WhatsApp recipient',
    detail: 'WhatsApp rejected the recipient (not a WhatsApp user or blocked).',
  },
  '63032': {
    label: 'WhatsApp experiment',
    detail: "Meta withheld the message: the user's number is part of a WhatsApp experiment.",
  },
  '63049': {
    label: 'WhatsApp chose not to deliver',
    detail: 'Meta chose not to deliver the message (engagement limits for business-initiated messages).',
  },
};

const RESEND_TYPE: Record<string, CodeExplanation> = {
  permanent: {
    label: 'hard bounce',
    detail:
      'The receiving server rejected the address for good (no such mailbox or domain): fix the address; ' +
      'further mail to it is suppressed.',
  },
  transient: {
    label: 'soft bounce',
    detail: 'A temporary refusal (mailbox full, message too large, server busy): a later attempt may succeed.',
  },
  undetermined: {
    label: 'undetermined bounce',
    detail: 'The receiving server bounced the message without a usable reason.',
  },
};

const RESEND_SUBTYPE: Record<string, string> = {
  general: 'rejected by the receiving server',
  noemail: 'the address does not exist',
  suppressed: 'on the sending suppression list',
  onaccountsuppressionlist: 'on the account suppression list',
  mailboxfull: 'mailbox full',
  messagetoolarge: 'message too large',
  contentrejected: 'content rejected',
  attachmentrejected: 'attachment rejected',
};

const RESEND_STATUS: Record<string, CodeExplanation> = {
  suppressed: {
    label: 'suppressed',
    detail: 'Resend did not send: the address is on the suppression list after an earlier hard bounce or complaint.',
  },
  complained: {
    label: 'marked as spam',
    detail: 'The recipient marked the page as spam; their provider may filter the next ones.',
  },
  failed: { label: 'not sent', detail: 'Resend could not send the email (see the reason).' },
  bounced: { label: 'bounced', detail: 'The receiving server returned the email.' },
};

/** The explanation of a failure, or undefined when nothing is known about the code. */
export function explainFailure(f: {
  provider?: string | null;
  status?: string | null;
  error_code?: string | null;
}): CodeExplanation | undefined {
  const code = f.error_code?.trim() ?? '';
  if (f.provider === 'twilio') return TWILIO[code];
  if (f.provider === 'resend') {
    const [type, sub] = code.split('/').map((s) => s.toLowerCase());
    const base = RESEND_TYPE[type ?? ''];
    if (base)
      return sub && RESEND_SUBTYPE[sub]
        ? { label: `${base.label}: ${RESEND_SUBTYPE[sub]}`, detail: base.detail }
        : base;
    return RESEND_STATUS[f.status ?? ''] ?? (code ? RESEND_STATUS[code.toLowerCase()] : undefined);
  }
  return undefined;
}

/** The codes this table knows, per provider (for the report's legend and tests). */
export const KNOWN_CODES = {
  twilio: Object.keys(TWILIO),
  resend: [...Object.keys(RESEND_TYPE), ...Object.keys(RESEND_STATUS)],
} as const;
