import { afterEach, describe, expect, it, vi } from 'vitest';
import { incidentState } from '../api/testing.js';
import { LiveHub, sseEvent, type Subscriber } from './live.js';

/**
 * The live hub on a fake clock: one paging-state read per poll whatever the number of streams, an event only when a
 * stream's HTML changed, a heartbeat, the bounds, and the ends (expiry, sign-out).
 */
const T0 = Date.parse('2026-12-07T03:00:00.000Z');

afterEach(() => {
  vi.useRealTimers();
});

function stream(sessionId: string, expiresAt = T0 + 3_600_000) {
  const out: string[] = [];
  let closed = false;
  const sub: Subscriber = {
    sessionId,
    expiresAt,
    render: (states) => states.map((s) => `${s.incidentId}:${s.level}`).join(','),
    write: (t) => !closed && out.push(t) > 0,
    close: () => {
      closed = true;
    },
  };
  return { sub, out, closed: () => closed };
}

describe('LiveHub', () => {
  it('shares one read per poll, sends only changes, beats, and stops polling when the last stream leaves', async () => {
    vi.useFakeTimers({ now: T0 });
    const state = incidentState('inc_live_000000001', { team: 'app', openedAt: T0 });
    const hub = new LiveHub({ read: async () => [state], now: Date.now, pollMs: 2000, heartbeatMs: 15_000 });
    const a = stream('s1');
    const b = stream('s2');
    const leaveA = await hub.add(a.sub);
    const leaveB = await hub.add(b.sub);
    expect(a.out).toEqual([sseEvent('update', JSON.stringify({ html: 'inc_live_000000001:1' }))]);
    const readsBefore = hub.reads;
    await vi.advanceTimersByTimeAsync(2000);
    expect(hub.reads - readsBefore).toBe(1); // one read for both streams
    expect(a.out).toHaveLength(1); // nothing changed: nothing sent
    state.level = 2;
    await vi.advanceTimersByTimeAsync(2000);
    expect(a.out.at(-1)).toContain('inc_live_000000001:2');
    expect(b.out.at(-1)).toContain('inc_live_000000001:2');
    await vi.advanceTimersByTimeAsync(15_000);
    expect(a.out.filter((t) => t === ': heartbeat\n\n')).toHaveLength(1);
    leaveA();
    leaveB();
    const reads = hub.reads;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(hub.reads).toBe(reads);
  });

  it('admits at most maxPerSession streams per session and maxClients in all', async () => {
    const hub = new LiveHub({ read: async () => [], now: () => T0, maxClients: 3, maxPerSession: 2 });
    await hub.add(stream('s1').sub);
    await hub.add(stream('s1').sub);
    expect(hub.admits('s1')).toBe(false);
    expect(hub.admits('s2')).toBe(true);
    await hub.add(stream('s2').sub);
    expect(hub.admits('s3')).toBe(false);
    hub.closeAll();
    expect(hub.size).toBe(0);
  });

  it('reads what its streams show: the open list only when a stream shows it, and each shown incident', async () => {
    const wants: { open: boolean; incidents: string[] }[] = [];
    const hub = new LiveHub({
      read: async (want) => {
        wants.push({ open: want.open, incidents: [...want.incidents].sort() });
        return [];
      },
      now: () => T0,
    });
    await hub.add({ ...stream('s1').sub, incidentId: 'inc_b' });
    await hub.add({ ...stream('s2').sub, incidentId: 'inc_a' });
    await hub.tick();
    await hub.add(stream('s3').sub);
    await hub.tick();
    expect(wants).toEqual([
      { open: false, incidents: ['inc_b'] },
      { open: false, incidents: ['inc_a'] },
      { open: false, incidents: ['inc_a', 'inc_b'] },
      { open: true, incidents: [] },
      { open: true, incidents: ['inc_a', 'inc_b'] },
    ]);
    hub.closeAll();
  });

  it('ends a stream whose session ended on another task (alive false); keeps it when that cannot be told', async () => {
    const errors: unknown[] = [];
    const hub = new LiveHub({ read: async () => [], now: () => T0, onError: (e) => errors.push(e) });
    const session = { alive: true as boolean | Error };
    const mine = stream('s1');
    await hub.add({
      ...mine.sub,
      alive: async () => {
        if (session.alive instanceof Error) throw session.alive;
        return session.alive;
      },
    });
    await hub.tick();
    session.alive = new Error('auth table down');
    await hub.tick();
    expect(mine.closed()).toBe(false);
    expect(errors).toEqual([session.alive]);
    session.alive = false;
    await hub.tick();
    expect(mine.closed()).toBe(true);
    expect(mine.out.at(-1)).toBe(sseEvent('signed-out', '{"why":"signed-out"}'));
    expect(hub.size).toBe(0);
  });

  it("ends a session's streams on sign-out and a stream whose session expired", async () => {
    const clock = { now: T0 };
    const hub = new LiveHub({ read: async () => [], now: () => clock.now });
    const mine = stream('s1');
    const other = stream('s2', T0 + 1000);
    await hub.add(mine.sub);
    await hub.add(other.sub);
    hub.closeSession('s1');
    expect(mine.closed()).toBe(true);
    expect(mine.out.at(-1)).toBe(sseEvent('signed-out', '{"why":"signed-out"}'));
    clock.now = T0 + 1000;
    await hub.tick();
    expect(other.closed()).toBe(true);
    expect(other.out.at(-1)).toBe(sseEvent('end', '{"why":"expired"}'));
    expect(hub.size).toBe(0);
  });
});
