import { describe, expect, it } from 'vitest';
import { testApp } from './testing.js';

describe('createApp', () => {
  it('GET /healthz → 200', async () => {
    const res = await testApp().app.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it('unknown routes and methods → 404, nothing written', async () => {
    const { app, producer } = testApp();
    expect((await app.request('/webhooks/other', { method: 'POST', body: 'x' })).status).toBe(404);
    expect((await app.request('/webhooks/twilio')).status).toBe(404);
    expect(producer.calls).toHaveLength(0);
  });
});
