import { describe, expect, it } from 'vitest';
import type { StructuredLogger } from '../../platform/logger.js';
import { RejectionLog } from './rejections.js';
import { testApp } from './testing.js';

/** A logger that keeps its warn lines. */
function capture() {
  const lines: { fields: Record<string, unknown>; msg: string }[] = [];
  const noop = () => {};
  const logger = {
    warn: (fields: Record<string, unknown>, msg: string) => lines.push({ fields, msg }),
    info: noop,
    debug: noop,
    error: noop,
  } as unknown as StructuredLogger;
  return { lines, logger };
}

describe('RejectionLog', () => {
  it('10,000 rejections: every one counted, at most perWindow + 1 lines a window per kind', () => {
    const { lines, logger } = capture();
    let now = 0;
    const log = new RejectionLog(logger, { perWindow: 10, windowMs: 60_000, now: () => now });
    for (let i = 0; i < 10_000; i++) log.reject('not_authentic', { route: '/webhooks/twilio', i }, 'rejected');
    expect(log.counts()).toEqual({ not_authentic: 10_000 });
    expect(lines).toHaveLength(11);
    expect(lines.slice(0, 10).map((l) => l.fields.i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(lines[10].msg).toMatch(/counted, not logged/);
    expect(lines[10].fields).toMatchObject({ rejection: 'not_authentic', logged: 10, windowS: 60 });
  });

  it('a new window logs again; kinds have their own budgets', () => {
    const { lines, logger } = capture();
    let now = 0;
    const log = new RejectionLog(logger, { perWindow: 2, windowMs: 1000, now: () => now });
    for (let i = 0; i < 5; i++) log.reject('too_large', {}, 'big');
    for (let i = 0; i < 5; i++) log.reject('ack_link', {}, 'link');
    expect(lines).toHaveLength(6); // 2 + notice, per kind
    now = 1000;
    for (let i = 0; i < 5; i++) log.reject('too_large', {}, 'big');
    expect(lines).toHaveLength(9);
    expect(log.counts()).toEqual({ too_large: 10, ack_link: 5 });
  });
});

describe('the receiver under a flood of forged requests', () => {
  it('logs a bounded number of lines and counts every 401 exactly on /healthz', async () => {
    const { lines, logger } = capture();
    const { app } = testApp({ logger });
    const forged = { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'forged' };
    for (let i = 0; i < 2_000; i++) {
      const res = await app.request('/webhooks/twilio', { method: 'POST', headers: forged, body: `MessageSid=SM${i}` });
      expect(res.status).toBe(401);
    }
    expect(lines.length).toBeLessThanOrEqual(11);
    const health = (await (await app.request('/healthz')).json()) as { rejected: Record<string, number> };
    expect(health.rejected).toEqual({ not_authentic: 2_000 });
  });
});
