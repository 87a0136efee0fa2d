/**
 * Engines and clients for the Kinesis adapter's conformance tests, which run against both kinesalite
 * and kinesis-local (the engine LocalStack ships). The engines themselves come from
 * infra/local/engines.ts, as for every other test.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateStreamCommand, DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { kinesisClient, dynamoClient } from '../../platform/aws.js';
import {
  startDynalite as startDynaliteEngine,
  startKinesalite,
  startKinesisLocal,
  type RunningEngine as Engine,
} from '../../infra/local/engines.js';

export type EngineName = 'kinesalite' | 'kinesis-local';

export interface RunningEngine {
  name: string;
  endpoint: string;
  stop(): Promise<void>;
}

/** Static fake credentials for every local engine (the SDK default chain would look for real ones). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' };

const named = (name: string, e: Engine): RunningEngine => ({ name, endpoint: e.endpoint, stop: () => e.close() });

export async function startKinesisEngine(name: EngineName): Promise<RunningEngine> {
  return named(name, name === 'kinesalite' ? await startKinesalite({ shardLimit: 50 }) : await startKinesisLocal({}));
}

export async function startDynalite(): Promise<RunningEngine> {
  return named('dynalite', await startDynaliteEngine({}));
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
