import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * What the simulated recipient does with a message: an ordered list of steps, each after
 * `stepDelayMs` (or its own `afterMs`). Keys are recipients as the API received them: an E.164 number
 * (SMS), `whatsapp:+…` (WhatsApp) or an email address (case-insensitive); `default` applies to any
 * other recipient (built-in default: `['delivered']`).
 *
 * Every accepted message is first `sent` (Twilio status callback `sent`; Resend `email.sent`), except a
 * Twilio message whose first step is `failed`.
 *
 * Twilio (SMS / WhatsApp) steps:
 * - `delivered`   status callback `delivered`
 * - `read`        status callback `read` (WhatsApp only; ignored for SMS, which has no read receipts)
 * - `undelivered` status callback `undelivered`, ErrorCode 30003 (unreachable handset)
 * - `failed`      status callback `failed`, ErrorCode 30008 (no `sent` before it when it is the first step)
 * - `reply_ack`   the recipient replies `ACK <code>` (inbound message webhook), the code taken from the
 *                 outbound Body / ContentVariables; to an SMS of the AWS route, an inbound SMS published by
 *                 the origination number's two-way channel (SNS → /webhooks/aws-sms-voice/inbound)
 * - `delayed`     a long pause (3 steps), then `delivered`
 * - `no_answer`   nothing more (the message stays `sent`)
 *
 * Resend (email) steps:
 * - `delivered`, `opened`, `complained`  → email.delivered / email.opened / email.complained
 * - `bounced`     email.bounced (Permanent / General)
 * - `delayed`     email.delivery_delayed, then (3 steps later) email.delivered
 * - `clicked`     email.clicked on the acknowledge link (or the first link)
 * - `click_ack`   email.clicked, then a person follows the acknowledge link: GET (renders the form),
 *                 then POST of the form's fields
 * - `link_scan`   a mail security scanner pre-fetches the acknowledge link (GET only: must not ack)
 * - `no_answer`   nothing more
 *
 * Voice (Twilio Calls API; twilio-voice.ts): the first of these steps decides the call, else a person
 * answers and presses nothing:
 * - `answer_ack`  initiated → ringing → in-progress (AnsweredBy human) → the Gather callback with
 *                 Digits=1 → completed
 * - `no_answer`   initiated → ringing → no-answer
 * - `busy`        initiated → busy
 * - `voicemail`   initiated → ringing → in-progress (AnsweredBy machine_end_beep) → completed
 * - `failed`      initiated → failed
 *
 * Either channel:
 * - `hang`        not a delivery step: the API *accepts* every message to this recipient (the message is
 *                 created and its other steps run as scripted) but its HTTP answer is delayed `afterMs`
 *                 (else the simulator's `hangMs`, else 5 s): "it went out but we never heard back".
 *
 * One-shot API faults (`faults` option, `injectFaults`, `PUT /__sim/faults/{recipient}`) act on the
 * next API requests that send to a recipient, one fault per request, in order (see ApiFault).
 */
export const STEP_NAMES = [
  'delivered',
  'read',
  'undelivered',
  'failed',
  'reply_ack',
  'delayed',
  'no_answer',
  'opened',
  'bounced',
  'complained',
  'clicked',
  'click_ack',
  'link_scan',
  'hang',
  'answer_ack',
  'busy',
  'voicemail',
] as const;

export const StepName = z.enum(STEP_NAMES);
export type StepName = z.infer<typeof StepName>;

export const Step = z.union([
  StepName,
  z.strictObject({ step: StepName, afterMs: z.number().int().nonnegative().optional() }),
]);
export type Step = z.infer<typeof Step>;

export const Behaviour = z.array(Step);
export type Behaviour = z.infer<typeof Behaviour>;

export const Behaviours = z.record(z.string().min(1), Behaviour);
export type Behaviours = z.infer<typeof Behaviours>;

/**
 * A one-shot fault of the next API request that sends to a recipient (Twilio create message, Resend
 * POST /emails):
 * - `hang`   accepted (created, callbacks follow), the answer delayed `ms` (default: the simulator's
 *            `hangMs`, else 5 s)
 * - `error`  answered with `status` (Twilio: code 20000+status; Resend: the matching error name);
 *            `accepted: true` creates the message first (a 5xx after the fact), default false
 * - `reset`  the connection is destroyed without an answer; `accepted` as for `error`
 */
export const ApiFault = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('hang'), ms: z.number().int().positive().optional() }),
  z.strictObject({
    type: z.literal('error'),
    status: z.number().int().min(400).max(599),
    accepted: z.boolean().default(false),
  }),
  z.strictObject({ type: z.literal('reset'), accepted: z.boolean().default(false) }),
]);
export type ApiFault = z.input<typeof ApiFault>;
export const ApiFaults = z.array(ApiFault);

export const DEFAULT_BEHAVIOUR: Behaviour = ['delivered'];

/** The key a recipient's behaviour is stored under (emails lower-cased, `Name <a@b>` → `a@b`). */
export function recipientKey(recipient: string): string {
  const r = recipient.trim();
  const angle = /<([^<>]+)>\s*$/.exec(r);
  const addr = angle ? angle[1].trim() : r;
  return addr.includes('@') ? addr.toLowerCase() : addr;
}

export function normalizeBehaviours(b: Behaviours): Map<string, Behaviour> {
  const out = new Map<string, Behaviour>();
  for (const [k, v] of Object.entries(Behaviours.parse(b))) out.set(k === 'default' ? k : recipientKey(k), v);
  return out;
}

export function stepOf(s: Step): { step: StepName; afterMs?: number } {
  return typeof s === 'string' ? { step: s } : s;
}

/** Reads a behaviours JSON file (`{ "<recipient>": ["delivered", …], "default": [...] }`). */
export function loadBehavioursFile(path: string): Behaviours {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: cannot read behaviours JSON: ${(err as Error).message}`);
  }
  const parsed = Behaviours.safeParse(raw);
  if (!parsed.success) {
    throw new Error(
      `${path}: invalid behaviours:\n  ` +
        `${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n  ')}`,
    );
  }
  return parsed.data;
}
