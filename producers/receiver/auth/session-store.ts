import { createHash } from 'node:crypto';
import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { UnavailableError } from '../errors.js';
import type { Session } from './session.js';

/**
 * The console's sessions, revocable: the signed cookie (session.ts) names a session id, and a session lives as long
 * as its item in the auth table (CONSOLE_AUTH_TABLE) does:
 *
 * | pk | what | kept |
 * |---|---|---|
 * | `session#<sha256 of the session id>` | `person`, `issuedAt`, `expiresAt` (epoch ms) | TTL: an hour after expiry |
 *
 * Signing in puts the item; signing out deletes it; `make sessions PERSON=<id> REVOKE=1` deletes every session of a
 * person (sessions-admin.ts). Every request with a session cookie asks `alive` — answered from an in-process cache
 * for `cacheMs` (default 5 s: CONSOLE_SESSION_CHECK_MS), so a session ended on one receiver task is refused by every
 * task within that time, and a busy console costs one GetItem per session per window, not one per request. A
 * sign-out evicts the session from its own task's cache at once. The table holds no session id, only its SHA-256:
 * a leaked table lets nobody sign in (the cookie also needs CONSOLE_SESSION_SECRET's signature).
 *
 * A failed read is an UnavailableError (503): a session that cannot be checked is not let in.
 */
export interface SessionStoreOptions {
  dynamodb: Pick<DynamoDBClient, 'send'>;
  table: string;
  /** How long an answer of `alive` is reused, ms. Default 5000. */
  cacheMs?: number;
  /** Sessions kept in the cache at most (the oldest answer goes first). Default 10,000. */
  cacheMax?: number;
  /** Gives up on one call (its retries included) after this long. Default 5000 ms. */
  timeoutMs?: number;
}

export const DEFAULT_SESSION_CHECK_MS = 5000;
export const sessionKey = (sessionId: string) => `session#${createHash('sha256').update(sessionId).digest('hex')}`;

export class SessionStore {
  private readonly cache = new Map<string, { alive: boolean; at: number }>();

  constructor(private readonly opts: SessionStoreOptions) {}

  private get signal() {
    return { abortSignal: AbortSignal.timeout(this.opts.timeoutMs ?? 5000) };
  }

  /** Records a new session (sign-in): it is alive until it expires, is signed out, or is revoked. */
  async create(session: Session): Promise<void> {
    try {
      await this.opts.dynamodb.send(
        new PutItemCommand({
          TableName: this.opts.table,
          Item: {
            pk: { S: sessionKey(session.sessionId) },
            person: { S: session.person },
            issuedAt: { N: String(session.issuedAt) },
            expiresAt: { N: String(session.expiresAt) },
            ttl: { N: String(Math.ceil(session.expiresAt / 1000) + 3600) },
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
        this.signal,
      );
    } catch (cause) {
      throw new UnavailableError('console auth table (create session)', { cause });
    }
    this.remember(session.sessionId, true, session.issuedAt);
  }

  /**
   * Whether the session of `person` is still on record and unexpired at `now`: the cached answer if it is younger
   * than cacheMs, else one GetItem. UnavailableError when the table does not answer.
   */
  async alive(sessionId: string, person: string, now: number): Promise<boolean> {
    const hit = this.cache.get(sessionId);
    const cacheMs = this.opts.cacheMs ?? DEFAULT_SESSION_CHECK_MS;
    if (hit && now >= hit.at && now - hit.at < cacheMs) return hit.alive;
    let item: Record<string, AttributeValue> | undefined;
    try {
      const out = await this.opts.dynamodb.send(
        new GetItemCommand({ TableName: this.opts.table, Key: { pk: { S: sessionKey(sessionId) } } }),
        this.signal,
      );
      item = out.Item;
    } catch (cause) {
      throw new UnavailableError('console auth table (check session)', { cause });
    }
    const alive = item?.person?.S === person && Number(item.expiresAt?.N ?? 0) > now;
    this.remember(sessionId, alive, now);
    return alive;
  }

  /** Ends a session (sign-out): deleted from the table, and refused by this task at once. */
  async end(sessionId: string, now: number): Promise<void> {
    this.remember(sessionId, false, now);
    try {
      await this.opts.dynamodb.send(
        new DeleteItemCommand({ TableName: this.opts.table, Key: { pk: { S: sessionKey(sessionId) } } }),
        this.signal,
      );
    } catch (cause) {
      throw new UnavailableError('console auth table (end session)', { cause });
    }
  }

  /** One GetItem of a key that never exists, for GET /healthz (dependency-health.ts): rejects when it fails. */
  async probe(signal: AbortSignal): Promise<void> {
    await this.opts.dynamodb.send(
      new GetItemCommand({ TableName: this.opts.table, Key: { pk: { S: 'health#probe' } } }),
      { abortSignal: signal },
    );
  }

  private remember(sessionId: string, alive: boolean, at: number) {
    this.cache.delete(sessionId);
    this.cache.set(sessionId, { alive, at });
    const max = this.opts.cacheMax ?? 10_000;
    for (const key of this.cache.keys()) {
      if (this.cache.size <= max) break;
      this.cache.delete(key);
    }
  }
}
