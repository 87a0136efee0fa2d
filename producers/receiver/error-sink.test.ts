import { createHash } from 'node:crypto';
import type { PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3ErrorSink, errorObjectKey, safeHeaders } from './error-sink.js';

const T = Date.parse('2026-11-28T10:00:05.000Z');

describe('S3ErrorSink', () => {
  it(
    'writes errors/webhooks/dt=<day>/<sha256 of body>.json with the reason, ' + 'safe headers and the raw body',
    async () => {
      const sent: PutObjectCommand[] = [];
      const sink = new S3ErrorSink({
        s3: { send: async (cmd: unknown) => void sent.push(cmd as PutObjectCommand) } as never,
        bucket: 'lake',
      });
      const body = new TextEncoder().encode('MessageStatus=exploded');
      await sink.put('unknown twilio status "exploded"', body, {
        route: '/webhooks/twilio',
        path: 'MessageStatus',
        url: '/webhooks/twilio?x=1',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        receivedAt: T,
      });
      await sink.put('unknown twilio status "exploded"', body, { route: '/webhooks/twilio', receivedAt: T + 1000 });
      const sha = createHash('sha256').update(body).digest('hex');
      expect(sent.map((c) => c.input.Key)).toEqual([
        `errors/webhooks/dt=2026-11-28/${sha}.json`,
        `errors/webhooks/dt=2026-11-28/${sha}.json`,
      ]);
      expect(sent[0].input.Bucket).toBe('lake');
      expect(JSON.parse(sent[0].input.Body as string)).toEqual({
        reason: 'unknown twilio status "exploded"',
        path: 'MessageStatus',
        route: '/webhooks/twilio',
        url: '/webhooks/twilio?x=1',
        received_at: '2026-11-28T10:00:05.000Z',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body_sha256: sha,
        body_encoding: 'utf8',
        body: 'MessageStatus=exploded',
      });
    },
  );

  it('keeps non-UTF-8 bodies as base64', async () => {
    const sent: PutObjectCommand[] = [];
    const sink = new S3ErrorSink({
      s3: { send: async (cmd: unknown) => void sent.push(cmd as PutObjectCommand) } as never,
      bucket: 'lake',
    });
    await sink.put('bad', new Uint8Array([0xff, 0xfe]), { route: '/x', receivedAt: T });
    expect(JSON.parse(sent[0].input.Body as string)).toMatchObject({ body_encoding: 'base64', body: '//4=' });
    expect(errorObjectKey(new Uint8Array([0xff, 0xfe]), T)).toMatch(
      /^errors\/webhooks\/dt=2026-11-28\/[0-9a-f]{64}\.json$/,
    );
  });

  it('drops secret headers', () => {
    const h = new Headers({
      'X-Twilio-Signature': 's',
      'svix-signature': 's',
      'x-api-key': 'k',
      authorization: 'a',
      cookie: 'c',
      'svix-id': 'msg_1',
      'content-type': 'text/plain',
    });
    expect(safeHeaders(h)).toEqual({ 'svix-id': 'msg_1', 'content-type': 'text/plain' });
  });
});
