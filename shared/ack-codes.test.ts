import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startLocalStack, type LocalStack } from '../test/helpers/local-stack.js';
import {
  ACK_ALPHABET,
  ACK_CODE_ATTEMPTS,
  AckCodeNotHeldError,
  AckCodes,
  AckCodesExhaustedError,
  ackCodeFor,
  normalizeAckCode,
} from './ack-codes.js';

describe('ackCodeFor', () => {
  it('is deterministic, 6 uppercase symbols of the unambiguous alphabet', () => {
    const code = ackCodeFor('inc_0123456789abcdef0123');
    expect(code).toBe(ackCodeFor('inc_0123456789abcdef0123'));
    expect(code).toMatch(/^[2-9A-HJ-NP-Z]{6}$/);
    expect(ACK_ALPHABET).toHaveLength(32);
    expect(ACK_ALPHABET).not.toMatch(/[01IO]/);
  });

  it('attempt 0 is the first release code (sha256 of "ack-code␟<id>"), so codes already sent stay valid', () => {
    // Pinned value of the first release's function (computed independently with node:crypto): changing attempt 0 would
    // orphan every link and code in flight.
    expect(ackCodeFor('inc_0123456789abcdef0123', 0)).toBe(ackCodeFor('inc_0123456789abcdef0123'));
    expect(ackCodeFor('inc_0123456789abcdef0123')).toBe('U6PGYZ');
  });

  it('gives each attempt a different code', () => {
    const codes = new Set(Array.from({ length: ACK_CODE_ATTEMPTS }, (_, a) => ackCodeFor('inc_x', a)));
    expect(codes.size).toBe(ACK_CODE_ATTEMPTS);
    expect(() => ackCodeFor('inc_x', -1)).toThrow(RangeError);
    expect(() => ackCodeFor('inc_x', 1.5)).toThrow(RangeError);
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
  let stack: LocalStack;
  let dynamodb: DynamoDBClient;
  let table: string;
  let now = Date.parse('2026-11-28T10:00:00.000Z');
  let codes: AckCodes;
  const alarmArn = 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:api-cpu-high';
  let n = 0;
  /** A fresh incident per test (tests share the table). */
  const incident = () => ({
    incidentId: `inc_${(++n).toString().padStart(20, '0')}`,
    alarmArn,
    expiresAt: now + 86_400_000,
  });

  /** Another incident holding `code` until `expiresAt` (a collision seeded directly in the table). */
  async function seedHeld(code: string, incidentId: string, expiresAt: number, recipients?: string[]) {
    await dynamodb.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          pk: { S: `ack#${code}` },
          incidentId: { S: incidentId },
          alarmArn: { S: alarmArn },
          expiresAt: { N: String(expiresAt) },
          ttl: { N: String(Math.ceil(expiresAt / 1000)) },
          ...(recipients ? { recipients: { SS: recipients } } : {}),
        },
      }),
    );
  }

  beforeAll(async () => {
    stack = await startLocalStack();
    dynamodb = stack.clients.dynamodb;
    table = stack.config.LEDGER_TABLE;
    codes = new AckCodes({ dynamodb, table, now: () => now });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('allocates attempt 0 when it is free, and resolves it whatever the case and spacing', async () => {
    const entry = incident();
    const code = await codes.allocate({ ...entry, person: 'alice' });
    expect(code).toBe(ackCodeFor(entry.incidentId, 0));
    expect(await codes.resolve(` ${code.toLowerCase()} `)).toEqual({ ...entry, person: 'alice', recipients: [] });
    const raw = await dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: `ack#${code}` } } }));
    expect(raw.Item?.ttl?.N).toBe(String(entry.expiresAt / 1000));
  });

  it(
    'a forced collision: attempt 0 held by another live incident → attempt 1, ' +
      'and both resolve to their own incident',
    async () => {
      const entry = incident();
      const other = 'inc_ffffffffffffffffffff';
      await seedHeld(ackCodeFor(entry.incidentId, 0), other, now + 3_600_000);
      const code = await codes.allocate(entry);
      expect(code).toBe(ackCodeFor(entry.incidentId, 1));
      expect((await codes.resolve(code))?.incidentId).toBe(entry.incidentId);
      expect((await codes.resolve(ackCodeFor(entry.incidentId, 0)))?.incidentId).toBe(other);
    },
  );

  it(
    'is idempotent: a retry returns the code the incident holds, ' + 'even after an earlier candidate was freed',
    async () => {
      const entry = incident();
      await seedHeld(ackCodeFor(entry.incidentId, 0), 'inc_eeeeeeeeeeeeeeeeeeee', now + 1000);
      const first = await codes.allocate(entry);
      expect(first).toBe(ackCodeFor(entry.incidentId, 1));
      await codes.addRecipients(first, entry.incidentId, ['+15551230001']);
      now += 2000; // attempt 0 expires
      expect(await codes.allocate(entry)).toBe(first);
      expect((await codes.resolve(first))?.recipients).toEqual([{ address: '+15551230001' }]); // kept
      expect(await codes.resolve(ackCodeFor(entry.incidentId, 0))).toBeUndefined(); // not taken a second time
    },
  );

  it('concurrent allocations of one incident agree on one code', async () => {
    const entry = incident();
    await seedHeld(ackCodeFor(entry.incidentId, 0), 'inc_dddddddddddddddddddd', now + 3_600_000);
    const got = await Promise.all(Array.from({ length: 5 }, () => codes.allocate(entry)));
    expect(new Set(got)).toEqual(new Set([ackCodeFor(entry.incidentId, 1)]));
  });

  it('reuses an expired code of another incident, without its recipients', async () => {
    const entry = incident();
    const code0 = ackCodeFor(entry.incidentId, 0);
    await seedHeld(code0, 'inc_cccccccccccccccccccc', now - 1, ['+15559990000']);
    expect(await codes.allocate(entry)).toBe(code0);
    expect(await codes.resolve(code0)).toEqual({ ...entry, recipients: [] });
  });

  it('extends a held code when a retry asks for a later expiry, never shortens it', async () => {
    const entry = incident();
    const code = await codes.allocate(entry);
    await codes.allocate({ ...entry, expiresAt: entry.expiresAt + 60_000 });
    expect((await codes.resolve(code))?.expiresAt).toBe(entry.expiresAt + 60_000);
    await codes.allocate({ ...entry, expiresAt: entry.expiresAt - 60_000 });
    expect((await codes.resolve(code))?.expiresAt).toBe(entry.expiresAt + 60_000);
  });

  it(
    'throws AckCodesExhaustedError (with the incident id) ' + 'only when all 16 candidates are held by live incidents',
    async () => {
      const entry = incident();
      for (let a = 0; a < ACK_CODE_ATTEMPTS - 1; a++)
        await seedHeld(ackCodeFor(entry.incidentId, a), `inc_other_${a}`, now + 3_600_000);
      // 15 of 16 held: the last one is still found.
      expect(await codes.allocate(entry)).toBe(ackCodeFor(entry.incidentId, ACK_CODE_ATTEMPTS - 1));

      const blocked = incident();
      for (let a = 0; a < ACK_CODE_ATTEMPTS; a++)
        await seedHeld(ackCodeFor(blocked.incidentId, a), `inc_other_${a}`, now + 3_600_000);
      const err = await codes.allocate(blocked).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AckCodesExhaustedError);
      expect(err).toMatchObject({ incidentId: blocked.incidentId });
      expect((err as AckCodesExhaustedError).codes).toHaveLength(ACK_CODE_ATTEMPTS);
    },
  );

  it('claimFirst: a new incident takes its first candidate with its recipients in one conditional put', async () => {
    const entry = incident();
    const code = await codes.claimFirst(entry, [
      { address: '+1 (555) 123-0001', person: 'alice' },
      'whatsapp:+15551230002',
    ]);
    expect(code).toBe(ackCodeFor(entry.incidentId, 0));
    expect(await codes.resolve(code!)).toEqual({
      ...entry,
      recipients: expect.arrayContaining([{ address: '+15551230001', person: 'alice' }, { address: '+15551230002' }]),
    });
    // held (by itself: a retry): refused, and allocate + addRecipients settle it on the same code
    expect(await codes.claimFirst(entry, ['+15551230003'])).toBeUndefined();
    expect(await codes.allocate(entry)).toBe(code);
  });

  it('claimFirst: refused when another live incident holds it (then allocate); takes an expired one', async () => {
    const entry = incident();
    const other = 'inc_bbbbbbbbbbbbbbbbbbbb';
    await seedHeld(ackCodeFor(entry.incidentId, 0), other, now + 3_600_000, ['+15559990000']);
    expect(await codes.claimFirst(entry, ['+15551230001'])).toBeUndefined();
    expect(await codes.resolve(ackCodeFor(entry.incidentId, 0))).toMatchObject({
      incidentId: other,
      recipients: [{ address: '+15559990000' }],
    });
    expect(await codes.allocate(entry)).toBe(ackCodeFor(entry.incidentId, 1));

    const late = incident();
    await seedHeld(ackCodeFor(late.incidentId, 0), other, now - 1, ['+15559990000']);
    expect(await codes.claimFirst(late, ['+15551230001'])).toBe(ackCodeFor(late.incidentId, 0));
    expect(await codes.resolve(ackCodeFor(late.incidentId, 0))).toEqual({
      ...late,
      recipients: [{ address: '+15551230001' }],
    });
  });

  it('addRecipients: a normalized set with optional person, returned by resolve()', async () => {
    const entry = incident();
    const code = await codes.allocate(entry);
    await codes.addRecipients(code, entry.incidentId, [
      { address: '+1 (555) 123-0001', person: 'alice' },
      'Alice@Example.com',
    ]);
    await codes.addRecipients(code, entry.incidentId, [
      { address: 'whatsapp:+15551230001', person: 'alice' },
      { address: 'whatsapp:+15551230003', person: 'carol' },
    ]);
    await codes.addRecipients(code, entry.incidentId, []); // no-op
    const resolved = await codes.resolve(code);
    expect(resolved?.recipients).toHaveLength(3);
    expect(resolved?.recipients).toEqual(
      expect.arrayContaining([
        { address: '+15551230001', person: 'alice' },
        { address: 'alice@example.com' },
        { address: '+15551230003', person: 'carol' },
      ]),
    );
  });

  it('addRecipients refuses a code the incident does not hold, and what is not an address', async () => {
    const entry = incident();
    const held = ackCodeFor(entry.incidentId, 0);
    await seedHeld(held, 'inc_bbbbbbbbbbbbbbbbbbbb', now + 3_600_000);
    await expect(codes.addRecipients(held, entry.incidentId, ['+15551230001'])).rejects.toBeInstanceOf(
      AckCodeNotHeldError,
    );
    await expect(codes.addRecipients('ZZZZZZ', entry.incidentId, ['+15551230001'])).rejects.toBeInstanceOf(
      AckCodeNotHeldError,
    );
    expect((await codes.resolve(held))?.recipients).toEqual([]);
    const code = await codes.allocate(entry);
    await expect(codes.addRecipients(code, entry.incidentId, ['not a number'])).rejects.toBeInstanceOf(RangeError);
    await expect(
      codes.addRecipients(code, entry.incidentId, [{ address: '+15551230001', person: 'Bad|Id' }]),
    ).rejects.toBeInstanceOf(RangeError);
    await expect(codes.addRecipients('abc', entry.incidentId, ['+15551230001'])).rejects.toBeInstanceOf(RangeError);
  });

  it('unknown codes and expired codes do not resolve', async () => {
    expect(await codes.resolve('ZZZZZZ')).toBeUndefined();
    expect(await codes.resolve('not a code')).toBeUndefined();
    const entry = { ...incident(), expiresAt: now + 1000 };
    const code = await codes.allocate(entry);
    now += 2000;
    expect(await codes.resolve(code)).toBeUndefined();
  });
});
