import { describe, expect, it } from 'vitest';
import { dynaliteForFile } from '../../../test/helpers/dynalite.js';
import type { z } from 'zod';
import { StreamRecord } from '../../../schemas/envelope.js';
import { API_ROUTES, openApiDocument } from './openapi.js';
import {
  CONSOLE_ONCALL,
  MemoryIncidents,
  SESSION_SECRET,
  consoleTestApp,
  createAuthTable,
  incidentState,
} from './testing.js';
import { signSession } from '../auth/session.js';

/**
 * The incident API and the console's sign-in, in-process against a dynalite auth table: the emailed-link sign-in
 * end to end, the auth failure table, and every route's answers against the schemas the OpenAPI document is made of.
 */
const T0 = Date.parse('2026-12-07T03:00:00.000Z');
const local = dynaliteForFile();
let tables = 0;

/** A fresh app: its own table, incidents in app (open, acked, resolved) and db (open), a clock the test moves. */
async function setup(
  opts: { publicBaseUrl?: string; signInLimits?: { perEmail: number; perIp: number; windowMs: number } } = {},
) {
  const table = `console-api-${++tables}`;
  await createAuthTable(local.dynamodb, table);
  const clock = { now: T0 };
  const incidents = new MemoryIncidents([
    incidentState('inc_app_open_000001', { team: 'app', openedAt: T0 - 60_000 }),
    incidentState('inc_app_acked_00002', {
      team: 'app',
      openedAt: T0 - 120_000,
      ackedAt: T0 - 90_000,
      ackedBy: 'alice',
    }),
    incidentState('inc_app_resolved_03', { team: 'app', openedAt: T0 - 180_000, resolvedAt: T0 - 100_000 }),
    incidentState('inc_db_open_0000004', { team: 'db', openedAt: T0 - 30_000 }),
  ]);
  const env = consoleTestApp({ dynamodb: local.dynamodb, table, incidents, now: () => clock.now, ...opts });
  return { ...env, clock };
}
type Env = Awaited<ReturnType<typeof setup>>;

const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});

/** Signs `email`'s person in through the mailed link: the session cookie and its CSRF token. */
async function signIn(env: Env, email: string): Promise<{ cookie: string; csrf: string }> {
  const mail = env.mailbox.next();
  const asked = await env.app.request('/console/sign-in', form({ email }));
  expect(asked.status).toBe(200);
  const link = new URL((await mail).link);
  const token = link.searchParams.get('token')!;
  const verified = await env.app.request('/console/sign-in/verify', form({ token }));
  expect(verified.status).toBe(200);
  const cookie = verified.headers.get('set-cookie')!.split(';')[0];
  const me = await env.app.request('/api/v1/me', { headers: { cookie } });
  return { cookie, csrf: ((await me.json()) as { csrf: string }).csrf };
}

/** The answer checked against the route's schema for its status (the OpenAPI document's source). */
async function conforms(res: Response, method: string, path: string): Promise<unknown> {
  const spec = API_ROUTES.find((r) => r.method === method && r.path === path)!;
  const schema = spec.responses[res.status]?.schema as z.ZodType | undefined;
  expect(schema, `${method} ${path} answered ${res.status}, not in its OpenAPI responses`).toBeDefined();
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = await res.json();
  const parsed = schema!.safeParse(body);
  expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  return body;
}

describe('sign-in by emailed link', () => {
  it('mails a link to a known address, signs in once with it, and sets a session cookie', async () => {
    const env = await setup({ publicBaseUrl: 'https://alerts.example.com' });
    const mail = env.mailbox.next();
    const res = await env.app.request('/console/sign-in', form({ email: 'Alice@Example.com' }));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('If this address belongs to someone in the on-call file');
    const sent = await mail;
    expect(sent).toMatchObject({ to: 'alice@example.com', name: 'Alice Ng', expiresAt: T0 + 600_000 });
    expect(sent.link).toMatch(/^https:\/\/alerts\.example\.com\/console\/sign-in\/verify\?token=[\w-]{43}$/);
    const token = new URL(sent.link).searchParams.get('token')!;

    // GET (a mail scanner, a preview) consumes nothing
    const page = await env.app.request(`/console/sign-in/verify?token=${token}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<form method="post" action="/console/sign-in/verify">');

    const ok = await env.app.request('/console/sign-in/verify', form({ token }));
    expect(ok.status).toBe(200);
    const cookie = ok.headers.get('set-cookie')!;
    expect(cookie).toMatch(
      /^__Host-pagetrail_session=[\w-]+\.[\w-]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=43200; Secure$/,
    );
    const me = await env.app.request('/api/v1/me', { headers: { cookie: cookie.split(';')[0] } });
    expect(await conforms(me, 'get', '/me')).toMatchObject({
      kind: 'person',
      id: 'alice',
      role: 'responder',
      teams: ['app'],
    });

    // used: refused
    const again = await env.app.request('/console/sign-in/verify', form({ token }));
    expect(again.status).toBe(401);
    expect(again.headers.get('set-cookie')).toBeNull();
  });

  it('refuses an expired link', async () => {
    const env = await setup();
    const mail = env.mailbox.next();
    await env.app.request('/console/sign-in', form({ email: 'bob@example.com' }));
    const token = new URL((await mail).link).searchParams.get('token')!;
    env.clock.now += 10 * 60_000;
    const res = await env.app.request('/console/sign-in/verify', form({ token }));
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('invalid, was already used, or has expired');
  });

  it('answers an unknown address exactly as a known one, and mails nothing', async () => {
    const env = await setup();
    const known = await env.app.request('/console/sign-in', form({ email: 'alice@example.com' }));
    const unknown = await env.app.request('/console/sign-in', form({ email: 'mallory@example.com' }));
    await env.settled();
    expect(unknown.status).toBe(known.status);
    expect(await unknown.text()).toBe(await known.text());
    expect(env.mailbox.mails.map((m) => m.to)).toEqual(['alice@example.com']);
    const json = await env.app.request('/console/sign-in', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'nobody@example.com' }),
    });
    expect(json.status).toBe(202);
  });

  it('limits sign-in requests per address and per client IP (429, Retry-After)', async () => {
    const env = await setup({ signInLimits: { perEmail: 2, perIp: 3, windowMs: 15 * 60_000 } });
    const ask = (email: string, ip: string) =>
      env.app.request('/console/sign-in', {
        ...form({ email }),
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip },
      });
    expect((await ask('alice@example.com', '192.0.2.1')).status).toBe(200);
    expect((await ask('alice@example.com', '192.0.2.2')).status).toBe(200);
    const third = await ask('alice@example.com', '192.0.2.3');
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await ask('bob@example.com', '192.0.2.1')).status).toBe(200);
    // 192.0.2.1 asked twice and was refused for nobody; its third is its limit, its fourth is over it
    expect((await ask('ada@example.com', '192.0.2.1')).status).toBe(200);
    expect((await ask('vera@example.com', '192.0.2.1')).status).toBe(429);
    await env.settled();
    expect(env.mailbox.mails.map((m) => m.to)).toEqual([
      'alice@example.com',
      'alice@example.com',
      'bob@example.com',
      'ada@example.com',
    ]);
  });

  it('signs out only with the CSRF token, and clears the cookie', async () => {
    const env = await setup();
    const { cookie, csrf } = await signIn(env, 'alice@example.com');
    const refused = await env.app.request('/console/sign-out', {
      ...form({}),
      headers: { ...form({}).headers, cookie },
    });
    expect(refused.status).toBe(403);
    const out = await env.app.request('/console/sign-out', {
      ...form({ csrf }),
      headers: { ...form({ csrf }).headers, cookie },
    });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/^__Host-pagetrail_session=; .*Max-Age=0/);
  });
});

describe('the auth failure table', () => {
  it('401 without a session or key, with a forged or expired session, a wrong or revoked key', async () => {
    const env = await setup();
    const { key, entry } = await env.keys.createApiKey({ name: 'ci', teams: ['*'], actions: ['read'] }, T0);
    const forged = signSession('another-secret-0123456789abcdef0123456789', 'ada', T0, 3_600_000).value;
    const expired = signSession(SESSION_SECRET, 'ada', T0 - 7_200_000, 3_600_000).value;
    const gone = signSession(SESSION_SECRET, 'mallory', T0, 3_600_000).value;
    const recorded = signSession(SESSION_SECRET, 'ada', T0, 3_600_000);
    await env.store.sessions.create(recorded);
    const valid = recorded.value;
    // signed with the secret, but never recorded by a sign-in (or ended since): a cookie alone is not a session
    const unrecorded = signSession(SESSION_SECRET, 'ada', T0, 3_600_000).value;
    const cases: [string, Record<string, string>][] = [
      ['nothing', {}],
      ['session not on record', { cookie: `__Host-pagetrail_session=${unrecorded}` }],
      ['forged session', { cookie: `__Host-pagetrail_session=${forged}` }],
      ['expired session', { cookie: `__Host-pagetrail_session=${expired}` }],
      ['person gone from the on-call file', { cookie: `__Host-pagetrail_session=${gone}` }],
      ['session cookie without its __Host- prefix on https', { cookie: `pagetrail_session=${valid}` }],
      ['not Bearer', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
      ['wrong key', { authorization: `Bearer ${key.slice(0, -2)}xx` }],
      ['malformed key', { authorization: 'Bearer ptk_nope' }],
    ];
    for (const [what, headers] of cases) {
      for (const [method, path] of [
        ['GET', '/api/v1/incidents'],
        ['GET', '/api/v1/incidents/inc_app_open_000001'],
        ['POST', '/api/v1/incidents/inc_app_open_000001/acknowledge'],
      ]) {
        const res = await env.app.request(path, { method, headers });
        expect(res.status, `${what}: ${method} ${path}`).toBe(401);
      }
    }
    expect((await env.app.request('/api/v1/incidents', { headers: { authorization: `Bearer ${key}` } })).status).toBe(
      200,
    );
    const session = { cookie: `__Host-pagetrail_session=${valid}` };
    expect((await env.app.request('/api/v1/incidents', { headers: session })).status).toBe(200);
    await env.keys.revokeApiKey(entry.keyId, T0);
    expect((await env.app.request('/api/v1/incidents', { headers: { authorization: `Bearer ${key}` } })).status).toBe(
      401,
    );
    expect(env.producer.records).toEqual([]);
  });

  it('403: another team, a viewer, a key without the action or team, a missing or foreign CSRF token', async () => {
    const env = await setup();
    const alice = await signIn(env, 'alice@example.com');
    const vera = await signIn(env, 'vera@example.com');
    const { key: readKey } = await env.keys.createApiKey({ name: 'r', teams: ['app'], actions: ['read'] }, T0);
    const ack = (id: string, headers: Record<string, string>) =>
      env.app.request(`/api/v1/incidents/${id}/acknowledge`, { method: 'POST', headers });
    const cases: [string, Response][] = [
      ['responder, other team', await ack('inc_db_open_0000004', { cookie: alice.cookie, 'x-csrf-token': alice.csrf })],
      ['viewer', await ack('inc_app_open_000001', { cookie: vera.cookie, 'x-csrf-token': vera.csrf })],
      ['no CSRF token', await ack('inc_app_open_000001', { cookie: alice.cookie })],
      [
        "another session's CSRF token",
        await ack('inc_app_open_000001', { cookie: alice.cookie, 'x-csrf-token': vera.csrf }),
      ],
      ['key without acknowledge', await ack('inc_app_open_000001', { authorization: `Bearer ${readKey}` })],
      [
        'a session and its token, from another origin',
        await ack('inc_app_open_000001', {
          cookie: alice.cookie,
          'x-csrf-token': alice.csrf,
          origin: 'https://evil.example',
        }),
      ],
      [
        'a sign-in link posted from another origin (login CSRF)',
        await env.app.request('/console/sign-in/verify', {
          ...form({ token: 'A'.repeat(43) }),
          headers: { ...form({}).headers, origin: 'https://evil.example' },
        }),
      ],
      [
        'key reading another team',
        await env.app.request('/api/v1/incidents/inc_db_open_0000004', {
          headers: { authorization: `Bearer ${readKey}` },
        }),
      ],
    ];
    for (const [what, res] of cases) expect(res.status, what).toBe(403);
    expect(env.producer.records).toEqual([]);
    // the same request from our own origin goes through
    const ok = await ack('inc_app_open_000001', {
      cookie: alice.cookie,
      'x-csrf-token': alice.csrf,
      origin: 'https://alerts.example.com',
    });
    expect(ok.status).toBe(202);
    expect(ok.headers.get('cache-control')).toBe('no-store');
  });

  it('on an http PUBLIC_BASE_URL (local) the cookie is not Secure and has no __Host- prefix', async () => {
    const env = await setup({ publicBaseUrl: 'http://127.0.0.1:8080' });
    const mail = env.mailbox.next();
    await env.app.request('/console/sign-in', form({ email: 'bob@example.com' }));
    const token = new URL((await mail).link).searchParams.get('token')!;
    const res = await env.app.request('/console/sign-in/verify', form({ token }));
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^pagetrail_session=[\w-]+\.[\w-]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=43200$/);
    const me = await env.app.request('/api/v1/me', { headers: { cookie: cookie.split(';')[0] } });
    expect(me.status).toBe(200);
  });
});

describe('the incident API', () => {
  it('lists incidents newest first, filtered and paged by cursor, each answer saying where it comes from', async () => {
    const env = await setup();
    const { cookie } = await signIn(env, 'vera@example.com');
    const get = (q: string) => env.app.request(`/api/v1/incidents${q}`, { headers: { cookie } });
    const all = (await conforms(await get(''), 'get', '/incidents')) as {
      incidents: { id: string; status: string }[];
      source: { from: string; read_at: string };
    };
    expect(all.incidents.map((i) => i.id)).toEqual([
      'inc_db_open_0000004',
      'inc_app_open_000001',
      'inc_app_acked_00002',
      'inc_app_resolved_03',
    ]);
    expect(all.source).toEqual({ from: 'paging-state', read_at: new Date(T0).toISOString() });
    const open = (await conforms(await get('?status=open&team=app'), 'get', '/incidents')) as typeof all;
    expect(open.incidents.map((i) => i.id)).toEqual(['inc_app_open_000001']);
    const p1 = (await conforms(await get('?limit=3'), 'get', '/incidents')) as typeof all & { next_cursor: string };
    expect(p1.incidents).toHaveLength(3);
    const p2 = (await conforms(await get(`?limit=3&cursor=${p1.next_cursor}`), 'get', '/incidents')) as typeof p1;
    expect(p2.incidents.map((i) => i.id)).toEqual(['inc_app_resolved_03']);
    expect(p2.next_cursor).toBeNull();
    const since = new Date(T0 - 100_000).toISOString();
    const recent = (await conforms(await get(`?since=${since}`), 'get', '/incidents')) as typeof all;
    expect(recent.incidents.map((i) => i.id)).toEqual(['inc_db_open_0000004', 'inc_app_open_000001']);
    for (const bad of ['?status=closed', '?limit=0', '?since=yesterday', '?cursor=!!', '?cursor=bm9wZQ', '?x=1'])
      expect((await conforms(await get(bad), 'get', '/incidents')) as { error: string }).toHaveProperty('error');
  });

  it('a key lists only its teams', async () => {
    const env = await setup();
    const { key } = await env.keys.createApiKey({ name: 'db', teams: ['db'], actions: ['read'] }, T0);
    const res = await env.app.request('/api/v1/incidents', { headers: { authorization: `Bearer ${key}` } });
    const body = (await conforms(res, 'get', '/incidents')) as { incidents: { id: string }[] };
    expect(body.incidents.map((i) => i.id)).toEqual(['inc_db_open_0000004']);
  });

  it('shows one incident with its pages, their delivery evidence and its timeline; 404 and 400', async () => {
    const env = await setup();
    const { cookie } = await signIn(env, 'alice@example.com');
    const res = await env.app.request('/api/v1/incidents/inc_app_acked_00002', { headers: { cookie } });
    const body = (await conforms(res, 'get', '/incidents/{id}')) as Record<string, unknown>;
    expect(body).toMatchObject({
      incident: { id: 'inc_app_acked_00002', status: 'acknowledged', acked_by: 'alice', team: 'app' },
      pages: [{ person: 'alice', person_name: 'Alice Ng', channel: 'sms', status: 'delivered', level: 1 }],
      timeline: [
        {
          at: new Date(T0 - 120_000).toISOString(),
          what: 'alarm inc_app_acked_00002-cpu went to ALARM: incident opened (P1)',
        },
        { at: new Date(T0 - 118_800).toISOString(), what: 'paged Alice Ng (level 1) by SMS → delivered' },
        { at: new Date(T0 - 90_000).toISOString(), what: 'acknowledged by Alice Ng' },
      ],
    });
    const missing = await env.app.request('/api/v1/incidents/inc_nope_nope', { headers: { cookie } });
    expect(missing.status).toBe(404);
    await conforms(missing, 'get', '/incidents/{id}');
    const bad = await env.app.request('/api/v1/incidents/%3Cscript%3E', { headers: { cookie } });
    expect(bad.status).toBe(400);
    await conforms(bad, 'get', '/incidents/{id}');
  });

  it('acknowledges by writing an ack record via api with the person; 409 when resolved or already acked', async () => {
    const env = await setup();
    const { cookie, csrf } = await signIn(env, 'alice@example.com');
    const ack = (id: string, body?: string) =>
      env.app.request(`/api/v1/incidents/${id}/acknowledge`, {
        method: 'POST',
        headers: { cookie, 'x-csrf-token': csrf, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body } : {}),
      });
    const res = await ack('inc_app_open_000001', '{}');
    expect(res.status).toBe(202);
    const accepted = await conforms(res, 'post', '/incidents/{id}/acknowledge');
    expect(accepted).toMatchObject({ accepted: true, action: 'acknowledge', via: 'api', person: 'alice' });
    expect(env.producer.records).toHaveLength(1);
    const record = StreamRecord.parse(env.producer.records[0]);
    expect(record).toMatchObject({
      kind: 'ack',
      via: 'api',
      person: 'alice',
      incident_id: 'inc_app_open_000001',
      alarm_arn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:inc_app_open_000001-cpu',
      event_time: T0,
    });
    // the same person again (a retry): the same event id, which the engine applies once
    await ack('inc_app_open_000001');
    expect(StreamRecord.parse(env.producer.records[1]).event_id).toBe(record.event_id);

    const resolved = await ack('inc_app_resolved_03');
    expect(resolved.status).toBe(409);
    expect(await conforms(resolved, 'post', '/incidents/{id}/acknowledge')).toMatchObject({
      error: 'incident inc_app_resolved_03 was resolved at 2026-12-07T02:58:20Z: there is nothing to acknowledge',
      state: 'resolved',
    });
    const acked = await ack('inc_app_acked_00002');
    expect(acked.status).toBe(409);
    expect(((await acked.json()) as { error: string }).error).toContain('already acknowledged by alice');
    for (const bad of ['{"note":1}', '[]', '{', 'null']) {
      const r = await ack('inc_app_open_000001', bad);
      expect(r.status, bad).toBe(400);
      await conforms(r, 'post', '/incidents/{id}/acknowledge');
    }
    expect((await ack('inc_nope_0001')).status).toBe(404);
    expect(env.producer.records).toHaveLength(2);
  });

  it('resolves by hand and adds notes: action records with the person; 409 when resolved already', async () => {
    const env = await setup();
    const { cookie, csrf } = await signIn(env, 'alice@example.com');
    const post = (id: string, what: 'resolve' | 'notes', body?: string) =>
      env.app.request(`/api/v1/incidents/${id}/${what}`, {
        method: 'POST',
        headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
        ...(body !== undefined ? { body } : {}),
      });
    const resolved = await post('inc_app_open_000001', 'resolve', '{"note":"rolled back the deploy"}');
    expect(resolved.status).toBe(202);
    expect(await conforms(resolved, 'post', '/incidents/{id}/resolve')).toMatchObject({
      action: 'resolve',
      via: 'api',
    });
    expect(StreamRecord.parse(env.producer.records[0])).toMatchObject({
      kind: 'action',
      action: 'resolve',
      via: 'api',
      person: 'alice',
      note: 'rolled back the deploy',
      incident_id: 'inc_app_open_000001',
      event_time: T0,
    });
    const again = await post('inc_app_resolved_03', 'resolve');
    expect(again.status).toBe(409);
    expect(await conforms(again, 'post', '/incidents/{id}/resolve')).toMatchObject({
      error: 'incident inc_app_resolved_03 was already resolved at 2026-12-07T02:58:20Z',
    });
    // a note, on a resolved incident too; the same note again is the same record
    const note = await post('inc_app_resolved_03', 'notes', '{"note":"root cause: connection pool"}');
    expect(note.status).toBe(202);
    await conforms(note, 'post', '/incidents/{id}/notes');
    await post('inc_app_resolved_03', 'notes', '{"note":"root cause: connection pool"}');
    const [, n1, n2] = env.producer.records.map((r) => StreamRecord.parse(r));
    expect(n1).toMatchObject({ kind: 'action', action: 'note', person: 'alice', note: 'root cause: connection pool' });
    expect(n2.event_id).toBe(n1.event_id);
    for (const bad of ['', '{}', '{"note":"  "}', '{"note":"x","y":1}', `{"note":"${'x'.repeat(2001)}"}`]) {
      const r = await post('inc_app_open_000001', 'notes', bad);
      expect(r.status, bad).toBe(400);
      await conforms(r, 'post', '/incidents/{id}/notes');
    }
    // another team's incident, a viewer, a key without the action: 403
    expect((await post('inc_db_open_0000004', 'resolve')).status).toBe(403);
    const vera = await signIn(env, 'vera@example.com');
    const byViewer = await env.app.request('/api/v1/incidents/inc_app_open_000001/notes', {
      method: 'POST',
      headers: { cookie: vera.cookie, 'x-csrf-token': vera.csrf, 'content-type': 'application/json' },
      body: '{"note":"x"}',
    });
    expect(byViewer.status).toBe(403);
    const { key } = await env.keys.createApiKey({ name: 'n', teams: ['app'], actions: ['note'] }, T0);
    const keyResolve = await env.app.request('/api/v1/incidents/inc_app_open_000001/resolve', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
    });
    expect(keyResolve.status).toBe(403);
    expect(env.producer.records).toHaveLength(3);
  });

  it('escalates, reassigns and snoozes by hand: action records with the person; 400 names the field; 409', async () => {
    const env = await setup();
    const { cookie, csrf } = await signIn(env, 'alice@example.com');
    const post = (id: string, what: 'escalate' | 'reassign' | 'snooze', body?: string) =>
      env.app.request(`/api/v1/incidents/${id}/${what}`, {
        method: 'POST',
        headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
        ...(body !== undefined ? { body } : {}),
      });
    const escalated = await post('inc_app_open_000001', 'escalate');
    expect(escalated.status).toBe(202);
    await conforms(escalated, 'post', '/incidents/{id}/escalate');
    await post('inc_app_open_000001', 'escalate'); // a double click: the same record
    const reassigned = await post('inc_app_acked_00002', 'reassign', '{"person":"bob","note":"db side"}');
    expect(await conforms(reassigned, 'post', '/incidents/{id}/reassign')).toMatchObject({ action: 'reassign' });
    const snoozed = await post('inc_app_acked_00002', 'snooze', '{"minutes":30}');
    expect(await conforms(snoozed, 'post', '/incidents/{id}/snooze')).toMatchObject({ action: 'snooze', via: 'api' });
    const [e1, e2, r, z] = env.producer.records.map((x) => StreamRecord.parse(x));
    expect(e1).toMatchObject({ kind: 'action', action: 'escalate', person: 'alice', from_level: 1, round: 0 });
    expect(e2.event_id).toBe(e1.event_id);
    expect(r).toMatchObject({ action: 'reassign', to_person: 'bob', note: 'db side', from_level: 1 });
    expect(z).toMatchObject({ action: 'snooze', minutes: 30, person: 'alice' });
    // 400 naming the field
    for (const [what, bad, field] of [
      ['snooze', '{"minutes":4}', 'minutes'],
      ['snooze', '{"minutes":1441}', 'minutes'],
      ['snooze', '{"minutes":"30"}', 'minutes'],
      ['snooze', '', 'minutes'],
      ['reassign', '{"person":"mallory"}', 'person'],
      ['reassign', '{}', 'person'],
      ['escalate', '{"level":3}', ''],
    ] as const) {
      const res = await post('inc_app_open_000001', what, bad);
      expect(res.status, `${what} ${bad}`).toBe(400);
      const body = (await conforms(res, 'post', `/incidents/{id}/${what}`)) as { error: string };
      expect(body.error, `${what} ${bad}`).toContain(field);
    }
    // 409 in words on a resolved incident; 403 on another team's
    for (const [what, body] of [
      ['escalate', undefined],
      ['reassign', '{"person":"bob"}'],
      ['snooze', '{"minutes":5}'],
    ] as const) {
      const res = await post('inc_app_resolved_03', what, body);
      expect(res.status).toBe(409);
      expect(await conforms(res, 'post', `/incidents/{id}/${what}`)).toMatchObject({
        error: expect.stringMatching(/^incident inc_app_resolved_03 was resolved at 2026-12-07T02:58:20Z: /),
      });
      expect((await post('inc_db_open_0000004', what, body)).status).toBe(403);
    }
    // a key needs the action by name
    const { key } = await env.keys.createApiKey({ name: 's', teams: ['app'], actions: ['snooze'] }, T0);
    const bearer = (what: string, body: string) =>
      env.app.request(`/api/v1/incidents/inc_app_open_000001/${what}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body,
      });
    expect((await bearer('snooze', '{"minutes":10}')).status).toBe(202);
    expect((await bearer('escalate', '{}')).status).toBe(403);
    expect(env.producer.records).toHaveLength(5);
  });

  it('an admin acts on every team; a key with acknowledge on its team writes person key:<id>', async () => {
    const env = await setup();
    const ada = await signIn(env, 'ada@example.com');
    const res = await env.app.request('/api/v1/incidents/inc_db_open_0000004/acknowledge', {
      method: 'POST',
      headers: { cookie: ada.cookie, 'x-csrf-token': ada.csrf },
    });
    expect(res.status).toBe(202);
    const { key, entry } = await env.keys.createApiKey({ name: 'bot', teams: ['app'], actions: ['acknowledge'] }, T0);
    const byKey = await env.app.request('/api/v1/incidents/inc_app_open_000001/acknowledge', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
    });
    expect(byKey.status).toBe(202);
    expect(env.producer.records.map((r) => (r as { person?: string }).person)).toEqual(['ada', `key:${entry.keyId}`]);
  });

  it('says who is on call at a time, per schedule and per team level, and why', async () => {
    const env = await setup();
    const { cookie } = await signIn(env, 'vera@example.com');
    const now = await env.app.request('/api/v1/oncall', { headers: { cookie } });
    const body = (await conforms(now, 'get', '/oncall')) as Record<string, unknown>;
    expect(body).toMatchObject({
      at: '2026-12-07T03:00:00.000Z',
      schedules: [
        { schedule: 'app-primary', person: 'alice', person_name: 'Alice Ng', layer: 'weekly', source: 'rotation' },
      ],
      source: { from: 'oncall-file', loaded_at: '2026-12-07T03:00:00.000Z' },
    });
    expect((body.teams as { team: string; severity: string }[]).find((t) => t.severity === 'P2')).toEqual({
      team: 'app',
      severity: 'P2',
      level: 1,
      people: [
        {
          person: 'alice',
          person_name: 'Alice Ng',
          target: 'schedule:app-primary',
          schedule: 'app-primary',
          layer: 'weekly',
        },
      ],
    });
    const during = await env.app.request('/api/v1/oncall?at=2026-12-08T20:00:00Z', { headers: { cookie } });
    expect(((await conforms(during, 'get', '/oncall')) as typeof body).schedules).toEqual([
      {
        schedule: 'app-primary',
        time_zone: 'Europe/Berlin',
        person: 'ada',
        person_name: 'Ada Admin',
        layer: '0',
        source: 'override',
        override: true,
      },
    ]);
    const bad = await env.app.request('/api/v1/oncall?at=tomorrow', { headers: { cookie } });
    expect(bad.status).toBe(400);
    await conforms(bad, 'get', '/oncall');
  });

  it('lists a schedule’s shifts with hand-offs and overrides; 404, 400 for a bad range', async () => {
    const env = await setup();
    const { cookie } = await signIn(env, 'vera@example.com');
    const get = (q: string) => env.app.request(`/api/v1/schedules/${q}`, { headers: { cookie } });
    const res = await get('app-primary/shifts?from=2026-12-07T03:00:00Z&to=2026-12-10T03:00:00Z');
    const body = (await conforms(res, 'get', '/schedules/{id}/shifts')) as { shifts: unknown[] };
    expect(body.shifts).toEqual([
      {
        from: '2026-12-07T03:00:00.000Z',
        to: '2026-12-07T08:00:00.000Z',
        person: 'alice',
        person_name: 'Alice Ng',
        layer: 'weekly',
        source: 'rotation',
      },
      {
        from: '2026-12-07T08:00:00.000Z',
        to: '2026-12-08T17:00:00.000Z',
        person: 'bob',
        person_name: 'Bob Diaz',
        layer: 'weekly',
        source: 'rotation',
      },
      {
        from: '2026-12-08T17:00:00.000Z',
        to: '2026-12-09T08:00:00.000Z',
        person: 'ada',
        person_name: 'Ada Admin',
        layer: '0',
        source: 'override',
        override: true,
      },
      {
        from: '2026-12-09T08:00:00.000Z',
        to: '2026-12-10T03:00:00.000Z',
        person: 'bob',
        person_name: 'Bob Diaz',
        layer: 'weekly',
        source: 'rotation',
      },
    ]);
    const missing = await get('nope/shifts');
    expect(missing.status).toBe(404);
    await conforms(missing, 'get', '/schedules/{id}/shifts');
    for (const q of ['?from=2026-12-07T00:00:00Z&to=2026-12-01T00:00:00Z', '?to=2027-06-01T00:00:00Z', '?from=x']) {
      const r = await get(`app-primary/shifts${q}`);
      expect(r.status, q).toBe(400);
      await conforms(r, 'get', '/schedules/{id}/shifts');
    }
  });

  it('serves an OpenAPI 3.1 document naming every route, generated from the same schemas', async () => {
    const env = await setup();
    const res = await env.app.request('/api/v1/openapi.json');
    expect(res.status).toBe(200);
    // biome-ignore lint/suspicious/noExplicitAny: walking a JSON document
    const doc = (await res.json()) as Record<string, any>;
    expect(doc).toEqual(JSON.parse(JSON.stringify(openApiDocument('https://alerts.example.com'))));
    expect(doc.openapi).toBe('3.1.0');
    for (const r of API_ROUTES) {
      const op = doc.paths[r.path][r.method];
      expect(op.operationId).toBe(r.operationId);
      expect(Object.keys(op.responses).map(Number).sort()).toEqual(Object.keys(r.responses).map(Number).sort());
    }
    // every $ref resolves inside the document
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    for (const ref of refs) {
      const name = ref.slice('"$ref":"#/components/schemas/'.length, -1);
      expect(doc.components.schemas[name], ref).toBeDefined();
    }
    expect(doc.paths['/incidents'].get.parameters.map((p: { name: string }) => p.name)).toEqual([
      'status',
      'team',
      'since',
      'cursor',
      'limit',
    ]);
    expect(CONSOLE_ONCALL.people.ada.role).toBe('admin');
  });
});
