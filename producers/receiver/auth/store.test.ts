import { describe, expect, it } from 'vitest';
import { dynaliteForFile } from '../../../test/helpers/dynalite.js';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { createHash } from 'node:crypto';
import { createAuthTable } from '../api/testing.js';
import { RateLimitedError } from './errors.js';
import { ApiKeys } from './api-keys.js';
import { API_KEY_PATTERN, AuthStore, SIGN_IN_LINK_TTL_MS } from './store.js';

const NOW = Date.parse('2026-12-07T03:00:00.000Z');
const local = dynaliteForFile();
let n = 0;
const freshStore = async () => {
  const table = `console-auth-${++n}`;
  const { dynamodb } = local;
  await createAuthTable(dynamodb, table);
  return { store: new AuthStore({ dynamodb, table }), keys: new ApiKeys({ dynamodb, table }), table };
};

describe('sign-in links', () => {
  it('are stored hashed and consumed once', async () => {
    const { store, table } = await freshStore();
    const token = await store.issueSignInToken('alice', NOW);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const key = `signin#${createHash('sha256').update(token).digest('hex')}`;
    const item = await local.dynamodb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: key } } }));
    expect(item.Item?.person?.S).toBe('alice');
    expect(JSON.stringify(item.Item)).not.toContain(token);
    expect(await store.consumeSignInToken(token, NOW + 1000)).toBe('alice');
    expect(await store.consumeSignInToken(token, NOW + 2000)).toBeUndefined();
  });

  it('expire after 10 minutes, and an unknown or malformed token is refused', async () => {
    const { store } = await freshStore();
    const token = await store.issueSignInToken('alice', NOW);
    expect(await store.consumeSignInToken(token, NOW + SIGN_IN_LINK_TTL_MS)).toBeUndefined();
    expect(await store.consumeSignInToken('A'.repeat(43), NOW)).toBeUndefined();
    expect(await store.consumeSignInToken('../etc', NOW)).toBeUndefined();
  });

  it('give the person to exactly one of two racing consumers', async () => {
    const { store } = await freshStore();
    const token = await store.issueSignInToken('bob', NOW);
    const got = await Promise.all(Array.from({ length: 5 }, () => store.consumeSignInToken(token, NOW + 1)));
    expect(got.filter((p) => p === 'bob')).toHaveLength(1);
  });
});

describe('sign-in rate limit', () => {
  it('allows max requests per window and subject, then RateLimitedError until the next window', async () => {
    const { store } = await freshStore();
    const windowMs = 15 * 60_000;
    const t = Math.floor(NOW / windowMs) * windowMs + 1000;
    for (let i = 0; i < 3; i++) await store.countRequest('email', 'Alice@Example.com', 3, windowMs, t);
    const err = await store.countRequest('email', 'alice@example.com', 3, windowMs, t).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterS).toBe(899);
    await store.countRequest('email', 'bob@example.com', 3, windowMs, t);
    await store.countRequest('email', 'alice@example.com', 3, windowMs, t + windowMs);
  });
});

describe('API keys', () => {
  it('are stored as SHA-256 only, verified, scoped, and revocable', async () => {
    const { store, keys, table } = await freshStore();
    const { key, entry } = await keys.createApiKey(
      { name: 'ci', teams: ['app'], actions: ['read', 'acknowledge'] },
      NOW,
    );
    expect(key).toMatch(API_KEY_PATTERN);
    const raw = await local.dynamodb.send(
      new GetItemCommand({ TableName: table, Key: { pk: { S: `apikey#${entry.keyId}` } } }),
    );
    expect(raw.Item?.hash?.S).toBe(createHash('sha256').update(key).digest('hex'));
    // the key's secret part (base64url: it may itself hold '_', so not key.split('_')) is nowhere in the item
    expect(JSON.stringify(raw.Item)).not.toContain(API_KEY_PATTERN.exec(key)![2]);
    expect(await store.verifyApiKey(key)).toMatchObject({ keyId: entry.keyId, teams: ['app'] });
    const wrong = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    expect(await store.verifyApiKey(wrong)).toBeUndefined();
    expect(await store.verifyApiKey(`ptk_0000000000000000_${'x'.repeat(43)}`)).toBeUndefined();
    expect(await keys.listApiKeys()).toEqual([entry]);
    expect(await keys.revokeApiKey(entry.keyId, NOW + 1)).toBe(true);
    expect(await keys.revokeApiKey(entry.keyId, NOW + 2)).toBe(false);
    expect(await store.verifyApiKey(key)).toBeUndefined();
  });
});
