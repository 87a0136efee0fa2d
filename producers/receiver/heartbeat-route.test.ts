import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { StreamRecord, partitionKeyOf } from '../../schemas/envelope.js';
import { checkOfToken, heartbeatToken, heartbeatUrl } from '../../shared/heartbeat-token.js';
import { testApp } from './testing.js';

/**
 * `GET|POST /heartbeat/<token>` (heartbeat-route.ts): the token table (right, wrong, missing, another check's, a
 * token of another secret, malformed), a check-in's record, and the Watchdog preset with kube-prometheus' Watchdog
 * alert in an Alertmanager webhook v4 notification (schemas/fixtures/alertmanager-watchdog-firing.json).
 */
const SECRET = 'heartbeat-secret-0123456789abcdef-0123';
const NOW = Date.parse('2026-12-07T22:00:00.000Z');
const watchdog = readFileSync(
  new URL('../../schemas/fixtures/alertmanager-watchdog-firing.json', import.meta.url),
  'utf8',
);

function harness(secret: string | null = SECRET) {
  return testApp({ config: { HEARTBEAT_SECRET: secret ?? undefined, BODY_LIMIT_BYTES: 256 * 1024 }, now: () => NOW });
}

describe('heartbeat tokens', () => {
  it('are <check>.<256-bit mac>, one per check, and read back only with the same secret', () => {
    const t = heartbeatToken(SECRET, 'nightly-backup');
    expect(t).toMatch(/^nightly-backup\.[A-Za-z0-9_-]{43}$/);
    expect(checkOfToken(SECRET, t)).toBe('nightly-backup');
    expect(heartbeatToken(SECRET, 'other')).not.toBe(t.replace('nightly-backup', 'other'));
    expect(checkOfToken('another-secret-0123456789abcdef-0123', t)).toBeUndefined();
    expect(checkOfToken(undefined, t)).toBeUndefined();
    expect(heartbeatUrl('https://pager.example.com/', SECRET, 'nightly-backup')).toBe(
      `https://pager.example.com/heartbeat/${t}`,
    );
    expect(() => heartbeatToken(SECRET, 'has.dot')).toThrow(RangeError);
  });
});

describe('GET|POST /heartbeat/<token>', () => {
  const good = heartbeatToken(SECRET, 'nightly-backup');
  const mac = good.slice(good.indexOf('.') + 1);
  const flipped = `${mac.slice(0, 10)}${mac[10] === 'A' ? 'B' : 'A'}${mac.slice(11)}`;
  const wrong: [string, string][] = [
    ['a wrong mac', `nightly-backup.${flipped}`],
    ["another check's mac", `nightly-backup.${heartbeatToken(SECRET, 'other').split('.')[1]}`],
    ["another check's token, check renamed", `other-check.${mac}`],
    ['a token of another secret', heartbeatToken('another-secret-0123456789abcdef-0123', 'nightly-backup')],
    ['the mac alone', mac],
    ['the check alone', 'nightly-backup'],
    ['a short mac', `nightly-backup.${mac.slice(0, 42)}`],
    ['a long mac', `nightly-backup.${mac}A`],
    ['an empty check', `.${mac}`],
  ];
  it.each(wrong)('%s → 404, nothing written', async (_, token) => {
    const h = harness();
    for (const method of ['GET', 'POST']) {
      const res = await h.app.request(`/heartbeat/${encodeURIComponent(token)}`, { method });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: 'not found' });
    }
    expect(h.producer.records).toEqual([]);
    expect(h.errorSink.calls).toEqual([]);
  });

  it('a missing token → 404 as any unknown path; no HEARTBEAT_SECRET → every token 404', async () => {
    const h = harness();
    expect((await h.app.request('/heartbeat/', { method: 'GET' })).status).toBe(404);
    expect((await h.app.request('/heartbeat', { method: 'POST' })).status).toBe(404);
    const off = harness(null);
    expect((await off.app.request(`/heartbeat/${good}`, { method: 'GET' })).status).toBe(404);
    expect([...h.producer.records, ...off.producer.records]).toEqual([]);
  });

  it('the right token, GET or POST with any body → one check-in record keyed by the check', async () => {
    const h = harness();
    const res = await h.app.request(`/heartbeat/${good}`, { method: 'GET' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { event_id: string };
    expect(body).toMatchObject({ ok: true, check: 'nightly-backup', checked_in: true });
    const post = await h.app.request(`/heartbeat/${good}`, { method: 'POST', body: 'dump ok: 1.2 GB in 312 s\n' });
    expect(post.status).toBe(200);
    expect(h.producer.records).toHaveLength(2);
    const [first, second] = h.producer.records.map((r) => StreamRecord.parse(r));
    expect(first).toMatchObject({
      kind: 'alarm',
      source: 'heartbeat',
      phase: 'checkin',
      state: 'OK',
      key: 'nightly-backup',
      alarm_arn: 'arn:pagetrail:heartbeat:::nightly-backup',
      event_time: NOW,
      event_id: body.event_id,
    });
    expect(second).toMatchObject({ raw: 'dump ok: 1.2 GB in 312 s\n' });
    // every record of the check on one shard: the check-in's partition key is its deadline's
    expect(partitionKeyOf(h.producer.records[0])).toBe(partitionKeyOf(h.producer.records[1]));
  });

  it('Watchdog preset: a firing Alertmanager notification is a check-in; a resolved one is not', async () => {
    const h = harness();
    const token = heartbeatToken(SECRET, 'prometheus-watchdog');
    const post = (body: string) =>
      h.app.request(`/heartbeat/${token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const res = await post(watchdog);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ checked_in: true });
    expect(h.producer.records).toHaveLength(1);
    expect(StreamRecord.parse(h.producer.records[0])).toMatchObject({ key: 'prometheus-watchdog', raw: watchdog });

    // send_resolved: the Watchdog stopped firing: not a check-in (the check misses, an incident opens)
    const resolved = JSON.parse(watchdog);
    resolved.status = 'resolved';
    resolved.alerts[0].status = 'resolved';
    resolved.alerts[0].endsAt = '2026-12-07T21:59:00Z';
    const stopped = await post(JSON.stringify(resolved));
    expect(stopped.status).toBe(200);
    expect(await stopped.json()).toMatchObject({ checked_in: false });
    expect(h.producer.records).toHaveLength(1);
  });

  it('the stream failing → 503 (the sender retries)', async () => {
    const h = harness();
    h.producer.failWith = new Error('kinesis down');
    const res = await h.app.request(`/heartbeat/${good}`, { method: 'GET' });
    expect(res.status).toBe(503);
  });
});
