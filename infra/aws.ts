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
 */
function handler() {
  return new NodeHttpHandler({
    httpAgent: new http.Agent({ keepAlive: true, maxSockets: 64 }),
    httpsAgent: new https.Agent({ keepAlive: true, maxSockets: 64 }),
  });
}

export interface AwsClients {
  kinesis: KinesisClient;
  s3: S3Client;
  dynamodb: DynamoDBClient;
}

export function kinesisClient(config: Pick<Config, 'AWS_REGION' | 'KINESIS_ENDPOINT'>): KinesisClient {
  return new KinesisClient({
    region: config.AWS_REGION,
    endpoint: config.KINESIS_ENDPOINT,
    requestHandler: handler(),
    maxAttempts: 5,
  });
}

export function s3Client(config: Pick<Config, 'AWS_REGION' | 'S3_ENDPOINT'>): S3Client {
  return new S3Client({
    region: config.AWS_REGION,
    endpoint: config.S3_ENDPOINT,
    forcePathStyle: config.S3_ENDPOINT !== undefined,
    // s3rver stores aws-chunked framing verbatim; AWS accepts both.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: handler(),
  });
}

export function dynamoClient(config: Pick<Config, 'AWS_REGION' | 'DYNAMODB_ENDPOINT'>): DynamoDBClient {
  return new DynamoDBClient({
    region: config.AWS_REGION,
    endpoint: config.DYNAMODB_ENDPOINT,
    requestHandler: handler(),
  });
}

export function schedulerClient(config: Pick<Config, 'AWS_REGION' | 'SCHEDULER_ENDPOINT'>): SchedulerClient {
  return new SchedulerClient({
    region: config.AWS_REGION,
    endpoint: config.SCHEDULER_ENDPOINT,
    requestHandler: handler(),
  });
}

/** The stream's ARN: STREAM_ARN, else built from the name, region and account. */
export function streamArn(config: Pick<Config, 'STREAM_ARN' | 'STREAM_NAME' | 'AWS_REGION' | 'AWS_ACCOUNT_ID'>): string {
  return config.STREAM_ARN ?? `arn:aws:kinesis:${config.AWS_REGION}:${config.AWS_ACCOUNT_ID}:stream/${config.STREAM_NAME}`;
}

export function awsClients(config: Config): AwsClients {
  return { kinesis: kinesisClient(config), s3: s3Client(config), dynamodb: dynamoClient(config) };
}
