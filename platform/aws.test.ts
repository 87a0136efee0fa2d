import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { ListSchedulesCommand } from '@aws-sdk/client-scheduler';
import { AWS_TIMEOUT_DEFAULTS, dynamoClient, kinesisClient, s3Client, schedulerClient } from './aws.js';
import { loadConfig } from './config.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ||= 'true';
process.env.AWS_ACCESS_KEY_ID ||= 'local';
process.env.AWS_SECRET_ACCESS_KEY ||= 'local';

/**
 * A black hole: accepts TCP connections and never answers (`mode: 'silent'`), or answers the response
 * headers and then never sends the body (`mode: 'stall'`). Counts connections.
 */
async function blackHole(mode: 'silent' | 'stall') {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    if (mode === 'stall') {
      socket.once('data', () =>
        socket.write(
          'HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 1000\r\n\r\n{"TableNames":[',
        ),
      );
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** How long `p` takes to reject, and with what. */
async function timed(p: Promise<unknown>): Promise<{ ms: number; err: Error }> {
  const started = performance.now();
  const err = await p.then(
    () => new Error('expected a rejection'),
    (e: Error) => e,
  );
  return { ms: performance.now() - started, err };
}

describe('AWS SDK clients: every call has a deadline', () => {
  it('the defaults come from config: 2 s connect, 5 s Kinesis/DynamoDB/Scheduler, 30 s S3', () => {
    const config = loadConfig({});
    expect([config.AWS_CONNECTION_TIMEOUT_MS, config.AWS_REQUEST_TIMEOUT_MS, config.S3_REQUEST_TIMEOUT_MS]).toEqual([
      2_000, 5_000, 30_000,
    ]);
    expect(AWS_TIMEOUT_DEFAULTS).toEqual({ connectionMs: 2_000, requestMs: 5_000, s3RequestMs: 30_000 });
    expect(loadConfig({ AWS_REQUEST_TIMEOUT_MS: '750' }).AWS_REQUEST_TIMEOUT_MS).toBe(750);
  });

  /** A client of each kind against `endpoint`, and one call with it. */
  const calls: [string, (endpoint: string) => { client: { destroy(): void }; call: () => Promise<unknown> }][] = [
    [
      'DynamoDB',
      (endpoint) => {
        const client = dynamoClient({
          AWS_REGION: 'us-east-1',
          DYNAMODB_ENDPOINT: endpoint,
          AWS_REQUEST_TIMEOUT_MS: 200,
        });
        return { client, call: () => client.send(new ListTablesCommand({})) };
      },
    ],
    [
      'Kinesis',
      (endpoint) => {
        const client = kinesisClient({
          AWS_REGION: 'us-east-1',
          KINESIS_ENDPOINT: endpoint,
          AWS_REQUEST_TIMEOUT_MS: 200,
        });
        return { client, call: () => client.send(new ListStreamsCommand({})) };
      },
    ],
    [
      'Scheduler',
      (endpoint) => {
        const client = schedulerClient({
          AWS_REGION: 'us-east-1',
          SCHEDULER_ENDPOINT: endpoint,
          AWS_REQUEST_TIMEOUT_MS: 200,
        });
        return { client, call: () => client.send(new ListSchedulesCommand({})) };
      },
    ],
    [
      'S3 (its own setting)',
      (endpoint) => {
        const client = s3Client({
          AWS_REGION: 'us-east-1',
          S3_ENDPOINT: endpoint,
          S3_REQUEST_TIMEOUT_MS: 200,
          AWS_REQUEST_TIMEOUT_MS: 60_000,
        });
        return { client, call: () => client.send(new ListBucketsCommand({})) };
      },
    ],
  ];

  it.each(calls)(
    '%s against a server that accepts and never answers: TimeoutError after the retries, not a hang',
    async (_name, make) => {
      const hole = await blackHole('silent');
      cleanups.push(hole.close);
      const { client, call } = make(hole.endpoint);
      cleanups.push(() => client.destroy());
      const { ms, err } = await timed(call());
      expect(err.name).toBe('TimeoutError');
      expect(hole.connections()).toBeGreaterThanOrEqual(2); // each attempt timed out and was retried
      // ≤ 5 attempts × 200 ms + the SDK's backoff (well under a second here); without the deadline: forever.
      expect(ms).toBeLessThan(5_000);
    },
  );

  it('a response that stalls after its headers is cut by the socket idle limit', async () => {
    const hole = await blackHole('stall');
    cleanups.push(hole.close);
    const dynamodb = dynamoClient({
      AWS_REGION: 'us-east-1',
      DYNAMODB_ENDPOINT: hole.endpoint,
      AWS_REQUEST_TIMEOUT_MS: 200,
    });
    cleanups.push(() => dynamodb.destroy());
    const { ms, err } = await timed(dynamodb.send(new ListTablesCommand({})));
    expect(err.name).toBe('TimeoutError');
    expect(ms).toBeLessThan(5_000);
  });
});
