import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { dynamoClient } from '../../infra/aws.js';
import { startDynalite, type RunningEngine } from '../../infra/local/engines.js';
import { ensureTable, ledgerTableSpec } from '../../infra/local/provision.js';
import { ACK_ALPHABET, AckCodeConflictError, AckCodes, ackCodeFor, normalizeAckCode } from './ack-codes.js';

describe('ackCodeFor', () => {
  it('is deterministic, 6 uppercase symbols of the unambiguous alphabet', () => {
    const code = ackCodeFor('inc_0123456789abcdef0123');
    expect(code).toBe(ackCodeFor('inc_0123456789abcdef0123'));
    expect(code).toMatch(/^[2-9A-HJ-NP-Z]{6}$/);
    expect(ACK_ALPHABET).toHaveLength(32);
    expect(ACK_ALPHABET).not.toMatch(/[01IO]/);
  });

  it('spreads incidents over the code space', () => {
    const codes = new Set(Array.from({ length: 2000 }, (_, i) => ackCodeFor(`inc_${i}`)));
    expect(codes.size).toBeGreaterThan(1995);
  });

  it('normalizes what people type', () => {
    expect(normalizeAckCode(' 7kq2mx ')).toBe('7KQ2MX');
    expect(normalizeAckCode('7KQ2M')).toBeUndefined();
    expect(normalizeAckCode('7KQ2M0')).toBeUndefined();
  });
});

describe('AckCodes on dynalite', () => {
  let engine: RunningEngine;
  let dynamodb: DynamoDBClient;
  const table = 'pagetrail-ledger-test';
  let now = Date.parse('2026-11-28T10:00:00.000Z');
  let codes: AckCodes;
  const entry = { incidentId: 'inc_aaaaaaaaaaaaaaaaaaaa', alarmArn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:api-cpu-high', expiresAt: now + 86_400_000 };

  beforeAll(async () => {
    engine = await startDynalite();
    dynamodb = dynamoClient({ AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: engine.endpoint });
    await ensureTable(dynamodb, ledgerTableSpec(table));
    codes = new AckCodes({ dynamodb, table, now: () => now });
  });
  afterAll(async () => {
    dynamodb?.destroy();
    await engine?.close();
  });

  it('registers a code and resolves it, whatever the case and spacing', async () => {
    const code = ackCodeFor(entry.incidentId);
    await codes.register(code, { ...entry, person: 'alice' });
    expect(await codes.resolve(` ${code.toLowerCase()} `)).toEqual({ ...entry, person: 'alice' });
    const raw = await dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: `ack#${code}` } } }));
    expect(raw.Item?.ttl?.N).toBe(String(entry.expiresAt / 1000));
  });

  it('is idempotent for the same incident', async () => {
    const code = ackCodeFor(entry.incidentId);
    await codes.register(code, entry);
    await codes.register(code, entry);
    expect((await codes.resolve(code))?.incidentId).toBe(entry.incidentId);
  });

  it('refuses the code for another incident with a narrow error', async () => {
    const code = ackCodeFor(entry.incidentId);
    await expect(codes.register(code, { ...entry, incidentId: 'inc_bbbbbbbbbbbbbbbbbbbb' })).rejects.toBeInstanceOf(AckCodeConflictError);
    expect((await codes.resolve(code))?.incidentId).toBe(entry.incidentId);
  });

  it('unknown codes and expired codes do not resolve; an expired code can be reused', async () => {
    expect(await codes.resolve('ZZZZZZ')).toBeUndefined();
    expect(await codes.resolve('not a code')).toBeUndefined();
    await codes.register('HHHHHH', { ...entry, expiresAt: now + 1000 });
    now += 2000;
    expect(await codes.resolve('HHHHHH')).toBeUndefined();
    await codes.register('HHHHHH', { ...entry, incidentId: 'inc_cccccccccccccccccccc', expiresAt: now + 60_000 });
    expect((await codes.resolve('HHHHHH'))?.incidentId).toBe('inc_cccccccccccccccccccc');
  });

  it('rejects a malformed code at registration', async () => {
    await expect(codes.register('abc', entry)).rejects.toBeInstanceOf(RangeError);
  });
});
