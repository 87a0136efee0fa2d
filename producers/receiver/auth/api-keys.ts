import { randomBytes } from 'node:crypto';
import { PutItemCommand, ScanCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { isConditionFailure } from '../../../platform/aws-errors.js';
import { UnavailableError } from '../errors.js';
import { entryOf, sha256, type ApiKeyAction, type ApiKeyEntry, type AuthStoreOptions } from './store.js';

/**
 * API keys for machines, administered by `make api-key` (infra/console/api-key.ts), never by the receiver: a key is
 * `ptk_<16 hex id>_<43 base64url>` (256 random bits), shown once; the table keeps its SHA-256, its name, the teams
 * (`*`: all) and actions it may use, and `revokedAt` once revoked (the receiver's AuthStore.verifyApiKey refuses it).
 */
export class ApiKeys {
  constructor(private readonly opts: AuthStoreOptions) {}

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (cause) {
      throw new UnavailableError(`console auth table (${what})`, { cause });
    }
  }

  /** Creates an API key: the key itself (shown once, never stored) and its entry. */
  async createApiKey(
    spec: { name: string; teams: string[]; actions: ApiKeyAction[] },
    now: number,
  ): Promise<{ key: string; entry: ApiKeyEntry }> {
    const keyId = randomBytes(8).toString('hex');
    const key = `ptk_${keyId}_${randomBytes(32).toString('base64url')}`;
    const entry: ApiKeyEntry = { keyId, name: spec.name, teams: spec.teams, actions: spec.actions, createdAt: now };
    await this.call('create key', () =>
      this.opts.dynamodb.send(
        new PutItemCommand({
          TableName: this.opts.table,
          Item: {
            pk: { S: `apikey#${keyId}` },
            hash: { S: sha256(key) },
            name: { S: spec.name },
            teams: { L: spec.teams.map((t) => ({ S: t })) },
            actions: { L: spec.actions.map((a) => ({ S: a })) },
            createdAt: { N: String(now) },
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
    return { key, entry };
  }

  /** Revokes a key by id; false when there is no such key (or it was revoked already). */
  async revokeApiKey(keyId: string, now: number): Promise<boolean> {
    try {
      await this.opts.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.opts.table,
          Key: { pk: { S: `apikey#${keyId}` } },
          UpdateExpression: 'SET revokedAt = :now',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(revokedAt)',
          ExpressionAttributeValues: { ':now': { N: String(now) } },
        }),
      );
      return true;
    } catch (cause) {
      if (isConditionFailure(cause)) return false;
      throw new UnavailableError('console auth table (revoke key)', { cause });
    }
  }

  /** Every API key's entry (no secret: the table holds none), for `make api-key LIST=1`. */
  async listApiKeys(): Promise<ApiKeyEntry[]> {
    const out: ApiKeyEntry[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.call('list keys', () =>
        this.opts.dynamodb.send(
          new ScanCommand({
            TableName: this.opts.table,
            FilterExpression: 'begins_with(pk, :p)',
            ExpressionAttributeValues: { ':p': { S: 'apikey#' } },
            ExclusiveStartKey: start,
          }),
        ),
      );
      for (const item of page.Items ?? []) out.push(entryOf(item.pk.S!.slice('apikey#'.length), item));
      start = page.LastEvaluatedKey;
    } while (start);
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }
}
