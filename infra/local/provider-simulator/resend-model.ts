/** Resend's email resource, its errors and request checks, as the live API answers them. */
import { timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import type { SimContext } from './context.js';
import type { ApiRequestRecord } from './records.js';

export interface ResendErrorBody {
  statusCode: number;
  name: string;
  message: string;
}
export const resendError = (statusCode: number, name: string, message: string): ResendErrorBody => ({
  statusCode,
  name,
  message,
});

/** Error names of the statuses a one-shot fault can answer (others: `application_error`). */
export const RESEND_ERROR_NAMES: Record<number, string> = { 429: 'rate_limit_exceeded', 500: 'internal_server_error' };

const EMAIL = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;
const validAddress = (s: string) => {
  const m = /^(?:[^<>]*<\s*([^<>]+?)\s*>|\s*([^<>\s]+)\s*)$/.exec(s);
  const addr = m?.[1] ?? m?.[2];
  return !!addr && EMAIL.test(addr);
};
const TAG_RE = /^[A-Za-z0-9_-]{1,256}$/;

/** Resend's data.created_at style: `2024-02-22T23:41:11.894719+00:00`. */
export const pgTimestamp = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');

export interface Email {
  id: string;
  from: string;
  to: string[];
  subject: string;
  html?: string;
  text?: string;
  cc?: string[];
  bcc?: string[];
  replyTo?: string[];
  tags: Record<string, string>;
  createdAt: Date;
  lastEvent: string;
}

/** A field that may be one address or a list. */
export const asList = (v: unknown): string[] | undefined =>
  v === undefined || v === null ? undefined : Array.isArray(v) ? v.map(String) : [String(v)];

/** The `GET /emails/{id}` answer. */
export function emailJson(e: Email) {
  return {
    object: 'email',
    id: e.id,
    to: e.to,
    from: e.from,
    created_at: pgTimestamp(e.createdAt),
    subject: e.subject,
    html: e.html ?? null,
    text: e.text ?? null,
    bcc: e.bcc ?? null,
    cc: e.cc ?? null,
    reply_to: e.replyTo ?? null,
    last_event: e.lastEvent,
    tags: Object.entries(e.tags).map(([name, value]) => ({ name, value })),
  };
}

export function validateEmail(b: Record<string, unknown>): ResendErrorBody | undefined {
  for (const f of ['from', 'to', 'subject'] as const) {
    if (b[f] === undefined || b[f] === null || b[f] === '')
      return resendError(422, 'missing_required_field', `Missing \`${f}\` field.`);
  }
  if (typeof b.from !== 'string' || !validAddress(b.from)) {
    return resendError(
      422,
      'validation_error',
      'Invalid `from` field. ' +
        'The email address needs to follow the `email@example.com` or `Name <email@example.com>` format.',
    );
  }
  const to = asList(b.to)!;
  if (to.length === 0) return resendError(422, 'missing_required_field', 'Missing `to` field.');
  if (to.length > 50)
    return resendError(422, 'validation_error', 'Too many recipients in the `to` field: the maximum is 50.');
  for (const [field, list] of [
    ['to', to],
    ['cc', asList(b.cc)],
    ['bcc', asList(b.bcc)],
    ['reply_to', asList(b.reply_to)],
  ] as const) {
    for (const a of list ?? []) {
      if (!validAddress(a))
        return resendError(
          422,
          'validation_error',
          `Invalid \`${field}\` field. ` +
            `The email address needs to follow the \`email@example.com\` or \`Name <email@example.com>\` format.`,
        );
    }
  }
  if (!b.html && !b.text && !b.template) return resendError(422, 'validation_error', 'Missing `html` or `text` field.');
  if (b.tags !== undefined) {
    if (!Array.isArray(b.tags))
      return resendError(422, 'validation_error', 'The `tags` field must be an array of `{ name, value }` objects.');
    for (const t of b.tags as { name?: unknown; value?: unknown }[]) {
      if (
        typeof t?.name !== 'string' ||
        !TAG_RE.test(t.name) ||
        (t.value !== undefined && (typeof t.value !== 'string' || !TAG_RE.test(t.value)))
      ) {
        return resendError(
          422,
          'validation_error',
          'Tags should only contain ASCII letters, numbers, underscores, or dashes.',
        );
      }
    }
  }
  return undefined;
}

/** Checks `Authorization: Bearer <apiKey>`; the error Resend answers otherwise. */
export function resendAuth(header: string | undefined, apiKey: string): ResendErrorBody | undefined {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) {
    return resendError(
      401,
      'missing_api_key',
      'Missing API key in the authorization header. ' +
        'Include the following header Authorization: Bearer YOUR_API_KEY in the request.',
    );
  }
  const got = Buffer.from(m[1].trim());
  const expected = Buffer.from(apiKey);
  if (got.length !== expected.length || !timingSafeEqual(got, expected))
    return resendError(403, 'invalid_api_key', 'API key is invalid');
  return undefined;
}

/**
 * Records a Resend API request and checks its API key: the record, a `fail` that answers an error (recorded
 * and logged), and that answer already given when the key is wrong (`denied`).
 */
export function beginResendRequest(ctx: SimContext, c: Context, method: string, extra: Partial<ApiRequestRecord> = {}) {
  const path = new URL(c.req.url).pathname;
  const record = ctx.records.newRequest('resend', method, path, extra);
  const fail = (e: ResendErrorBody) => {
    record.status = e.statusCode;
    record.error = { code: e.name, message: e.message };
    record.answeredAt = Date.now();
    ctx.log.info({ api: 'resend', path, status: e.statusCode, name: e.name }, 'api request rejected');
    return c.json(e, e.statusCode as 400);
  };
  const authErr = resendAuth(c.req.header('authorization'), ctx.opts.resendApiKey);
  return { record, fail, denied: authErr ? fail(authErr) : undefined };
}
