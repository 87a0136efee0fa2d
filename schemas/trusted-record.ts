import { hash } from 'node:crypto';
import { z } from 'zod';
import { AckRecord } from './ack-record.js';
import { DeadlineRecord } from './deadline-record.js';
import { DispatchRecord, Route } from './dispatch-record.js';
import { EscalationRecord } from './escalation-record.js';
import { ReceiptRecord } from './receipt-record.js';
import { SCHEMA_VERSION } from './record-base.js';
import { Channel, DeliveryStatus, Provider, Severity } from './status.js';
import { parseTimestamp } from './time.js';

/**
 * The trusted fast path of `decodeRecord`: hand-written checks for the flat record kinds our own
 * producers write (dispatch, receipt, ack, escalation, deadline), ~5× cheaper than the zod schemas.
 *
 * It is not a trust-the-sender shortcut: every field of every record is still checked. A record is
 * taken only when
 *  - its envelope is `v` = SCHEMA_VERSION and its `kind` is one of these five;
 *  - that kind's zod schema still has the fingerprint this file was written against
 *    (`FINGERPRINTS`: a sha256 of the schema's JSON Schema). A schema changed since turns the fast
 *    path off for that kind (and fails `trusted-record.test.ts` until this file is updated);
 *  - every key is one the schema knows and every value passes the same check the schema makes
 *    (type, enum, length, integer range, timestamp).
 * Anything else returns undefined and the caller runs the full zod schema, which accepts it or names
 * the reason. So the fast path accepts a subset of what zod accepts and returns the same output
 * (same values, same key order: the schema's); `trusted-record.test.ts` checks both on generated
 * records and on mutations of each field. Alarm records (the CloudWatch event, nested and open to
 * new AWS fields) always take the zod path.
 */

/** Sentinel: the value fails the check (the record goes to zod). */
const NO = Symbol('no');
type Check = (v: unknown) => unknown;

const str =
  (min = 0, max = Infinity): Check =>
  (v) =>
    typeof v === 'string' && v.length >= min && v.length <= max ? v : NO;
const oneOf = (values: readonly string[]): Check => {
  const set = new Set(values);
  return (v) => (typeof v === 'string' && set.has(v) ? v : NO);
};
const int =
  (min: number): Check =>
  (v) =>
    typeof v === 'number' && Number.isSafeInteger(v) && v >= min ? v : NO;
const bool: Check = (v) => (typeof v === 'boolean' ? v : NO);
const timestamp: Check = (v) => {
  if (typeof v !== 'string') return NO;
  try {
    return parseTimestamp(v);
  } catch {
    return NO;
  }
};
const nullable =
  (c: Check): Check =>
  (v) =>
    v === null ? null : c(v);
const arn: Check = (v) => (typeof v === 'string' && v.startsWith('arn:') ? v : NO);

/** One field: its check, and whether it may be absent (optional) or has a default when absent. */
interface Field {
  check: Check;
  optional?: boolean;
  fallback?: () => unknown;
}
const req = (check: Check): Field => ({ check });
const opt = (check: Check): Field => ({ check, optional: true });
const dflt = (check: Check, value: unknown): Field => ({ check, fallback: () => value });

const resolvedBy: Check = (v) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return NO;
  const o = v as Record<string, unknown>;
  for (const k in o) if (k !== 'schedule' && k !== 'layer' && k !== 'source' && k !== 'override') return NO;
  const schedule = str(1)(o.schedule);
  const layer = typeof o.layer === 'number' ? int(0)(o.layer) : str(1)(o.layer);
  const source = oneOf(['override', 'rotation', 'ical'])(o.source);
  if (schedule === NO || layer === NO || source === NO) return NO;
  if (o.override === undefined) return { schedule, layer, source };
  if (typeof o.override !== 'boolean') return NO;
  return { schedule, layer, source, override: o.override };
};

const REROUTE_CAUSES = DispatchRecord.shape.rerouted.unwrap().shape.cause.options;
const rerouted: Check = (v) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return NO;
  const o = v as Record<string, unknown>;
  for (const k in o) if (k !== 'from' && k !== 'cause') return NO;
  const from = oneOf(Route.options)(o.from);
  const cause = oneOf(REROUTE_CAUSES)(o.cause);
  return from === NO || cause === NO ? NO : { from, cause };
};

const channel = oneOf(Channel.options);
const BASE = {
  v: req((v) => (v === SCHEMA_VERSION ? v : NO)),
  event_id: req(str(8, 128)),
  incident_id: req(str(4, 128)),
  alarm_arn: req(arn),
  event_time: req(timestamp),
};
const kind = (k: string) => req((v) => (v === k ? v : NO));

/** Per kind: the checks, in the zod schema's key order (the output's key order). */
const FIELDS: Record<string, Record<string, Field>> = {
  dispatch: {
    ...BASE,
    kind: kind('dispatch'),
    message_id: req(nullable(str(1))),
    channel: req(channel),
    provider: req(oneOf(Provider.options)),
    recipient: req(str(1)),
    person: opt(str()),
    level: req(int(1)),
    alarm_name: opt(str()),
    severity: opt(oneOf(Severity.options)),
    outcome: req(oneOf(['sent', 'failed'])),
    error_code: opt(str()),
    error_message: opt(str()),
    round: opt(int(0)),
    possible_duplicate: opt(bool),
    resolved_by: opt(resolvedBy),
    notice: opt(oneOf(['ack', 'resolve'])),
    quiet_hours: opt(bool),
    escalate_at: opt(timestamp),
    route: opt(oneOf(Route.options)),
    rerouted: opt(rerouted),
  },
  receipt: {
    ...BASE,
    kind: kind('receipt'),
    provider: req(oneOf(Provider.options)),
    channel: req(channel),
    message_id: req(str(1)),
    dispatch_id: opt(str(4, 128)),
    status: req(oneOf(DeliveryStatus.options)),
    provider_status: req(str(1)),
    recipient: opt(str()),
    error_code: opt(str()),
    error_message: opt(str()),
    raw: opt(str()),
  },
  ack: {
    ...BASE,
    kind: kind('ack'),
    channel: req(channel),
    via: req(oneOf(['sms_reply', 'whatsapp_reply', 'email_link', 'voice_key', 'api', 'console', 'events-v2'])),
    person: opt(str()),
    recipient: opt(str()),
    message_id: opt(str()),
  },
  escalation: {
    ...BASE,
    kind: kind('escalation'),
    reason: req(oneOf(EscalationRecord.shape.reason.options)),
    round: opt(int(0)),
    from_level: req(int(0)),
    to_level: req(int(0)),
    from_channel: opt(channel),
    to_channel: opt(channel),
    message_id: opt(str()),
    person: opt(str()),
    cause: opt(oneOf(['no_receipt'])),
    silence_ms: opt(int(0)),
    maintenance_window: opt(str(1)),
    alarm_event_id: opt(str(1)),
    fallback: opt(oneOf(['team_default', 'global', 'none'])),
    team: opt(str(1)),
    severity: opt(oneOf(Severity.options)),
    severity_tag: opt(str(1, 256)),
    to_route: opt(oneOf(['twilio', 'aws'])),
    by: opt(str(1, 128)),
  },
  deadline: {
    ...BASE,
    kind: kind('deadline'),
    purpose: dflt(oneOf(['level', 'settle', 'delivery']), 'level'),
    dispatch_id: opt(str(1)),
    round: dflt(int(0), 0),
    level: req(int(1)),
    scheduled_at: opt(timestamp),
    late_ms: opt(int(0)),
  },
};

/** The zod schema each kind's checks mirror. */
export const TRUSTED_SCHEMAS = {
  dispatch: DispatchRecord,
  receipt: ReceiptRecord,
  ack: AckRecord,
  escalation: EscalationRecord,
  deadline: DeadlineRecord,
} as const;
export type TrustedKind = keyof typeof TRUSTED_SCHEMAS;

/**
 * The schemas' fingerprints the checks above were written against. Update them (and the checks)
 * together: `trusted-record.test.ts` prints the current ones when they differ.
 */
export const FINGERPRINTS: Record<TrustedKind, string> = {
  dispatch: '54519985d698842e',
  receipt: 'e6e1f822ed1fa5ed',
  ack: '33a739f81f0329a0',
  escalation: '0143fe1a9a7ac476',
  deadline: '6b1ad01972d2ac4f',
};

/** sha256 of a schema's input JSON Schema (types, enums, bounds, required keys and their order). */
export function schemaFingerprint(schema: z.ZodType): string {
  return hash('sha256', JSON.stringify(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' })), 'hex').slice(
    0,
    16,
  );
}

/** Kinds whose schema still has its fingerprint, worked out on first use (~30 ms, once per process). */
let enabled: Set<string> | undefined;
function enabledKinds(): Set<string> {
  enabled ??= new Set(
    Object.entries(TRUSTED_SCHEMAS)
      .filter(([k, s]) => schemaFingerprint(s) === FINGERPRINTS[k as TrustedKind] && sameKeys(k, s))
      .map(([k]) => k),
  );
  return enabled;
}
const sameKeys = (k: string, s: z.ZodObject) => Object.keys(s.shape).join() === Object.keys(FIELDS[k]).join();

/**
 * The decoded record when the fast path can vouch for it (see the module comment), else undefined:
 * then the caller must run the zod schema. Never throws for any JSON value.
 */
export function decodeTrusted(json: unknown): unknown {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const o = json as Record<string, unknown>;
  if (o.v !== SCHEMA_VERSION || typeof o.kind !== 'string') return undefined;
  const fields = FIELDS[o.kind];
  if (fields === undefined || !Object.hasOwn(FIELDS, o.kind) || !enabledKinds().has(o.kind)) return undefined;
  // a key zod would strip or does not know: zod decides
  for (const k in o) if (!Object.hasOwn(fields, k)) return undefined;
  const out: Record<string, unknown> = {};
  for (const k in fields) {
    const f = fields[k];
    const v = o[k];
    if (v === undefined) {
      if (f.fallback) out[k] = f.fallback();
      else if (!f.optional) return undefined;
      continue;
    }
    const r = f.check(v);
    if (r === NO) return undefined;
    out[k] = r;
  }
  return out;
}

/** For tests: turn the fast path off or on (off: every record takes the zod path). */
export function setTrustedDecode(on: boolean): void {
  enabled = on ? undefined : new Set();
}
