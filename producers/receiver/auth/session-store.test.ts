import { describe, expect, it } from 'vitest';
import { dynaliteForFile } from '../../../test/helpers/dynalite.js';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { runSessions, sessionsCommand } from '../../../infra/console/sessions.js';
import { consoleTestApp, createAuthTable, incidentState, MemoryIncidents, SESSION_SECRET } from '../api/testing.js';
import { signSession } from './session.js';
import { SessionsAdmin } from './sessions-admin.js';
import { DEFAULT_SESSION_CHECK_MS } from './session-store.js';

/**
 * Revocable sessions, on dynalite, with two receiver tasks (two apps, each its own session cache, one auth table)
 * on a clock the test moves: a sign-out on one task is refused there at once and on the other after the cache window;
 * `make sessions REVOKE=1` ends every session of a person; a cookie signed with another secret, expired, or never
 * recorded is refused; and an auth table that does not answer is a 503 (console and API) and `degraded` on /healthz.
 */
const T0 = Date.parse('2026-12-07T03:00:00.000Z');
const local = dynaliteForFile();
let tables = 0;

/** The auth table's client, failing every call while `down` (an outage: the tasks' view of it). */
function flaky() {
  const state = { down: false };
  const client = {
    send: ((command: never, options?: never) =>
      state.down
        ? Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { name: 'TimeoutError' }))
        : local.dynamodb.send(command, options)) as DynamoDBClient['send'],
  };
  return { client, state };
}

/** Two receiver tasks on one auth table and one clock. */
async function setup() {
  const table = `sessions-${++tables}`;
  await createAuthTable(local.dynamodb, table);
  const clock = { now: T0 };
  const db = flaky();
  const incidents = new MemoryIncidents([incidentState('inc_s_000000000001', { team: 'app', openedAt: T0 - 1000 })]);
  const task = () => consoleTestApp({ dynamodb: db.client, table, incidents, now: () => clock.now });
  return { a: task(), b: task(), clock, db, table };
}
type Task = ReturnType<typeof consoleTestApp>;

const form = (fields: Record<string, string>, cookie?: string) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
  body: new URLSearchParams(fields).toString(),
});

async function signIn(task: Task, email: string): Promise<{ cookie: string; csrf: string }> {
  const mail = task.mailbox.next();
  expect((await task.app.request('/console/sign-in', form({ email }))).status).toBe(200);
  const token = new URL((await mail).link).searchParams.get('token')!;
  const verified = await task.app.request('/console/sign-in/verify', form({ token }));
  expect(verified.status).toBe(200);
  const cookie = verified.headers.get('set-cookie')!.split(';')[0];
  const me = await task.app.request('/api/v1/me', { headers: { cookie } });
  expect(me.status).toBe(200);
  return { cookie, csrf: ((await me.json()) as { csrf: string }).csrf };
}

const api = (task: Task, cookie: string) => task.app.request('/api/v1/incidents', { headers: { cookie } });
const consolePage = (task: Task, cookie: string) => task.app.request('/console/', { headers: { cookie } });

describe('revocable sessions', () => {
  it('a sign-out ends the session: at once on its task, within the cache window on every other', async () => {
    const { a, b, clock } = await setup();
    const { cookie, csrf } = await signIn(a, 'alice@example.com');
    expect((await api(b, cookie)).status).toBe(200); // task b checked it: alive, cached
    const copied = cookie; // a copy of the cookie, kept after the sign-out
    clock.now += 1000;
    expect((await a.app.request('/console/sign-out', form({ csrf }, cookie))).status).toBe(200);
    expect((await api(a, copied)).status).toBe(401);
    expect((await consolePage(a, copied)).headers.get('location')).toBe('/console/sign-in');
    // task b answers from its cache until the window is over, then asks the table
    clock.now += DEFAULT_SESSION_CHECK_MS - 1001;
    expect((await api(b, copied)).status).toBe(200);
    clock.now += 1;
    expect((await api(b, copied)).status).toBe(401);
    const page = await consolePage(b, copied);
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/console/sign-in');
  });

  it('make sessions PERSON=… REVOKE=1 ends every session of that person, and no one else’s', async () => {
    const { a, b, clock, table } = await setup();
    const phone = await signIn(a, 'alice@example.com');
    const laptop = await signIn(b, 'alice@example.com');
    const bob = await signIn(a, 'bob@example.com');
    const admin = new SessionsAdmin({ dynamodb: local.dynamodb, table });
    const cmd = sessionsCommand(['--person', 'alice'], ['alice', 'bob']);
    const listed = await runSessions(cmd, admin, clock.now);
    expect(listed).toHaveLength(2);
    expect(listed.join('\n')).toContain(`issued=${new Date(T0).toISOString()}`);
    expect(listed.join('\n')).not.toContain(phone.cookie.split('=')[1].split('.')[0]);
    expect(await runSessions({ person: 'alice', revoke: true }, admin, clock.now)).toEqual([
      'ended 2 session(s) of alice: refused by every receiver within CONSOLE_SESSION_CHECK_MS',
    ]);
    clock.now += DEFAULT_SESSION_CHECK_MS;
    for (const task of [a, b]) {
      expect((await api(task, phone.cookie)).status).toBe(401);
      expect((await api(task, laptop.cookie)).status).toBe(401);
      expect((await api(task, bob.cookie)).status).toBe(200);
    }
    expect(await runSessions(cmd, admin, clock.now)).toEqual(['no session of alice']);
    expect(() => sessionsCommand(['--person', 'mallory'], ['alice'])).toThrow(/unknown person "mallory"/);
    expect(() => sessionsCommand([], ['alice'])).toThrow(/PERSON is required/);
  });

  it('refuses a cookie signed with another secret, an expired one, and one no sign-in recorded', async () => {
    const { a, clock } = await setup();
    const recorded = signSession(SESSION_SECRET, 'alice', clock.now, 3_600_000);
    await a.store.sessions.create(recorded);
    const cookieOf = (value: string) => `__Host-pagetrail_session=${value}`; // PUBLIC_BASE_URL is https
    expect((await api(a, cookieOf(recorded.value))).status).toBe(200);
    const forged = signSession('another-secret-0123456789abcdef0123456789', 'alice', clock.now, 3_600_000);
    await a.store.sessions.create(forged); // even on record: its signature is not ours
    expect((await api(a, cookieOf(forged.value))).status).toBe(401);
    expect((await api(a, cookieOf(signSession(SESSION_SECRET, 'alice', clock.now, 3_600_000).value))).status).toBe(401);
    clock.now += 3_600_000;
    expect((await api(a, cookieOf(recorded.value))).status).toBe(401);
  });

  it('an auth table that does not answer: 503 on the API and the console, degraded on /healthz; then ok', async () => {
    const { a, clock, db } = await setup();
    const { cookie } = await signIn(a, 'alice@example.com');
    expect(await (await a.app.request('/healthz')).json()).toMatchObject({
      status: 'ok',
      console_auth: { reachable: true },
    });
    db.state.down = true;
    clock.now += DEFAULT_SESSION_CHECK_MS; // past the cached answers (the session's and the health's)
    const res = await api(a, cookie);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(await res.json()).toEqual({ error: 'temporarily unavailable' });
    const page = await consolePage(a, cookie);
    expect(page.status).toBe(503);
    expect(await page.text()).toContain('Your session cannot be checked right now');
    const health = await a.app.request('/healthz');
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      status: 'degraded',
      console_auth: { reachable: false, error: 'TimeoutError' },
    });
    // a sign-in cannot be completed either (its session cannot be recorded): 503, no cookie
    db.state.down = false;
    const mail = a.mailbox.next();
    await a.app.request('/console/sign-in', form({ email: 'bob@example.com' }));
    const token = new URL((await mail).link).searchParams.get('token')!;
    db.state.down = true;
    const verify = await a.app.request('/console/sign-in/verify', form({ token }));
    expect(verify.status).toBe(503);
    expect(verify.headers.get('set-cookie')).toBeNull();
    db.state.down = false;
    clock.now += DEFAULT_SESSION_CHECK_MS;
    expect((await api(a, cookie)).status).toBe(200);
    expect(await (await a.app.request('/healthz')).json()).toMatchObject({ status: 'ok' });
  });
});
