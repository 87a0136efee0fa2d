import http from 'node:http';
import https from 'node:https';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Config } from './config.js';

/**
 * SDK clients for the configured endpoints. Locally every engine is plain HTTP/1.1 (the default
 * HTTP/2 negotiation fails against kinesalite and kinesis-local); with the endpoints unset the SDK
 * talks to AWS with its default credential chain.
 *
 * Every call has deadlines (the SDK's own defaults are none: a peer that accepts and never answers
 * would hold a call forever):
 * - connect: AWS_CONNECTION_TIMEOUT_MS (default 2 s);
 * - until the response starts (request body upload included): AWS_REQUEST_TIMEOUT_MS for Kinesis,
 *   DynamoDB and Scheduler (default 5 s), S3_REQUEST_TIMEOUT_MS for S3 (default 30 s: multi-MB objects);
 * - the same value as the longest silence of the socket, which also covers a response body that stalls.
 * A timed-out attempt fails with a `TimeoutError`, which the SDK's retry strategy retries like any
 * transient error (so one call takes at most maxAttempts × the deadline, plus backoff).
 */
export const AWS_TIMEOUT_DEFAULTS = { connectionMs: 2_000, requestMs: 5_000, s3RequestMs: 30_000 } as const;

type TimeoutConfig = Partial<
  Pick<Config, 'AWS_CONNECTION_TIMEOUT_MS' | 'AWS_REQUEST_TIMEOUT_MS' | 'S3_REQUEST_TIMEOUT_MS'>
>;

export interface RequestHandlerTimeouts {
  /** TCP (and TLS) connect deadline, ms. */
  connectionTimeoutMs: number;
  /** Deadline until the response starts, and the socket idle limit, ms. */
  requestTimeoutMs: number;
}

/** The HTTP/1.1 handler every client uses, with its deadlines (see above). */
export function awsRequestHandler(timeouts: RequestHandlerTimeouts): NodeHttpHandler {
  return new NodeHttpHandler({
    httpAgent: new http.Agent({ keepAlive: true, maxSockets: 64 }),
    httpsAgent: new https.Agent({ keepAlive: true, maxSockets: 64 }),
    connectionTimeout: timeouts.connectionTimeoutMs,
    requestTimeout: timeouts.requestTimeoutMs,
    // Without it a request over its requestTimeout only logs a warning (@smithy/node-http-handler 4.x).
    throwOnRequestTimeout: true,
    // requestTimeout stops at the response headers; this bounds a body that stalls afterwards.
    socketTimeout: timeouts.requestTimeoutMs,
  });
}

const handler = (config: TimeoutConfig, kind: 'default' | 's3') =>
  awsRequestHandler({
    connectionTimeoutMs: config.AWS_CONNECTION_TIMEOUT_MS ?? AWS_TIMEOUT_DEFAULTS.connectionMs,
    requestTimeoutMs:
      kind === 's3'
        ? (config.S3_REQUEST_TIMEOUT_MS ?? AWS_TIMEOUT_DEFAULTS.s3RequestMs)
        : (config.AWS_REQUEST_TIMEOUT_MS ?? AWS_TIMEOUT_DEFAULTS.requestMs),
  });

export interface AwsClients {
  kinesis: KinesisClient;
  s3: S3Client;
  dynamodb: DynamoDBClient;
}

export function kinesisClient(config: Pick<Config, 'AWS_REGION' | 'KINESIS_ENDPOINT'> & TimeoutConfig): KinesisClient {
  return new KinesisClient({
    region: config.AWS_REGION,
    endpoint: config.KINESIS_ENDPOINT,
    requestHandler: handler(config, 'default'),
    maxAttempts: 5,
  });
}

export function s3Client(config: Pick<Config, 'AWS_REGION' | 'S3_ENDPOINT'> & TimeoutConfig): S3Client {
  return new S3Client({
    region: config.AWS_REGION,
    endpoint: config.S3_ENDPOINT,
    forcePathStyle: config.S3_ENDPOINT !== undefined,
    // s3rver stores aws-chunked framing verbatim; AWS accepts both.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: handler(config, 's3'),
  });
}

export function dynamoClient(config: Pick<Config, 'AWS_REGION' | 'DYNAMODB_ENDPOINT'> & TimeoutConfig): DynamoDBClient {
  return new DynamoDBClient({
    region: config.AWS_REGION,
    endpoint: config.DYNAMODB_ENDPOINT,
    requestHandler: handler(config, 'default'),
  });
}

export function schedulerClient(
  config: Pick<Config, 'AWS_REGION' | 'SCHEDULER_ENDPOINT'> & TimeoutConfig,
): SchedulerClient {
  return new SchedulerClient({
    region: config.AWS_REGION,
    endpoint: config.SCHEDULER_ENDPOINT,
    requestHandler: handler(config, 'default'),
  });
}

/** The stream's ARN: STREAM_ARN, else built from the name, region and account. */
export function streamArn(
  config: Pick<Config, 'STREAM_ARN' | 'STREAM_NAME' | 'AWS_REGION' | 'AWS_ACCOUNT_ID'>,
): string {
  return (
    config.STREAM_ARN ?? `arn:aws:kinesis:${config.AWS_REGION}:${config.AWS_ACCOUNT_ID}:stream/${config.STREAM_NAME}`
  );
}

export function awsClients(config: Config): AwsClients {
  return { kinesis: kinesisClient(config), s3: s3Client(config), dynamodb: dynamoClient(config) };
}
