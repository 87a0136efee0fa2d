/**
 * Minimal local engines for the Kinesis/DynamoDB tests (stand-in until test/helpers/local-stack.ts and
 * infra/local/engines.ts exist): kinesalite and dynalite in-process, kinesis-local (kinesis-mock, the
 * engine LocalStack ships) as a child process. Every engine listens on a free loopback port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateStreamCommand, DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { kinesisClient, dynamoClient } from '../../infra/aws.js';

const require = createRequire(import.meta.url);

export type EngineName = 'kinesalite' | 'kinesis-local';

export interface RunningEngine {
  name: string;
  endpoint: string;
  stop(): Promise<void>;
}

/** Static fake credentials for every local engine (the SDK default chain would look for real ones). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' };

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

type Listenable = { listen(port: number, host: string, cb: () => void): void; close(cb: (err?: Error) => void): void };

async function listenInProcess(name: string, server: Listenable): Promise<RunningEngine> {
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    name,
    endpoint: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export async function startKinesalite(): Promise<RunningEngine> {
  const kinesalite = require('kinesalite') as (opts: object) => Listenable;
  // Default delays are 500 ms per create/delete/update; 0 keeps the tests fast.
  return listenInProcess('kinesalite', kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 50 }));
}

export async function startDynalite(): Promise<RunningEngine> {
  const dynalite = require('dynalite') as (opts: object) => Listenable;
  return listenInProcess('dynalite', dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }));
}

async function healthy(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.setTimeout(1000, () => {
      req.destroy();
      resolve(false);
    });
  });
}

/** kinesis-local 0.6.2 as a child process; resolves once GET /healthcheck answers 200. */
export async function startKinesisLocal(opts: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<RunningEngine> {
  const pkgDir = path.dirname(require.resolve('kinesis-local/package.json'));
  const plain = await freePort();
  const tls = await freePort();
  const child: ChildProcess = spawn(process.execPath, [path.join(pkgDir, 'main.js')], {
    env: {
      ...process.env,
      KINESIS_MOCK_CERT_PATH: path.join(pkgDir, 'server.json'),
      KINESIS_MOCK_PLAIN_PORT: String(plain),
      KINESIS_MOCK_TLS_PORT: String(tls),
      CREATE_STREAM_DURATION: '0ms',
      DELETE_STREAM_DURATION: '0ms',
      SPLIT_SHARD_DURATION: '0ms',
      MERGE_SHARDS_DURATION: '0ms',
      UPDATE_SHARD_COUNT_DURATION: '0ms',
      LOG_LEVEL: 'ERROR',
      SHOULD_PERSIST_DATA: 'false',
      ...opts.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-4000);
  });
  let exited: number | null | undefined;
  child.on('exit', (code) => {
    exited = code;
  });
  const endpoint = `http://127.0.0.1:${plain}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  while (!(await healthy(`${endpoint}/healthcheck`))) {
    if (exited !== undefined) throw new Error(`kinesis-local exited with ${exited}: ${stderr}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`kinesis-local not healthy after ${opts.timeoutMs ?? 20_000} ms: ${stderr}`);
    }
    await sleep(100);
  }
  return {
    name: 'kinesis-local',
    endpoint,
    stop: async () => {
      if (exited !== undefined) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      // SIGTERM can hang with a large stream (see /work/shared/notes.md): escalate.
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await gone;
      clearTimeout(timer);
    },
  };
}

export function startKinesisEngine(name: EngineName): Promise<RunningEngine> {
  return name === 'kinesalite' ? startKinesalite() : startKinesisLocal();
}

export function localKinesis(endpoint: string): KinesisClient {
  const client = kinesisClient({ AWS_REGION: 'us-east-1', KINESIS_ENDPOINT: endpoint });
  client.config.credentials = async () => LOCAL_CREDENTIALS;
  return client;
}

export function localDynamo(endpoint: string): DynamoDBClient {
  const client = dynamoClient({ AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: endpoint });
  client.config.credentials = async () => LOCAL_CREDENTIALS;
  return client;
}

/** CreateStream and wait until ACTIVE (both engines create asynchronously). */
export async function createStream(kinesis: KinesisClient, streamName: string, shardCount: number): Promise<void> {
  await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shardCount }));
  await waitForActive(kinesis, streamName);
}

export async function waitForActive(kinesis: KinesisClient, streamName: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
    if (s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    if (Date.now() > deadline) throw new Error(`stream ${streamName} not ACTIVE after ${timeoutMs} ms`);
    await sleep(25);
  }
}
