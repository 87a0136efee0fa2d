/**
 * The receiver on the real local engines, over real HTTP (@hono/node-server on a free port, reached
 * as a TLS proxy would: the signatures are over PUBLIC_BASE_URL, not the socket address):
 * signed Twilio and Resend webhooks and an `ACK <code>` reply from a paged number → records on the
 * Kinesis stream (kinesalite) keyed by the alarm ARN (an ACK from another number → nothing); a
 * verified but malformed payload → the S3 error sink (s3rver); /healthz asks kinesalite.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type ServerType } from '@hono/node-server';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { KinesisProducer } from '../../platform/stream/kinesis-producer.js';
import { decodeRecord, type StreamRecord } from '../../schemas/envelope.js';
import { eventId } from '../../schemas/ids.js';
import { silentLogger } from '../../platform/logger.js';
import { AckCodes } from '../../shared/ack-codes.js';
import { StreamHealthCheck } from '../../producers/receiver/stream-health.js';
import { createApp } from '../../producers/receiver/app.js';
import { S3ErrorSink, errorObjectKey } from '../../producers/receiver/error-sink.js';
import {
  PAGE,
  fixture,
  jsonFixture,
  pageQuery,
  resendRequest,
  testConfig,
  twilioRequest,
} from '../../producers/receiver/testing.js';

let stack: LocalStack;
let server: ServerType;
let base: string;

beforeAll(async () => {
  stack = await startLocalStack({ shards: 2 });
  const app = createApp({
    config: testConfig({ BODY_LIMIT_BYTES: 256 * 1024 }),
    producer: new KinesisProducer({ kinesis: stack.clients.kinesis, streamName: stack.config.STREAM_NAME }),
    ackCodes: new AckCodes({ dynamodb: stack.clients.dynamodb, table: stack.config.LEDGER_TABLE }),
    errorSink: new S3ErrorSink({ s3: stack.clients.s3, bucket: stack.config.LAKE_BUCKET }),
    streamHealth: new StreamHealthCheck({ kinesis: stack.clients.kinesis, streamName: stack.config.STREAM_NAME }),
    logger: silentLogger,
  });
  server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await stack?.stop();
});

async function send(req: RequestInit & { url: string }): Promise<Response> {
  const { url, ...init } = req;
  return fetch(base + url, init);
}

/** Every record on the stream, with its shard and partition key. */
async function readStream(): Promise<{ shardId: string; partitionKey: string; record: StreamRecord }[]> {
  const kinesis = stack.clients.kinesis;
  const { Shards = [] } = await kinesis.send(new ListShardsCommand({ StreamName: stack.config.STREAM_NAME }));
  const out: { shardId: string; partitionKey: string; record: StreamRecord }[] = [];
  for (const shard of Shards) {
    let { ShardIterator } = await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: stack.config.STREAM_NAME,
        ShardId: shard.ShardId!,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    for (let i = 0; i < 5 && ShardIterator; i++) {
      const got = await kinesis.send(new GetRecordsCommand({ ShardIterator, Limit: 1000 }));
      for (const r of got.Records ?? [])
        out.push({ shardId: shard.ShardId!, partitionKey: r.PartitionKey!, record: decodeRecord(r.Data!) });
      if ((got.Records ?? []).length === 0) break;
      ShardIterator = got.NextShardIterator;
    }
  }
  return out;
}

describe('receiver on the local stack', () => {
  it('signed webhooks and an ACK reply land on the stream, keyed by the alarm ARN', async () => {
    const sms = fixture('twilio/sms-undelivered-30003.json');
    const read = fixture('twilio/whatsapp-read.json');
    const path = `/webhooks/twilio?${pageQuery()}`;
    expect((await send(twilioRequest(path, sms))).status).toBe(200);
    expect((await send(twilioRequest(path, read))).status).toBe(200);

    const opened = JSON.stringify(jsonFixture('resend/email.opened.json'));
    const resendRes = await send(resendRequest(opened, { id: 'msg_integration_opened' }));
    expect(resendRes.status).toBe(200);

    const ackCodes = new AckCodes({ dynamodb: stack.clients.dynamodb, table: stack.config.LEDGER_TABLE });
    const code = await ackCodes.allocate({
      incidentId: PAGE.incidentId,
      alarmArn: PAGE.alarmArn,
      expiresAt: Date.now() + 3_600_000,
    });
    await ackCodes.addRecipients(code, PAGE.incidentId, [{ address: 'whatsapp:+15551230001', person: 'alice' }]);

    // From a number that was not paged: answered, not counted.
    const stranger: Record<string, string> = {
      ...fixture('twilio/inbound-sms.json'),
      From: '+15559990000',
      MessageSid: 'SM00000000000000000000000000000099',
      Body: `ACK ${code}`,
    };
    const strangerRes = await send(twilioRequest('/webhooks/twilio', stranger));
    expect(strangerRes.status).toBe(200);
    expect(await strangerRes.text()).toContain(`This number was not paged for incident ${PAGE.incidentId}`);

    // From alice's number (paged on WhatsApp, replying by SMS: the same number).
    const reply: Record<string, string> = { ...fixture('twilio/inbound-sms.json'), Body: `ack ${code.toLowerCase()}` };
    const ackRes = await send(twilioRequest('/webhooks/twilio', reply));
    expect(ackRes.status).toBe(200);
    expect(await ackRes.text()).toContain('Acknowledged');

    // A forged callback is refused and writes nothing.
    expect((await send(twilioRequest(path, { ...sms, MessageStatus: 'delivered' }, { token: 'forged' }))).status).toBe(
      401,
    );

    const onStream = await readStream();
    expect(onStream.map((r) => r.record.event_id).sort()).toEqual(
      [
        eventId('receipt', 'twilio', sms.MessageSid, 'undelivered'),
        eventId('receipt', 'twilio', read.MessageSid, 'read'),
        eventId('receipt', 'resend', 'msg_integration_opened'),
        eventId('ack', 'twilio', reply.MessageSid),
      ].sort(),
    );
    for (const r of onStream) expect(r.partitionKey).toBe(PAGE.alarmArn);
    expect(new Set(onStream.map((r) => r.shardId)).size).toBe(1); // one incident, one shard
    const byKind = Object.fromEntries(
      onStream.map((r) => [`${r.record.kind}:${'status' in r.record ? r.record.status : ''}`, r.record]),
    );
    expect(byKind['receipt:undelivered']).toMatchObject({
      channel: 'sms',
      error_code: '30003',
      incident_id: PAGE.incidentId,
      dispatch_id: PAGE.dispatchId,
    });
    expect(
      onStream
        .filter((r) => r.record.kind === 'receipt')
        .every((r) => (r.record as { dispatch_id?: string }).dispatch_id === PAGE.dispatchId),
    ).toBe(true);
    expect(byKind['receipt:opened']).toBeDefined();
    expect(byKind['ack:']).toMatchObject({ via: 'sms_reply', person: 'alice', recipient: reply.From });
  });

  it('GET /healthz: the stream is reachable (DescribeStreamSummary on kinesalite)', async () => {
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', stream: { reachable: true } });
  });

  it('GET /healthz: a missing stream → 200, degraded', async () => {
    const check = new StreamHealthCheck({ kinesis: stack.clients.kinesis, streamName: 'pagetrail-no-such-stream' });
    expect(await check.check()).toMatchObject({ reachable: false, error: 'ResourceNotFoundException' });
  });

  it('a verified but malformed payload is kept in the S3 error sink, not on the stream', async () => {
    const before = (await readStream()).length;
    const body = JSON.stringify({
      ...jsonFixture<Record<string, unknown>>('resend/email.opened.json'),
      type: 'email.teleported',
    });
    const receivedAt = Date.now();
    const res = await send(resendRequest(body, { id: 'msg_integration_bad' }));
    expect(res.status).toBe(202); // verified: kept under errors/, acknowledged (Svix never retries it)
    const obj = await stack.clients.s3.send(
      new GetObjectCommand({
        Bucket: stack.config.LAKE_BUCKET,
        Key: errorObjectKey(new TextEncoder().encode(body), receivedAt),
      }),
    );
    const doc = JSON.parse(await obj.Body!.transformToString());
    expect(doc).toMatchObject({
      reason: 'unknown resend status "email.teleported"',
      path: 'type',
      route: '/webhooks/resend',
      body_encoding: 'utf8',
      body,
    });
    expect(doc.headers['svix-id']).toBe('msg_integration_bad');
    expect(doc.headers).not.toHaveProperty('svix-signature');
    expect((await readStream()).length).toBe(before);
  });
});
