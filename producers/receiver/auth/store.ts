import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import { isConditionFailure } from '../../../platform/aws-errors.js';
import { UnavailableError } from '../errors.js';
import { RateLimitedError } from './errors.js';
import { SessionStore } from './session-store.js';

/**
 * The console's auth table (CONSOLE_AUTH_TABLE: HASH `pk` (S), TTL attribute `ttl`), written by the receiver only:
 *
 * | pk | what | kept |
 * |---|---|---|
 * | `signin#<sha256 of the token>` | a sign-in link: `person`, `expiresAt`, `usedAt` once consumed | TTL: a day |
 * | `rate#<email or ip>#<sha256>#<window>` | sign-in requests counted in a window (`n`) | TTL: the window's end |
 * | `apikey#<key id>` | an API key: `hash` (SHA-256 of the key), `teams`, `actions`, `name`, `revokedAt` | none |
 * | `session#<sha256 of the session id>` | a session: `person`, `issuedAt`, `expiresAt` (session-store.ts) | TTL |
 *
 * Neither a link's token nor a key is stored: only their SHA-256 (both are 256-bit random, so a plain hash is enough;
 * a leaked table lets nobody sign in). A link is consumed by one conditional update (exists, unused, not expired):
 * two clicks racing, one wins. The table's TTL deletes old items within days; `expiresAt` is what decides.
 *
 * Creating, listing and revoking keys is `make api-key`'s (api-keys.ts), not the receiver's. Every call goes through
 * the receiver's DynamoDB client (timeouts: platform/aws.ts); a failure is an
 * UnavailableError (503).
 */

export const SIGN_IN_LINK_TTL_MS = 10 * 60_000;
/** Key id (public, in the key) and secret part. */
export const API_KEY_PATTERN = /^ptk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** What an API key may do: read the API, or one action on the incidents of its teams. */
export const ApiKeyAction = z.enum(['read', 'acknowledge', 'resolve', 'note', 'escalate', 'reassign', 'snooze']);
export type ApiKeyAction = z.infer<typeof ApiKeyAction>;

export interface ApiKeyEntry {
  keyId: string;
  name: string;
  /** `*`: every team. */
  teams: string[];
  actions: ApiKeyAction[];
  createdAt: number;
  revokedAt?: number;
}

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export interface AuthStoreOptions {
  dynamodb: Pick<DynamoDBClient, 'send'>;
  table: string;
  /** How long a session check is reused (session-store.ts). Default 5000 ms. */
  sessionCheckMs?: number;
}

export class AuthStore {
  /** The console's sessions, in the same table (session-store.ts). */
  readonly sessions: SessionStore;

  constructor(private readonly opts: AuthStoreOptions) {
    this.sessions = new SessionStore({ dynamodb: opts.dynamodb, table: opts.table, cacheMs: opts.sessionCheckMs });
  }

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (cause) {
      throw new UnavailableError(`console auth table (${what})`, { cause });
    }
  }

  /** A new one-time sign-in token for `person`, valid SIGN_IN_LINK_TTL_MS from `now`. */
  async issueSignInToken(person: string, now: number): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await this.call('issue link', () =>
      this.opts.dynamodb.send(
        new PutItemCommand({
          TableName: this.opts.table,
          Item: {
            pk: { S: `signin#${sha256(token)}` },
            person: { S: person },
            expiresAt: { N: String(now + SIGN_IN_LINK_TTL_MS) },
            ttl: { N: String(Math.floor(now / 1000) + 86_400) },
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
    return token;
  }

  /**
   * Consumes a sign-in token: the person it was issued for, or undefined when it is unknown, already used or
   * expired (one conditional update: exactly one of two racing consumers gets the person).
   */
  async consumeSignInToken(token: string, now: number): Promise<string | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
    try {
      const out = await this.opts.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.opts.table,
          Key: { pk: { S: `signin#${sha256(token)}` } },
          UpdateExpression: 'SET usedAt = :now',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(usedAt) AND expiresAt > :now',
          ExpressionAttributeValues: { ':now': { N: String(now) } },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return out.Attributes?.person?.S;
    } catch (cause) {
      if (isConditionFailure(cause)) return undefined;
      throw new UnavailableError('console auth table (consume link)', { cause });
    }
  }

  /**
   * Counts one request of `scope` (`email` or `ip`) for `subject` in the current window of `windowMs`;
   * RateLimitedError past `max` (the request is not counted then).
   */
  async countRequest(scope: 'email' | 'ip', subject: string, max: number, windowMs: number, now: number) {
    const window = Math.floor(now / windowMs);
    const end = (window + 1) * windowMs;
    try {
      await this.opts.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.opts.table,
          Key: { pk: { S: `rate#${scope}#${sha256(subject.toLowerCase())}#${window}` } },
          UpdateExpression: 'ADD n :one SET #ttl = :ttl',
          ConditionExpression: 'attribute_not_exists(n) OR n < :max',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ':one': { N: '1' },
            ':max': { N: String(max) },
            ':ttl': { N: String(Math.ceil(end / 1000) + 60) },
          },
        }),
      );
    } catch (cause) {
      if (isConditionFailure(cause)) throw new RateLimitedError(scope, Math.max(1, Math.ceil((end - now) / 1000)));
      throw new UnavailableError('console auth table (rate limit)', { cause });
    }
  }

  /** The entry of a presented key: undefined when malformed, unknown, wrong or revoked. */
  async verifyApiKey(key: string): Promise<ApiKeyEntry | undefined> {
    const m = API_KEY_PATTERN.exec(key);
    if (!m) return undefined;
    const out = await this.call('read key', () =>
      this.opts.dynamodb.send(
        new GetItemCommand({ TableName: this.opts.table, Key: { pk: { S: `apikey#${m[1]}` } }, ConsistentRead: true }),
      ),
    );
    const item = out.Item;
    if (!item?.hash?.S) return undefined;
    const want = Buffer.from(item.hash.S, 'hex');
    const got = Buffer.from(sha256(key), 'hex');
    if (want.length !== got.length || !timingSafeEqual(want, got)) return undefined;
    const entry = entryOf(m[1], item);
    return entry.revokedAt === undefined ? entry : undefined;
  }
}

export function entryOf(keyId: string, item: Record<string, AttributeValue>): ApiKeyEntry {
  const actions = (item.actions?.L ?? []).flatMap((a) => {
    const parsed = ApiKeyAction.safeParse(a.S);
    return parsed.success ? [parsed.data] : [];
  });
  return {
    keyId,
    name: item.name?.S ?? '',
    teams: (item.teams?.L ?? []).flatMap((t) => (t.S ? [t.S] : [])),
    actions,
    createdAt: Number(item.createdAt?.N ?? 0),
    ...(item.revokedAt?.N ? { revokedAt: Number(item.revokedAt.N) } : {}),
  };
}
