/**
 * `GET …/Messages.json`: Twilio's message list (To, From, DateSent filters; newest first, unsent first;
 * PageSize / Page / PageToken paging in Twilio's page shape).
 */
import type { SimApp, SimContext } from './context.js';
import { beginTwilioRequest, pageSizeOf, twilioDone, twilioPage } from './twilio-http.js';
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
  app.get(`/${API_VERSION}/Accounts/:accountSid/Messages.json`, (c) => {
    const q = new URL(c.req.url).searchParams;
    const r = beginTwilioRequest(ctx, c, 'GET', { query: Object.fromEntries(q) });
    if (r.denied) return r.denied;
    const pageSize = pageSizeOf(q, 50);
    if (typeof pageSize !== 'number') return r.fail(pageSize);
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
      const range = dateRange(v);
      if (!range) return r.fail(twilioError(400, 20001, `Invalid ${key} value ${v}`));
      filters.push((m) => m.dateSent !== null && test(m.dateSent.getTime(), range));
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
    const base = `/${API_VERSION}/Accounts/${ctx.opts.accountSid}/Messages.json`;
    const list = all.map(({ m }) => m);
    const page = twilioPage(q, list, pageSize, base, 'messages', messageJson);
    if ('error' in page) return r.fail(page.error);
    r.record.count = page.count;
    return twilioDone(c, r.record, page.body);
  });
}
