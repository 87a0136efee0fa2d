import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * Short acknowledge codes for SMS/WhatsApp replies ("ACK 7KQ2MX"). The paging processor registers
 * the code of each incident in the ledger table; the receiver resolves a reply's code to the
 * incident. Item: `pk = 'ack#' + code`, incidentId, alarmArn, expiresAt (epoch ms), ttl (epoch s, for
 * DynamoDB TTL), person (optional).
 */

/** 32 symbols without 0/O and 1/I: nothing to confuse when typed from a phone screen. */
export const ACK_ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';
export const ACK_CODE_LENGTH = 6;

/** The incident's code: 6 symbols (30 bits) of sha256(incidentId). Deterministic, so replays agree. */
export function ackCodeFor(incidentId: string): string {
  const digest = createHash('sha256').update(`ack-code\u001f${incidentId}`).digest();
  let code = '';
  for (let i = 0; i < ACK_CODE_LENGTH; i++) code += ACK_ALPHABET[digest[i] & 31];
  return code;
}

/** A code as a person typed it → canonical form, or undefined if it cannot be a code. */
export function normalizeAckCode(input: string): string | undefined {
  const code = input.trim().toUpperCase();
  if (code.length !== ACK_CODE_LENGTH) return undefined;
  for (const ch of code) if (!ACK_ALPHABET.includes(ch)) return undefined;
  return code;
}

export interface AckCodeEntry {
  incidentId: string;
  alarmArn: string;
  /** Epoch ms after which the code no longer resolves. */
  expiresAt: number;
  person?: string;
}

/** The code is registered (and not expired) for another incident: pick another code or fail. */
export class AckCodeConflictError extends Error {
  constructor(readonly code: string) {
    super(`ack code ${code} is already registered for another incident`);
    this.name = 'AckCodeConflictError';
  }
}

export interface AckCodesOptions {
  dynamodb: Pick<DynamoDBClient, 'send'>;
  /** The ledger table (HASH key `pk` (S)). */
  table: string;
  /** Clock (tests). */
  now?: () => number;
}

export class AckCodes {
  private readonly dynamodb: Pick<DynamoDBClient, 'send'>;
  private readonly table: string;
  private readonly now: () => number;

  constructor(options: AckCodesOptions) {
    this.dynamodb = options.dynamodb;
    this.table = options.table;
    this.now = options.now ?? Date.now;
  }

  static key(code: string): string {
    return `ack#${code}`;
  }

  /**
   * Registers `code` for the incident. Idempotent for the same incident (a retry overwrites its own
   * item); throws AckCodeConflictError when the code belongs to another incident that has not expired.
   */
  async register(code: string, entry: AckCodeEntry): Promise<void> {
    const canonical = normalizeAckCode(code);
    if (!canonical) throw new RangeError(`not an ack code: ${JSON.stringify(code)}`);
    const item: Record<string, { S: string } | { N: string }> = {
      pk: { S: AckCodes.key(canonical) },
      incidentId: { S: entry.incidentId },
      alarmArn: { S: entry.alarmArn },
      expiresAt: { N: String(Math.trunc(entry.expiresAt)) },
      ttl: { N: String(Math.ceil(entry.expiresAt / 1000)) },
    };
    if (entry.person) item.person = { S: entry.person };
    try {
      await this.dynamodb.send(
        new PutItemCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk) OR incidentId = :inc OR expiresAt < :now',
          ExpressionAttributeValues: { ':inc': { S: entry.incidentId }, ':now': { N: String(this.now()) } },
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException || (err as Error | undefined)?.name === 'ConditionalCheckFailedException') {
        throw new AckCodeConflictError(canonical);
      }
      throw err;
    }
  }

  /** The incident of a code (as typed: case and spaces do not matter); undefined if unknown or expired. */
  async resolve(code: string): Promise<AckCodeEntry | undefined> {
    const canonical = normalizeAckCode(code);
    if (!canonical) return undefined;
    const out = await this.dynamodb.send(
      new GetItemCommand({ TableName: this.table, Key: { pk: { S: AckCodes.key(canonical) } }, ConsistentRead: true }),
    );
    const item = out.Item;
    if (!item?.incidentId?.S || !item.alarmArn?.S || !item.expiresAt?.N) return undefined;
    const expiresAt = Number(item.expiresAt.N);
    if (!(expiresAt > this.now())) return undefined;
    return { incidentId: item.incidentId.S, alarmArn: item.alarmArn.S, expiresAt, person: item.person?.S };
  }
}
