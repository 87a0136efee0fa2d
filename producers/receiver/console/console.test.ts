import { describe, expect, it } from 'vitest';
import { dynaliteForFile } from '../../../test/helpers/dynalite.js';
import { MemoryIncidents, consoleTestApp, createAuthTable, incidentState } from '../api/testing.js';
import { MemoryLake } from '../api/lake.fixtures.js';
import type { LakeIncidentSummary } from '../api/lake.js';
import { summaryOfRow, type PageFact } from '../../../analysis/report/data.js';
import { BILLING, PEOPLE } from '../../../analysis/report/timeline.fixtures.js';
import { buildTimeline } from '../../../analysis/report/timeline.js';

/**
 * The console's pages in-process (hono `app.request`) against a dynalite auth table and an in-memory paging state:
 * no session → the sign-in page, the open incidents with each page's delivery, the actions by form (CSRF refused,
 * 303 back with a message, 409 and 403 in words), the live stream (an update when the state changes, ended by
 * sign-out), the on-call calendar with its override, the lake's analytics for a range.
 */
const T0 = Date.parse('2026-12-07T03:00:00.000Z');
const local = dynaliteForFile();
let tables = 0;

async function setup(lake?: MemoryLake) {
  const table = `console-ui-${++tables}`;
  await createAuthTable(local.dynamodb, table);
  const clock = { now: T0 };
  const open = incidentState('inc_app_open_000001', { team: 'app', openedAt: T0 - 60_000 });
  const incidents = new MemoryIncidents([
    open,
    incidentState('inc_app_acked_00002', {
      team: 'app',
      openedAt: T0 - 120_000,
      ackedAt: T0 - 90_000,
      ackedBy: 'alice',
    }),
    incidentState('inc_app_resolved_03', { team: 'app', openedAt: T0 - 180_000, resolvedAt: T0 - 100_000 }),
    incidentState('inc_db_open_0000004', { team: 'db', openedAt: T0 - 30_000 }),
  ]);
  const env = consoleTestApp({
    dynamodb: local.dynamodb,
    table,
    incidents,
    now: () => clock.now,
    ui: { livePollMs: 20 },
    lake,
  });
  return { ...env, clock, open };
}
type Env = Awaited<ReturnType<typeof setup>>;

const formOf = (fields: Record<string, string>, cookie?: string, extra: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}), ...extra },
  body: new URLSearchParams(fields).toString(),
});

async function signIn(env: Env, email: string): Promise<{ cookie: string; csrf: string }> {
  const mail = env.mailbox.next();
  await env.app.request('/console/sign-in', formOf({ email }));
  const token = new URL((await mail).link).searchParams.get('token')!;
  const verified = await env.app.request('/console/sign-in/verify', formOf({ token }));
  const cookie = verified.headers.get('set-cookie')!.split(';')[0];
  const page = await (await env.app.request('/console/', { headers: { cookie } })).text();
  return { cookie, csrf: /name="csrf" value="([^"]+)"/.exec(page)![1] };
}

/** Reads the SSE stream until an event named `name` arrives: its data. */
async function nextEvent(reader: ReadableStreamDefaultReader<Uint8Array>, buf: { text: string }, name: string) {
  const dec = new TextDecoder();
  for (;;) {
    const events = buf.text.split('\n\n');
    for (let i = 0; i < events.length - 1; i++) {
      const ev = events[i];
      if (ev.startsWith(`event: ${name}\n`)) {
        buf.text = events.slice(i + 1).join('\n\n');
        return ev
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .join('\n');
      }
    }
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before "${name}"`);
    buf.text += dec.decode(value, { stream: true });
  }
}

describe('the console without a session', () => {
  it('sends every page and action to the sign-in page (303) and writes nothing', async () => {
    const env = await setup();
    for (const [method, url] of [
      ['GET', '/console/'],
      ['GET', '/console/incidents/inc_app_open_000001'],
      ['GET', '/console/oncall'],
      ['GET', '/console/analytics'],
      ['GET', '/console/events'],
      ['POST', '/console/incidents/inc_app_open_000001/acknowledge'],
    ]) {
      const res = await env.app.request(url, method === 'POST' ? formOf({ csrf: 'x' }) : {});
      expect(res.status, `${method} ${url}`).toBe(303);
      expect(res.headers.get('location')).toBe('/console/sign-in');
    }
    const forged = await env.app.request('/console/', { headers: { cookie: 'pagetrail_session=abc.def' } });
    expect(forged.status).toBe(303);
    expect(env.producer.records).toEqual([]);
  });
});

describe('open incidents and an incident page', () => {
  it('lists the open incidents (not the resolved one) with severity, level, who is paged and delivery', async () => {
    const env = await setup();
    const { cookie } = await signIn(env, 'alice@example.com');
    const res = await env.app.request('/console/', { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await res.text();
    expect(html).toContain('3 open incidents');
    expect(html).not.toContain('inc_app_resolved_03');
    expect(html).toContain('data-incident="inc_db_open_0000004"');
    expect(html).toMatch(/<span class="pill sev-P1">P1<\/span> <span class="pill st-open">open<\/span>/);
    expect(html).toContain('<strong>Alice Ng</strong> · SMS · level 1');
    expect(html).toContain('aria-label="delivery: delivered"');
    expect(html).toContain('acknowledged: escalation stopped');
    expect(html).toMatch(/<meta name="viewport" content="width=device-width, initial-scale=1">/);
  });

  it('acknowledges by form: CSRF first, then 303 back with a message; a second time is a 409 in words', async () => {
    const env = await setup();
    const { cookie, csrf } = await signIn(env, 'alice@example.com');
    const url = '/console/incidents/inc_app_open_000001/acknowledge';

    const missing = await env.app.request(url, formOf({}, cookie));
    expect(missing.status).toBe(403);
    expect(await missing.text()).toContain('CSRF check failed): nothing was changed');
    expect((await env.app.request(url, formOf({ csrf: `${csrf}x` }, cookie))).status).toBe(403);
    const crossSite = await env.app.request(url, formOf({ csrf }, cookie, { origin: 'https://evil.example' }));
    expect(crossSite.status).toBe(403);
    expect(env.producer.records).toEqual([]);

    const ok = await env.app.request(url, formOf({ csrf }, cookie));
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/console/incidents/inc_app_open_000001?done=acknowledge');
    expect(env.producer.records).toMatchObject([
      { kind: 'ack', incident_id: 'inc_app_open_000001', via: 'console', person: 'alice' },
    ]);
    const back = await (await env.app.request(ok.headers.get('location')!, { headers: { cookie } })).text();
    expect(back).toContain('role="status">Acknowledged. The escalation stops');

    // the paging state has it now: acknowledging again is refused in words
    const s = env.incidents.states.find((x) => x.incidentId === 'inc_app_open_000001')!;
    Object.assign(s, { ackedAt: T0, ackedBy: 'alice' });
    const again = await env.app.request(url, formOf({ csrf }, cookie));
    expect(again.status).toBe(409);
    const text = await again.text();
    expect(text).toContain('role="alert">Not done: incident inc_app_open_000001 was already acknowledged by alice');
    expect(text).not.toContain('>Acknowledge</button>');
  });

  it('resolves and adds notes; a resolved incident is a 409, another team is a 403, an empty note a 400', async () => {
    const env = await setup();
    const { cookie, csrf } = await signIn(env, 'alice@example.com');
    const post = (id: string, what: string, fields: Record<string, string> = {}) =>
      env.app.request(`/console/incidents/${id}/${what}`, formOf({ csrf, ...fields }, cookie));

    const resolved = await post('inc_app_resolved_03', 'resolve');
    expect(resolved.status).toBe(409);
    expect(await resolved.text()).toContain('was already resolved at 2026-12-07T02:58:20Z');
    const other = await post('inc_db_open_0000004', 'acknowledge');
    expect(other.status).toBe(403);
    expect(await other.text()).toContain('alice may not acknowledge team &quot;db&quot;&#39;s incidents');
    expect((await post('inc_app_open_000001', 'notes', { note: '   ' })).status).toBe(400);
    expect((await post('inc_nope_00000000', 'resolve')).status).toBe(404);

    expect((await post('inc_app_open_000001', 'notes', { note: 'disk full on db-2' })).status).toBe(303);
    const done = await post('inc_app_open_000001', 'resolve', { note: 'freed space' });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/console/incidents/inc_app_open_000001?done=resolve');
    expect(env.producer.records).toMatchObject([
      { kind: 'action', action: 'note', via: 'console', person: 'alice', note: 'disk full on db-2' },
      { kind: 'action', action: 'resolve', via: 'console', person: 'alice', note: 'freed space' },
    ]);
  });

  it('escalates, reassigns and snoozes by form (via console); unknown person 400, resolved incident 409', async () => {
    const env = await setup();
    const { cookie, csrf } = await signIn(env, 'alice@example.com');
    const post = (id: string, what: string, fields: Record<string, string> = {}) =>
      env.app.request(`/console/incidents/${id}/${what}`, formOf({ csrf, ...fields }, cookie));
    const page = await (
      await env.app.request('/console/incidents/inc_app_open_000001', { headers: { cookie } })
    ).text();
    expect(page).toContain('<option value="bob">Bob Diaz</option>');
    expect(page).not.toContain('<option value="alice">');
    expect(page).toContain('<label for="snooze-min">Snooze for</label>');

    expect((await post('inc_app_open_000001', 'escalate')).headers.get('location')).toMatch(/\?done=escalate$/);
    expect((await post('inc_app_open_000001', 'reassign', { person: 'bob' })).status).toBe(303);
    expect((await post('inc_app_open_000001', 'snooze', { minutes: '30' })).status).toBe(303);
    const unknown = await post('inc_app_open_000001', 'reassign', { person: 'mallory' });
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('mallory is not a person in the on-call file');
    expect((await post('inc_app_open_000001', 'snooze', { minutes: '3' })).status).toBe(400);
    const resolved = await post('inc_app_resolved_03', 'escalate');
    expect(resolved.status).toBe(409);
    expect(await resolved.text()).toContain('was resolved at 2026-12-07T02:58:20Z: there is nothing to escalate');
    expect(env.producer.records).toMatchObject([
      { kind: 'action', action: 'escalate', via: 'console', person: 'alice', from_level: 1 },
      { kind: 'action', action: 'reassign', via: 'console', person: 'alice', to_person: 'bob' },
      { kind: 'action', action: 'snooze', via: 'console', person: 'alice', minutes: 30 },
    ]);
  });

  it('renders an incident page whose every control has a label, and 404 for an unknown one', async () => {
    const env = await setup();
    const { cookie } = await signIn(env, 'alice@example.com');
    const html = await (
      await env.app.request('/console/incidents/inc_app_open_000001', { headers: { cookie } })
    ).text();
    expect(html).toContain('<button type="submit">Acknowledge</button>');
    expect(html).toContain('paged Alice Ng (level 1) by SMS → delivered');
    for (const m of html.matchAll(/<(input|textarea|select)\b[^>]*>/g)) {
      if (/type="hidden"/.test(m[0])) continue;
      const id = /id="([^"]+)"/.exec(m[0])?.[1];
      expect(id && html.includes(`<label for="${id}">`), m[0]).toBe(true);
    }
    const none = await env.app.request('/console/incidents/inc_none_0000000', { headers: { cookie } });
    expect(none.status).toBe(404);
  });
});

describe('live updates', () => {
  it('sends the list at once, again when a page is delivered and opened, and ends the stream on sign-out', async () => {
    const env = await setup();
    const { cookie, csrf } = await signIn(env, 'alice@example.com');
    const s = env.open;
    Object.values(s.pages)[0].status = 'sent';
    const res = await env.app.request('/console/events', { headers: { cookie } });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    const buf = { text: '' };
    const first = JSON.parse(await nextEvent(reader, buf, 'update')).html as string;
    expect(first).toContain('aria-label="delivery: sent"');

    Object.values(s.pages)[0].status = 'opened';
    const second = JSON.parse(await nextEvent(reader, buf, 'update')).html as string;
    expect(second).toContain('aria-label="delivery: opened"');

    await env.app.request('/console/sign-out', formOf({ csrf }, cookie));
    expect(JSON.parse(await nextEvent(reader, buf, 'signed-out'))).toEqual({ why: 'signed-out' });
    expect((await reader.read()).done).toBe(true);
  });

  it("streams one incident's fragment, and refuses a malformed incident id", async () => {
    const env = await setup();
    const { cookie } = await signIn(env, 'alice@example.com');
    const bad = await env.app.request('/console/events?incident=%3Cscript%3E', { headers: { cookie } });
    expect(bad.status).toBe(400);
    const res = await env.app.request('/console/events?incident=inc_db_open_0000004', { headers: { cookie } });
    const reader = res.body!.getReader();
    const html = JSON.parse(await nextEvent(reader, { text: '' }, 'update')).html as string;
    expect(html).toContain('<h2 id="pages-h">Pages</h2>');
    expect(html).toContain('team db');
    await reader.cancel();
  });
});

describe('on call and analytics', () => {
  it('shows who is on call now and two weeks of shifts per schedule, the override marked', async () => {
    const env = await setup();
    const { cookie } = await signIn(env, 'bob@example.com');
    const html = await (await env.app.request('/console/oncall', { headers: { cookie } })).text();
    expect(html).toMatch(/<strong>app-primary<\/strong>: Alice Ng <span class="muted">\(layer weekly\)/);
    expect(html).toContain('Ada Admin <span class="muted">(<strong>override</strong>)');
    expect(html).toContain('<dt>Mon 14 Dec</dt>');
    expect(html).toContain('Bob Diaz');
  });

  /** Two app incidents of 2026-12-05 in the lake, their SMS and email pages, one acknowledged after 45 s. */
  const at = (h: number) => Date.parse('2026-12-05T00:00:00Z') + h * 3_600_000;
  const inc = (id: string, opened: number, ackedAfterS?: number): LakeIncidentSummary => ({
    incident_id: id,
    alarm_name: `${id}-cpu`,
    severity: 'P1',
    team: 'app',
    opened_at: opened,
    ...(ackedAfterS !== undefined
      ? { acknowledged_at: opened + ackedAfterS * 1000, acknowledged_by: 'alice', resolved_at: opened + 600_000 }
      : {}),
    pages: 2,
    notices: 0,
    failed_deliveries: 0,
    silent_failovers: 0,
  });
  const page = (id: string, sent: number, channel: string, deliveredS?: number, ackedS?: number): PageFact => ({
    incident_id: id,
    message_id: `${id}-${channel}`,
    channel,
    person: 'alice',
    severity: 'P1',
    level: 1,
    sent_at: sent,
    ...(deliveredS !== undefined ? { delivered_at: sent + deliveredS * 1000 } : {}),
    ...(ackedS !== undefined ? { acked_at: sent + ackedS * 1000 } : {}),
  });
  const lakeOf = () =>
    new MemoryLake({ asOf: T0 - 26_000, now: T0 }, [], [inc('inc_a', at(1), 45), inc('inc_b', at(5))], {
      pages: [
        page('inc_a', at(1) + 1000, 'sms', 3, 44),
        page('inc_a', at(1) + 1000, 'email', 6),
        page('inc_b', at(5) + 1000, 'sms', 4),
        page('inc_b', at(5) + 1000, 'email'),
      ],
      failures: [],
    });

  it('draws the lake’s funnel, percentiles and MTTA for a range by the report’s charts, and its age', async () => {
    const env = await setup(lakeOf());
    const { cookie } = await signIn(env, 'vera@example.com');
    const res = await env.app.request('/console/analytics?from=2026-12-01&to=2026-12-07', { headers: { cookie } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<input id="from" name="from" type="date" value="2026-12-01">');
    expect(html).toContain('<input id="to" name="to" type="date" value="2026-12-07">');
    expect(html).toContain('<strong>2</strong> incidents, <strong>4</strong> pages, 0 failed');
    expect(html).toContain('lake data as of 02:59:34 UTC, 26 s ago (duckdb)');
    // the report's own sections: charts as inline SVG (with their accessible names), in boxes a phone scrolls
    for (const id of ['funnel', 'latency', 'mtta']) expect(html).toContain(`<section id="${id}">`);
    expect(html).toMatch(/<div class="scroll" tabindex="0" role="group" aria-label="delivery funnel chart">/);
    expect(html).toContain(
      '<figure class="chart" role="img" aria-label="delivery funnel per channel"><svg aria-hidden="true"',
    );
    expect(html).toContain('aria-label="mean time to acknowledge per team"');
    // MTTA: one acknowledged incident of two, 45 s
    expect(html).toMatch(/<table id="mtta-table">.*<td>app<\/td><td class="num">2<\/td><td class="num">1<\/td>/s);
    expect(html).toContain('make report FROM=2026-12-01T00:00:00Z TO=2026-12-07T00:00:00Z');
    // a range without those incidents
    const empty = await (
      await env.app.request('/console/analytics?from=2026-11-01&to=2026-11-08', { headers: { cookie } })
    ).text();
    expect(empty).toContain('<strong>0</strong> incidents');
    expect(empty).toContain('No page sent in this range.');
  });

  it('a bad range says why and shows the last 7 days; the lake down says so (200, never a 500)', async () => {
    const lake = lakeOf();
    const env = await setup(lake);
    const { cookie } = await signIn(env, 'vera@example.com');
    const get = async (q: string) => env.app.request(`/console/analytics${q}`, { headers: { cookie } });
    const backwards = await (await get('?from=2026-12-07&to=2026-12-01')).text();
    expect(backwards).toContain('The “to” day must be after the “from” day. Showing the last 7 days.');
    expect(backwards).toContain('value="2026-12-01"'); // the default: 7 UTC days up to the end of today
    expect(backwards).toContain('value="2026-12-08"');
    expect(await (await get('?from=2026-01-01&to=2026-12-01')).text()).toContain('At most 92 days at once.');
    expect(await (await get('?from=yesterday&to=2026-12-01')).text()).toContain('Give both days as dates');
    lake.state = 'down';
    const down = await get('?from=2026-12-01&to=2026-12-07');
    expect(down.status).toBe(200);
    expect(await down.text()).toContain(
      'No analytics: S3 unreachable, and the local lake cache has no copy to answer from. Try again in a moment.',
    );
  });

  it('a receiver with no lake says so', async () => {
    const env = await setup();
    const { cookie } = await signIn(env, 'vera@example.com');
    const html = await (await env.app.request('/console/analytics', { headers: { cookie } })).text();
    expect(html).toContain('This receiver reads no lake: no analytics here.');
  });
});

describe('an incident’s timeline chart and verdicts, from the lake', () => {
  /** The billing-db story of the timeline fixtures (bob never opened; escalated to carol, who acked), in the lake. */
  const billing = () =>
    new MemoryLake(
      { asOf: T0 - 26_000, now: T0 },
      [{ summary: summaryOfRow(BILLING.incident, 'db'), timeline: buildTimeline(BILLING, PEOPLE) }],
      [],
    );

  it('the incident page links them; the fragment and a page of their own draw the report’s chart', async () => {
    const env = await setup(billing());
    const { cookie } = await signIn(env, 'alice@example.com');
    const get = async (path: string) => env.app.request(path, { headers: { cookie } });
    const page = await (await get('/console/incidents/inc_app_open_000001')).text();
    // the page itself does not wait for the lake: its script fetches the fragment, its link works without one
    expect(page).toContain('data-history="/console/incidents/inc_app_open_000001/history?part=1"');
    expect(page).toContain('<a href="/console/incidents/inc_app_open_000001/history">');
    const part = await get('/console/incidents/inc_b/history?part=1');
    expect(part.status).toBe(200);
    expect(part.headers.get('content-security-policy')).toContain("default-src 'none'");
    const fragment = await part.text();
    expect(fragment).not.toContain('<html');
    expect(fragment).toContain('lake data as of 02:59:34 UTC, 26 s ago (duckdb)');
    // the report's verdict cards (bob never opened his page before it escalated) and its timeline chart, boxed
    expect(fragment).toMatch(/data-verdict-name="first_responder_opened_before_escalation">.*data-verdict="no[^"]*"/s);
    expect(fragment).toContain('<section id="timeline-chart">');
    expect(fragment).toContain('<div class="scroll" tabindex="0" role="group" aria-label="timeline chart">');
    const own = await (await get('/console/incidents/inc_b/history')).text();
    expect(own).toContain('<html');
    expect(own).toContain('<a href="/console/incidents/inc_b">← the incident</a>');
    expect(own).toContain('<section id="verdicts">');
  });

  it('not in the lake yet, the lake down, no lake: said in words, 200 (never a 500)', async () => {
    const lake = billing();
    const env = await setup(lake);
    const { cookie } = await signIn(env, 'alice@example.com');
    const get = async (id: string) =>
      env.app.request(`/console/incidents/${id}/history?part=1`, { headers: { cookie } });
    const fresh = await get('inc_app_open_000001');
    expect(fresh.status).toBe(200);
    expect(await fresh.text()).toContain('The lake has nothing of this incident yet');
    lake.state = 'down';
    const down = await get('inc_b');
    expect(down.status).toBe(200);
    expect(await down.text()).toContain('The lake could not be read: S3 unreachable');
    const none = await setup();
    const signedIn = await signIn(none, 'alice@example.com');
    const html = await (
      await none.app.request('/console/incidents/inc_b/history?part=1', { headers: { cookie: signedIn.cookie } })
    ).text();
    expect(html).toContain('This receiver reads no lake');
  });
});
