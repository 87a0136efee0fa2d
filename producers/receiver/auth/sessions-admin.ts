import { DeleteItemCommand, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { UnavailableError } from '../errors.js';
import type { AuthStoreOptions } from './store.js';

/**
 * A person's console sessions, administered by `make sessions` (infra/console/sessions.ts), never by the receiver:
 * list them, or end them all (each session item deleted: every receiver task refuses the cookies within its session
 * check's cache window, CONSOLE_SESSION_CHECK_MS; session-store.ts). A Scan of the auth table, which stays small
 * (links and counters expire within a day, sessions an hour after they do).
 */
export interface SessionEntry {
  /** The item's key (`session#<sha256 of the session id>`): names the session without being it. */
  key: string;
  person: string;
  issuedAt: number;
  expiresAt: number;
}

export class SessionsAdmin {
  constructor(private readonly opts: AuthStoreOptions) {}

  /** The person's sessions on record (expired ones the TTL has not deleted yet included), oldest first. */
  async sessionsOf(person: string): Promise<SessionEntry[]> {
    const out: SessionEntry[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      let page: { Items?: Record<string, AttributeValue>[]; LastEvaluatedKey?: Record<string, AttributeValue> };
      try {
        page = await this.opts.dynamodb.send(
          new ScanCommand({
            TableName: this.opts.table,
            FilterExpression: 'begins_with(pk, :p) AND person = :who',
            ExpressionAttributeValues: { ':p': { S: 'session#' }, ':who': { S: person } },
            ExclusiveStartKey: start,
          }),
          { abortSignal: AbortSignal.timeout(10_000) },
        );
      } catch (cause) {
        throw new UnavailableError('console auth table (list sessions)', { cause });
      }
      for (const item of page.Items ?? [])
        out.push({
          key: item.pk.S!,
          person,
          issuedAt: Number(item.issuedAt?.N ?? 0),
          expiresAt: Number(item.expiresAt?.N ?? 0),
        });
      start = page.LastEvaluatedKey;
    } while (start);
    return out.sort((a, b) => a.issuedAt - b.issuedAt);
  }

  /** Ends every session of the person; the sessions ended. */
  async revokeAll(person: string): Promise<SessionEntry[]> {
    const all = await this.sessionsOf(person);
    for (const s of all) {
      try {
        await this.opts.dynamodb.send(
          new DeleteItemCommand({ TableName: this.opts.table, Key: { pk: { S: s.key } } }),
          { abortSignal: AbortSignal.timeout(5000) },
        );
      } catch (cause) {
        throw new UnavailableError('console auth table (end session)', { cause });
      }
    }
    return all;
  }
}
