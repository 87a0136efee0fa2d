import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerType } from '@hono/node-server';
import { loadServerSettings, serveReceiver } from './server.js';
import { testApp } from './testing.js';

let server: ServerType | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** Sends `chunks` over a raw socket, then stalls; resolves with what came back once the server closed it. */
function stallingClient(port: number, chunks: string[]): Promise<{ reply: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let reply = '';
    const socket = connect(port, '127.0.0.1', () => {
      for (const c of chunks) socket.write(c);
    });
    socket.setEncoding('utf8');
    socket.on('data', (d) => (reply += d));
    socket.on('error', reject);
    socket.on('close', () => resolve({ reply, ms: performance.now() - started }));
  });
}

describe('loadServerSettings', () => {
  it('defaults: 127.0.0.1, 8080, 10 s; empty counts as unset', () => {
    expect(loadServerSettings({ HOST: '' })).toEqual({ HOST: '127.0.0.1', PORT: 8080, REQUEST_TIMEOUT_MS: 10_000 });
    expect(loadServerSettings({ HOST: '0.0.0.0', REQUEST_TIMEOUT_MS: '2500' })).toMatchObject({
      HOST: '0.0.0.0',
      REQUEST_TIMEOUT_MS: 2500,
    });
  });

  it('a bad value → ConfigError naming the variable', () => {
    expect(() => loadServerSettings({ REQUEST_TIMEOUT_MS: 'soon' })).toThrow(/REQUEST_TIMEOUT_MS/);
  });
});

describe('serveReceiver', () => {
  it('listens on HOST (127.0.0.1 by default) and serves the app', async () => {
    const started = await serveReceiver(testApp().app.fetch, loadServerSettings({ PORT: '0' }));
    server = started.server;
    expect(started.address.address).toBe('127.0.0.1');
    expect((await fetch(`http://127.0.0.1:${started.address.port}/healthz`)).status).toBe(200);
  });

  it(
    'a client that sends headers and half a body, then stalls, ' + 'is cut off after REQUEST_TIMEOUT_MS with a 408',
    async () => {
      const { app, producer, errorSink } = testApp();
      const started = await serveReceiver(app.fetch, { HOST: '127.0.0.1', PORT: 0, REQUEST_TIMEOUT_MS: 300 });
      server = started.server;
      const { reply, ms } = await stallingClient(started.address.port, [
        'POST /events/cloudwatch HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
          'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n',
        '{"id":"half a body',
      ]);
      expect(reply).toMatch(/^HTTP\/1\.1 408/);
      expect(ms).toBeGreaterThanOrEqual(250);
      expect(ms).toBeLessThan(3000);
      expect(producer.calls).toHaveLength(0);
      expect(errorSink.calls).toHaveLength(0);
    },
  );

  it('a client that trickles its headers is cut off too', async () => {
    const started = await serveReceiver(testApp().app.fetch, { HOST: '127.0.0.1', PORT: 0, REQUEST_TIMEOUT_MS: 300 });
    server = started.server;
    const { reply, ms } = await stallingClient(started.address.port, [
      'POST /webhooks/twilio HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ',
    ]);
    expect(reply).toMatch(/^HTTP\/1\.1 408/);
    expect(ms).toBeLessThan(3000);
  });
});
