import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { dynamoClient } from '../../platform/aws.js';
import { startDynalite, type RunningEngine } from '../local/engines.js';
import { createAuthTable } from '../../producers/receiver/api/testing.js';
import { ApiKeys } from '../../producers/receiver/auth/api-keys.js';
import { AuthStore } from '../../producers/receiver/auth/store.js';
import { apiKeyCommand, runApiKey } from './api-key.js';

const NOW = Date.parse('2026-12-07T03:00:00.000Z');
let engine: RunningEngine;
let dynamodb: DynamoDBClient;

beforeAll(async () => {
  engine = await startDynalite();
  dynamodb = dynamoClient({ AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: engine.endpoint });
  await createAuthTable(dynamodb, 'console-auth');
});
afterAll(async () => {
  dynamodb?.destroy();
  await engine?.close();
});

describe('make api-key', () => {
  it('reads NAME, TEAMS, ACTIONS and refuses what it does not know', () => {
    expect(
      apiKeyCommand(['--name', 'ci', '--teams', 'app, db', '--actions', 'read,acknowledge'], ['app', 'db']),
    ).toEqual({ create: { name: 'ci', teams: ['app', 'db'], actions: ['read', 'acknowledge'] } });
    expect(apiKeyCommand(['--name', 'all', '--teams', '*'], ['app'])).toEqual({
      create: { name: 'all', teams: ['*'], actions: ['read'] },
    });
    expect(() => apiKeyCommand(['--name', 'x', '--teams', 'ops'], ['app'])).toThrow('unknown team(s): ops');
    expect(() => apiKeyCommand(['--name', 'x', '--teams', 'app', '--actions', 'delete'], ['app'])).toThrow(
      'unknown action "delete"',
    );
    expect(() => apiKeyCommand(['--teams', 'app'], ['app'])).toThrow('NAME is required');
    expect(() => apiKeyCommand(['--revoke', 'zz'], ['app'])).toThrow('REVOKE must be a key id');
    expect(apiKeyCommand(['--list'], [])).toEqual({ list: true });
  });

  it('creates a key the receiver accepts, lists it, revokes it', async () => {
    const keys = new ApiKeys({ dynamodb, table: 'console-auth' });
    const store = new AuthStore({ dynamodb, table: 'console-auth' });
    const out = await runApiKey({ create: { name: 'ci', teams: ['app'], actions: ['read'] } }, keys, NOW);
    const key = out.find((l) => l.trim().startsWith('ptk_'))!.trim();
    const entry = await store.verifyApiKey(key);
    expect(entry).toMatchObject({ name: 'ci', teams: ['app'], actions: ['read'] });
    expect(await runApiKey({ list: true }, keys, NOW)).toEqual([
      `${entry!.keyId}  ci  teams=app  actions=read  created=2026-12-07T03:00:00.000Z`,
    ]);
    expect(await runApiKey({ revoke: entry!.keyId }, keys, NOW + 1)).toEqual([`revoked ${entry!.keyId}`]);
    expect(await store.verifyApiKey(key)).toBeUndefined();
    expect((await runApiKey({ list: true }, keys, NOW))[0]).toContain('REVOKED 2026-12-07T03:00:00.001Z');
  });
});
