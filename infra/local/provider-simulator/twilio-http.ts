/** HTTP pieces shared by the Twilio routes: Basic auth, request records, errors, fetch by sid, list pages. */
import { timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import type { SimContext } from './context.js';
import type { ApiRequestRecord } from './records.js';
import { twilioError, type TwilioError } from './twilio-model.js';

/** Checks `Authorization: Basic AccountSid:AuthToken`. */
export function twilioAuthOk(header: string | undefined, accountSid: string, authToken: string): boolean {
  const m = /^Basic\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return false;
  const expected = Buffer.from(`${accountSid}:${authToken}`);
  const got = Buffer.from(decoded);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

export const twilioErrorResponse = (c: Context, e: TwilioError) =>
  c.json(
    { code: e.code, message: e.message, more_info: `https://www.twilio.com/docs/errors/${e.code}`, status: e.status },
    e.status as 400,
  );

/** Answers an error and records it on the request record. */
export const twilioRejecter =
  (c: Context, record: ApiRequestRecord, onReject?: (e: TwilioError) => void) => (e: TwilioError) => {
    record.status = e.status;
    record.error = { code: e.code, message: e.message };
    record.answeredAt = Date.now();
    onReject?.(e);
    return twilioErrorResponse(c, e);
  };

export const twilioNotFound = (path: string): TwilioError =>
  twilioError(404, 20404, `The requested resource ${path} was not found`);

/**
 * Records a Twilio API request and checks its Basic auth and the account in its path: the record, its
 * path and a `fail` that answers an error, or the 401/404 already answered (`denied`).
 */
export function beginTwilioRequest(ctx: SimContext, c: Context, method: string, extra: Partial<ApiRequestRecord> = {}) {
  const { opts } = ctx;
  const path = new URL(c.req.url).pathname;
  const record = ctx.records.newRequest('twilio', method, path, extra);
  const fail = twilioRejecter(c, record);
  const account = c.req.param('accountSid');
  if (!twilioAuthOk(c.req.header('authorization'), opts.accountSid, opts.twilioAuthToken))
    return { fail, denied: fail(twilioError(401, 20003, 'Authenticate')) };
  if (account !== undefined && account !== opts.accountSid) return { fail, denied: fail(twilioNotFound(path)) };
  return { record, fail, path };
}

/** Answers `body` and completes the request's record. */
export const twilioDone = (c: Context, record: ApiRequestRecord, body: unknown, id?: string, status = 200) => {
  record.status = status;
  if (id) record.id = id;
  record.answeredAt = Date.now();
  return c.json(body, status as 200);
};

/** `GET …/{Sid}.json` (route parameter `file`): what `find` has for the sid, as `json`; else Twilio's 404. */
export function twilioFetch<T extends { sid: string }>(
  ctx: SimContext,
  c: Context,
  find: (sid: string) => T | undefined,
  json: (item: T) => unknown,
) {
  const r = beginTwilioRequest(ctx, c, 'GET');
  if (r.denied) return r.denied;
  const item = find((c.req.param('file') ?? '').replace(/\.json$/, ''));
  return item ? twilioDone(c, r.record, json(item), item.sid) : r.fail(twilioNotFound(r.path));
}

/** The list's `PageSize` (1..1000, default `def`), or Twilio's 400. */
export function pageSizeOf(q: URLSearchParams, def: number): number | TwilioError {
  const pageSize = q.has('PageSize') ? Number(q.get('PageSize')) : def;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000)
    return twilioError(400, 20001, `Invalid PageSize ${q.get('PageSize')}`);
  return pageSize;
}

/**
 * One page of `list` in the 2010 API's list shape, the items under `key`: page `Page`, or after the item
 * `PageToken` names (`PA<sid>`, what `next_page_uri` hands out); the page URIs keep the other parameters.
 * Twilio's 400 for a token of no item.
 */
export function twilioPage<T extends { sid: string }>(
  q: URLSearchParams,
  list: T[],
  pageSize: number,
  base: string,
  key: string,
  json: (item: T) => unknown,
): { body: Record<string, unknown>; count: number } | { error: TwilioError } {
  const page = Math.max(0, Number(q.get('Page') ?? 0) || 0);
  const token = q.get('PageToken');
  let start = page * pageSize;
  if (token) {
    const after = list.findIndex((item) => `PA${item.sid}` === token);
    if (after < 0) return { error: twilioError(400, 20001, `Invalid PageToken ${token}`) };
    start = after + 1;
  }
  const items = list.slice(start, start + pageSize);
  const filterParams = new URLSearchParams([...q].filter(([k]) => !['Page', 'PageSize', 'PageToken'].includes(k)));
  const uriOf = (p: number, tok?: string) => {
    const sp = new URLSearchParams(filterParams);
    sp.set('PageSize', String(pageSize));
    sp.set('Page', String(p));
    if (tok) sp.set('PageToken', tok);
    return `${base}?${sp}`;
  };
  const more = start + items.length < list.length;
  const body = {
    end: start + Math.max(items.length, 1) - 1,
    first_page_uri: uriOf(0),
    [key]: items.map(json),
    next_page_uri: more ? uriOf(page + 1, `PA${items[items.length - 1].sid}`) : null,
    page,
    page_size: pageSize,
    previous_page_uri: page > 0 ? uriOf(page - 1) : null,
    start,
    uri: uriOf(page, token ?? undefined),
  };
  return { body, count: items.length };
}
