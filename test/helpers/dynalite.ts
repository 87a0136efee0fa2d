import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { startDynalite, type RunningEngine } from '../../infra/local/engines.js';
import { dynamoClient } from '../../platform/aws.js';

/**
 * A dynalite for the calling test file: started before its tests (beforeAll), stopped after them (afterAll).
 * `dynamodb` is its client once started.
 */
export function dynaliteForFile(): { readonly dynamodb: DynamoDBClient } {
  let engine: RunningEngine | undefined;
  let client: DynamoDBClient | undefined;
  beforeAll(async () => {
    engine = await startDynalite();
    client = dynamoClient({ AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: engine.endpoint });
  });
  afterAll(async () => {
    client?.destroy();
    await engine?.close();
  });
  return {
    get dynamodb() {
      if (!client) throw new Error('dynaliteForFile: used before its beforeAll ran');
      return client;
    },
  };
}
