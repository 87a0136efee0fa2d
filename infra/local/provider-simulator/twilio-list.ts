/**
 * `GET …/Messages.json`: Twilio's message list (To, From, DateSent filters; newest first, unsent first;
 * PageSize / Page / PageToken paging in Twilio's page shape).
 */
import type { SimApp, SimContext } from './context.js';
import { twilioAuthOk, twilioRejecter } from './twilio-http.js';
import { API_VERSION, messageJson, twilioError, type TwilioMessage } from './twilio-model.js';

/** A DateSent filter value: a date-only value covers the whole UTC day; else second precision. */
function dateRange(v: string): { from: number; to: number } | undefined {
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) {
    const from = Date.parse(`${v}T00:00:00Z`);
    return Number.isNaN(from) ? undefined : { from, to: from + 86_400_000 - 1 };
  }
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  const s = Math.floor(t / 1000) * 1000;
  return { from: s, to: s + 999 };
}

export function registerTwilioList(app: SimApp, ctx: SimContext) {
  const { opts } = ctx;
  app.get(`/${API_VERSION}/Accounts/:accountSid/Messages.json`, (c) => {
    const u = new URL(c.req.url);
    const q = u.searchParams;
    const record = ctx.records.newRequest('twilio', 'GET', u.pathname, { query: Object.fromEntries(q) });
    const fail = twilioRejecter(c, record);
    if (!twilioAuthOk(c.req.header('authorization'), opts.accountSid, opts.twilioAuthToken))
      return fail(twilioError(401, 20003, 'Authenticate'));
    if (c.req.param('accountSid') !== opts.accountSid)
      return fail(twilioError(404, 20404, `The requested resource ${u.pathname} was not found`));
    const pageSize = q.has('PageSize') ? Number(q.get('PageSize')) : 50;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000)
      return fail(twilioError(400, 20001, `Invalid PageSize ${q.get('PageSize')}`));
    const filters: ((m: TwilioMessage) => boolean)[] = [];
    if (q.get('To')) filters.push((m) => m.to === q.get('To'));
    if (q.get('From')) filters.push((m) => (m.from ?? m.sender) === q.get('From'));
    for (const [key, test] of [
      ['DateSent', (t: number, r: { from: number; to: number }) => t >= r.from && t <= r.to],
      ['DateSent>', (t: number, r: { from: number }) => t >= r.from],
      ['DateSent<', (t: number, r: { to: number }) => t <= r.to],
    ] as const) {
      const v = q.get(key);
      if (v === null) continue;
      const r = dateRange(v);
      if (!r) return fail(twilioError(400, 20001, `Invalid ${key} value ${v}`));
      filters.push((m) => m.dateSent !== null && test(m.dateSent.getTime(), r));
    }
    // Newest first: not yet sent (no date_sent) first, then by date_sent, then by creation (insertion order breaks
    // ties).
    const all = [...ctx.twilio.messages.values()]
      .map((m, i) => ({ m, i }))
      .filter(({ m }) => filters.every((f) => f(m)));
    all.sort((a, b) => {
      const as = a.m.dateSent?.getTime() ?? Infinity;
      const bs = b.m.dateSent?.getTime() ?? Infinity;
      if (as !== bs) return bs - as;
      return b.m.dateCreated.getTime() - a.m.dateCreated.getTime() || b.i - a.i;
    });
    const list = all.map(({ m }) => m);
    const page = Math.max(0, Number(q.get('Page') ?? 0) || 0);
    const token = q.get('PageToken');
    let start = page * pageSize;
    if (token) {
      const after = list.findIndex((m) => `PA${m.sid}` === token);
      if (after < 0) return fail(twilioError(400, 20001, `Invalid PageToken ${token}`));
      start = after + 1;
    }
    const items = list.slice(start, start + pageSize);
    const base = `/${API_VERSION}/Accounts/${opts.accountSid}/Messages.json`;
    const filterParams = new URLSearchParams([...q].filter(([k]) => !['Page', 'PageSize', 'PageToken'].includes(k)));
    const uriOf = (p: number, tok?: string) => {
      const sp = new URLSearchParams(filterParams);
      sp.set('PageSize', String(pageSize));
      sp.set('Page', String(p));
      if (tok) sp.set('PageToken', tok);
      return `${base}?${sp}`;
    };
    const more = start + items.length < list.length;
    record.status = 200;
    record.count = items.length;
    record.answeredAt = Date.now();
    return c.json({
      end: start + Math.max(items.length, 1) - 1,
      first_page_uri: uriOf(0),
      messages: items.map(messageJson),
      next_page_uri: more ? uriOf(page + 1, `PA${items[items.length - 1].sid}`) : null,
      page,
      page_size: pageSize,
      previous_page_uri: page > 0 ? uriOf(page - 1) : null,
      start,
      uri: uriOf(page, token ?? undefined),
    });
  });
}
