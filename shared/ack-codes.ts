import { createHash } from 'node:crypto';
import {
  BatchGetItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { normalizeAddress } from '../schemas/address.js';
import { isConditionFailure } from '../platform/aws-errors.js';
import { batchGetByPk } from '../platform/batch-get.js';

/**
 * Short acknowledge codes for SMS/WhatsApp replies ("ACK 7KQ2MX"). The paging processor allocates a
 * code per incident in the ledger table and records every address it paged with that code; the
 * receiver resolves a reply's code to the incident and checks that the reply came from a paged address.
 * A new incident's code goes out in one write beside its decision (`claimFirst`); `allocate` is the general path.
 *
 * Item: `pk = 'ack#' + code`, incidentId, alarmArn, expiresAt (epoch ms), ttl (epoch s, for DynamoDB
 * TTL), person (optional), recipients (string set, optional: `<address>` or `<address>|<person>`, the
 * address normalized by schemas/address.ts).
 */

/** 32 symbols without 0/O and 1/I: nothing to confuse when typed from a phone screen. */
export const ACK_ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';
export const ACK_CODE_LENGTH = 6;
/** Candidate codes per incident (attempts 0..15). 16 live codes all held by others: ~(N/2^30)^16. */
export const ACK_CODE_ATTEMPTS = 16;

/**
 * The incident's code for `attempt`: 6 symbols (30 bits) of sha256. Deterministic, so replays agree.
 * Attempt 0 is the code of the first release (links and codes already sent stay valid).
 */
export function ackCodeFor(incidentId: string, attempt = 0): string {
  if (!Number.isInteger(attempt) || attempt < 0)
    throw new RangeError(`ack code attempt must be a non-negative integer: ${attempt}`);
  const input = attempt === 0 ? `ack-code\u001f${incidentId}` : `ack-code\u001f${incidentId}\u001f${attempt}`;
  const digest = createHash('sha256').update(input).digest();
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

/** An address paged with the code (normalized: E.164 phone number or lowercased email), and whose it is. */
export interface AckRecipient {
  address: string;
  person?: string;
}

/** What `resolve()` returns: the entry plus every address paged with the code. */
export interface ResolvedAckCode extends AckCodeEntry {
  recipients: AckRecipient[];
}

/** Every candidate code of the incident is held by another live incident (practically never). */
export class AckCodesExhaustedError extends Error {
  constructor(
    readonly incidentId: string,
    readonly codes: readonly string[],
  ) {
    super(`all ${codes.length} candidate ack codes of incident ${incidentId} are held by other live incidents`);
    this.name = 'AckCodesExhaustedError';
  }
}

/** addRecipients on a code that is not (or no longer) the incident's. */
export class AckCodeNotHeldError extends Error {
  constructor(
    readonly code: string,
    readonly incidentId: string,
  ) {
    super(`ack code ${code} is not held by incident ${incidentId}`);
    this.name = 'AckCodeNotHeldError';
  }
}

export interface AckCodesOptions {
  dynamodb: Pick<DynamoDBClient, 'send'>;
  /** The ledger table (HASH key `pk` (S)). */
  table: string;
  /** Clock (tests). Default Date.now. */
  now?: () => number;
}

const PERSON = /^[a-z0-9_.-]+$/;

/** `address` or `address|person` (person ids are `[a-z0-9_.-]+`, so the last `|` splits). */
function encodeRecipient(r: AckRecipient): string {
  return r.person ? `${r.address}|${r.person}` : r.address;
}

function decodeRecipient(s: string): AckRecipient {
  const bar = s.lastIndexOf('|');
  if (bar > 0 && PERSON.test(s.slice(bar + 1))) return { address: s.slice(0, bar), person: s.slice(bar + 1) };
  return { address: s };
}

/** Addresses as the `recipients` set stores them (normalized, deduplicated); RangeError for a non-address. */
function recipientValues(addresses: readonly (string | AckRecipient)[]): string[] {
  const values = new Set<string>();
  for (const a of addresses) {
    const r = typeof a === 'string' ? { address: a } : a;
    const address = normalizeAddress(r.address);
    if (!address) throw new RangeError('not a phone number or email address (value withheld)');
    if (r.person !== undefined && !PERSON.test(r.person))
      throw new RangeError(`not a person id: ${JSON.stringify(r.person)}`);
    values.add(encodeRecipient({ address, person: r.person }));
  }
  return [...values];
}

type Item = Record<string, AttributeValue>;

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
   * The incident's code: the first of its candidate codes (attempts 0..15) that it already holds, else
   * the first that is free or expired, claimed with a conditional write. Idempotent: a retry (or a
   * second worker) gets the code the incident already holds — looked for among all candidates first, so
   * a candidate freed later does not give the incident a second code. A held code's expiry is only ever
   * extended. Throws AckCodesExhaustedError when all candidates are held by other live incidents.
   * Cost: one BatchGetItem, plus one PutItem when the incident holds no code yet.
   */
  async allocate(entry: AckCodeEntry): Promise<string> {
    const codes = Array.from({ length: ACK_CODE_ATTEMPTS }, (_, attempt) => ackCodeFor(entry.incidentId, attempt));
    const items = await this.getMany(codes);
    const now = this.now();
    const live = (item: Item | undefined) => item !== undefined && Number(item.expiresAt?.N) > now;

    const own = codes.find((code) => live(items.get(code)) && items.get(code)!.incidentId?.S === entry.incidentId);
    if (own) {
      await this.extend(own, entry, Number(items.get(own)!.expiresAt!.N));
      return own;
    }
    for (const code of codes) {
      if (live(items.get(code))) continue; // another incident's
      if (await this.claim(code, this.item(code, entry))) return code;
      // Lost a race: someone claimed it since the read. Ours (a concurrent allocate)? Then it is the answer.
      const now2 = await this.getOne(code);
      if (now2?.incidentId?.S === entry.incidentId && Number(now2.expiresAt?.N) > this.now()) return code;
    }
    throw new AckCodesExhaustedError(entry.incidentId, codes);
  }

  /**
   * Records addresses paged with the code (a string or `{address, person}`; phone numbers with or
   * without `whatsapp:`, emails). Idempotent (a set). Throws AckCodeNotHeldError when the code is not
   * the incident's, RangeError for something that is not an address.
   */
  async addRecipients(code: string, incidentId: string, addresses: readonly (string | AckRecipient)[]): Promise<void> {
    const canonical = normalizeAckCode(code);
    if (!canonical) throw new RangeError(`not an ack code: ${JSON.stringify(code)}`);
    const values = recipientValues(addresses);
    if (values.length === 0) return; // DynamoDB refuses an empty set
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: { S: AckCodes.key(canonical) } },
          UpdateExpression: 'ADD recipients :r',
          ConditionExpression: 'incidentId = :inc',
          ExpressionAttributeValues: { ':r': { SS: values }, ':inc': { S: incidentId } },
        }),
      );
    } catch (err) {
      if (isConditionFailure(err)) throw new AckCodeNotHeldError(canonical, incidentId);
      throw err;
    }
  }

  /**
   * A new incident's code in one conditional write, with the addresses its first pages go to: its first
   * candidate (`ackCodeFor(incidentId)`), claimed with them if free or expired — no read before, so it can
   * go out beside the incident's own first write. Undefined when the candidate is held (by another live
   * incident, or by this one already: a retry): the caller then runs `allocate` + `addRecipients`, which
   * settle both. Collision-safe like `allocate` (the condition is the claim). One thing it does not check:
   * whether the incident already holds a later candidate (only after a crash, once its first candidate
   * expired meanwhile): it then holds two codes, both its own.
   */
  async claimFirst(entry: AckCodeEntry, recipients: readonly (string | AckRecipient)[]): Promise<string | undefined> {
    const code = ackCodeFor(entry.incidentId);
    const values = recipientValues(recipients);
    const item = this.item(code, entry);
    if (values.length > 0) item.recipients = { SS: values };
    return (await this.claim(code, item)) ? code : undefined;
  }

  /** The incident of a code (as typed: case and spaces do not matter); undefined if unknown or expired. */
  async resolve(code: string): Promise<ResolvedAckCode | undefined> {
    const canonical = normalizeAckCode(code);
    if (!canonical) return undefined;
    const item = await this.getOne(canonical);
    if (!item?.incidentId?.S || !item.alarmArn?.S || !item.expiresAt?.N) return undefined;
    const expiresAt = Number(item.expiresAt.N);
    if (!(expiresAt > this.now())) return undefined;
    return {
      incidentId: item.incidentId.S,
      alarmArn: item.alarmArn.S,
      expiresAt,
      ...(item.person?.S ? { person: item.person.S } : {}),
      recipients: (item.recipients?.SS ?? []).map(decodeRecipient),
    };
  }

  private item(code: string, entry: AckCodeEntry): Item {
    const item: Item = {
      pk: { S: AckCodes.key(code) },
      incidentId: { S: entry.incidentId },
      alarmArn: { S: entry.alarmArn },
      expiresAt: { N: String(Math.trunc(entry.expiresAt)) },
      ttl: { N: String(Math.ceil(entry.expiresAt / 1000)) },
    };
    if (entry.person) item.person = { S: entry.person };
    return item;
  }

  /** A fresh item for `code` if it is free or expired; false when another write holds it. */
  private async claim(code: string, item: Item): Promise<boolean> {
    try {
      await this.dynamodb.send(
        new PutItemCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
          ExpressionAttributeValues: { ':now': { N: String(this.now()) } },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /** Pushes a held code's expiry out to the entry's, if later (never shortens; recipients kept). */
  private async extend(code: string, entry: AckCodeEntry, storedExpiresAt: number): Promise<void> {
    if (!(entry.expiresAt > storedExpiresAt)) return;
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: { S: AckCodes.key(code) } },
          UpdateExpression: 'SET expiresAt = :exp, #ttl = :ttl',
          ConditionExpression: 'incidentId = :inc AND expiresAt < :exp',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ':exp': { N: String(Math.trunc(entry.expiresAt)) },
            ':ttl': { N: String(Math.ceil(entry.expiresAt / 1000)) },
            ':inc': { S: entry.incidentId },
          },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err; // a concurrent extend got there first
    }
  }

  private async getOne(code: string): Promise<Item | undefined> {
    const out = await this.dynamodb.send(
      new GetItemCommand({ TableName: this.table, Key: { pk: { S: AckCodes.key(code) } }, ConsistentRead: true }),
    );
    return out.Item;
  }

  /** Consistent reads of the codes' items (platform/batch-get.ts: one BatchGetItem, retrying unprocessed keys). */
  private async getMany(codes: readonly string[]): Promise<Map<string, Item>> {
    const keys = codes.map((code) => AckCodes.key(code));
    const items = await batchGetByPk(this.table, keys, (Keys) =>
      this.dynamodb.send(
        new BatchGetItemCommand({
          RequestItems: {
            [this.table]: { Keys, ConsistentRead: true, ProjectionExpression: 'pk, incidentId, expiresAt' },
          },
        }),
      ),
    );
    return new Map([...items].map(([pk, item]) => [pk.slice('ack#'.length), item]));
  }
}
