import { setTimeout as sleep } from 'node:timers/promises';
import {
  PutRecordsCommand,
  type KinesisClient,
  type PutRecordsRequestEntry,
  type PutRecordsResultEntry,
} from '@aws-sdk/client-kinesis';
import { encodeRecord, partitionKeyOf, type StreamRecordIn } from '../../schemas/envelope.js';
import { fitsPartitionKey } from '../../schemas/partition-key.js';
import { InvalidRecordError, PutRecordsFailedError, RecordTooLargeError, type FailedEntry } from './errors.js';
import { awsErrorCode, backoffDelay, isRetryableEntryError, isRetryableError } from '../aws-errors.js';
import type { StructuredLogger } from '../logger.js';

export { InvalidRecordError, PutRecordsFailedError, RecordTooLargeError } from './errors.js';

const MiB = 1024 * 1024;

/**
 * Defaults of the options both producers share (KinesisProducer, and BatchingProducer, which sends
 * through one): the PutRecords limits (500 records, 5 MiB per call, 1 MiB per record) and the retry.
 */
export const PUT_RECORDS_DEFAULTS = {
  maxBatchRecords: 500,
  maxBatchBytes: 5 * MiB,
  maxRecordBytes: 1 * MiB,
  maxAttempts: 8,
  baseDelayMs: 100,
  maxDelayMs: 5000,
} as const;

/** What a producer logs: warnings and debug lines (a pino Logger fits). */
export type ProducerLogger = Pick<StructuredLogger, 'warn' | 'debug'>;

export interface KinesisProducerOptions {
  /** Only `send` is used (a fake with `send` works in tests). */
  kinesis: Pick<KinesisClient, 'send'>;
  streamName: string;
  /** Records per PutRecords call. Default 500 (the Kinesis limit). */
  maxBatchRecords?: number;
  /** Bytes per PutRecords call, data + partition keys (UTF-8), as Kinesis counts them. Default 5 MiB. */
  maxBatchBytes?: number;
  /** Bytes per record, data + partition key. Default 1 MiB. */
  maxRecordBytes?: number;
  /** PutRecords attempts per batch (the first try included) before giving up. Default 8. */
  maxAttempts?: number;
  /** Backoff base: attempt n waits ~baseDelayMs·2^(n-1) (equal jitter), capped at maxDelayMs. Default 100. */
  baseDelayMs?: number;
  /** Default 5000. */
  maxDelayMs?: number;
  logger?: ProducerLogger;
}

export interface ProducerEntry {
  data: Uint8Array;
  /**
   * 1–256 UTF-16 code units (schemas/partition-key.ts); hashed (MD5) to pick the shard unless explicitHashKey is
   * given.
   */
  partitionKey: string;
  /** Decimal 128-bit hash key that overrides the partition key hash. */
  explicitHashKey?: string;
}

export interface PutResult {
  shardId: string;
  sequenceNumber: string;
}

/**
 * Size of an entry as Kinesis counts it (data bytes + UTF-8 partition key bytes); throws
 * InvalidRecordError (empty or over-long partition key, bad hash key, data not bytes) or
 * RecordTooLargeError (over `maxRecordBytes`) for an entry Kinesis would reject whatever we retry.
 * `index`: the entry's position in the caller's input (named in the error).
 */
export function validateEntry(entry: ProducerEntry, index: number, maxRecordBytes: number): number {
  const pk = entry.partitionKey;
  if (typeof pk !== 'string' || pk.length === 0) throw new InvalidRecordError(index, 'empty partition key');
  // AWS limits the key to 256 Unicode characters counted as code points, kinesalite as UTF-16 code units: counted
  // the stricter way (schemas/partition-key.ts), a key is never accepted here and then refused by the engine forever.
  if (!fitsPartitionKey(pk)) {
    throw new InvalidRecordError(index, `partition key has ${pk.length} UTF-16 code units, over 256`);
  }
  if (entry.explicitHashKey !== undefined && !/^(0|[1-9]\d{0,38})$/.test(entry.explicitHashKey)) {
    throw new InvalidRecordError(index, 'explicitHashKey is not a decimal 128-bit integer');
  }
  if (!(entry.data instanceof Uint8Array)) throw new InvalidRecordError(index, 'data is not a Uint8Array');
  const bytes = entry.data.byteLength + Buffer.byteLength(pk, 'utf8');
  if (bytes > maxRecordBytes) throw new RecordTooLargeError(index, bytes, maxRecordBytes);
  return bytes;
}

/**
 * Writes records to one Kinesis stream with PutRecords, durably: a call resolves only once Kinesis
 * has acknowledged every record (an HTTP handler may answer 2xx after that, never before).
 *
 * - Batches: at most `maxBatchRecords` records and `maxBatchBytes` (data + partition keys) per call;
 *   batches are sent one after the other, each fully acknowledged before the next is sent, so
 *   records of one partition key reach their shard in input order unless an entry fails.
 * - Partial failure: only the failed entries (FailedRecordCount / per-entry ErrorCode
 *   ProvisionedThroughputExceededException, InternalFailure, KMSThrottlingException) are retried,
 *   in their input order, with exponential backoff + jitter. A retried entry lands after entries of
 *   the same partition key that succeeded in the same call: per-key order is then broken, which is
 *   why readers order by event_time and dedupe by event_id, never by arrival.
 * - Whole-call failure: throttling, 5xx and network errors are retried the same way (the SDK client
 *   has its own retries underneath; a timed-out call may have been written: at-least-once).
 *   Validation errors (ResourceNotFound, InvalidArgument, AccessDenied, KMS…) are not retried.
 * - Gives up with PutRecordsFailedError (failed entries + codes, attempts, results of the entries
 *   that were written, `cause`). A record over maxRecordBytes throws RecordTooLargeError, and an
 *   invalid partition key InvalidRecordError, before anything is sent.
 */
export class KinesisProducer {
  readonly streamName: string;
  readonly maxBatchRecords: number;
  readonly maxBatchBytes: number;
  readonly maxRecordBytes: number;
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  private readonly kinesis: Pick<KinesisClient, 'send'>;
  private readonly logger?: ProducerLogger;

  constructor(options: KinesisProducerOptions) {
    this.kinesis = options.kinesis;
    this.streamName = options.streamName;
    this.maxBatchRecords = options.maxBatchRecords ?? PUT_RECORDS_DEFAULTS.maxBatchRecords;
    this.maxBatchBytes = options.maxBatchBytes ?? PUT_RECORDS_DEFAULTS.maxBatchBytes;
    this.maxRecordBytes = options.maxRecordBytes ?? PUT_RECORDS_DEFAULTS.maxRecordBytes;
    this.maxAttempts = options.maxAttempts ?? PUT_RECORDS_DEFAULTS.maxAttempts;
    this.baseDelayMs = options.baseDelayMs ?? PUT_RECORDS_DEFAULTS.baseDelayMs;
    this.maxDelayMs = options.maxDelayMs ?? PUT_RECORDS_DEFAULTS.maxDelayMs;
    this.logger = options.logger;
    if (!(this.maxBatchRecords >= 1 && this.maxBatchRecords <= 500))
      throw new RangeError('maxBatchRecords must be 1..500');
    if (!(this.maxRecordBytes >= 1)) throw new RangeError('maxRecordBytes must be >= 1');
    if (!(this.maxBatchBytes >= this.maxRecordBytes)) throw new RangeError('maxBatchBytes must be >= maxRecordBytes');
    if (!(this.maxAttempts >= 1)) throw new RangeError('maxAttempts must be >= 1');
  }

  /** Encodes (validating) and writes one stream record, keyed by its alarm ARN. */
  async putRecord(record: StreamRecordIn): Promise<PutResult> {
    const [result] = await this.putStreamRecords([record]);
    return result;
  }

  /** Encodes (validating all first: nothing is sent if one is invalid) and writes stream records. */
  async putStreamRecords(records: readonly StreamRecordIn[]): Promise<PutResult[]> {
    const entries = records.map((r) => ({ data: encodeRecord(r), partitionKey: partitionKeyOf(r) }));
    return this.putRecords(entries);
  }

  /** Writes raw entries; resolves with each entry's shard and sequence number, in input order. */
  async putRecords(entries: readonly ProducerEntry[]): Promise<PutResult[]> {
    const sizes = entries.map((e, i) => this.validate(e, i));
    const results: (PutResult | undefined)[] = new Array(entries.length).fill(undefined);
    for (const batch of this.batches(sizes)) {
      await this.sendBatch(entries, batch, results);
    }
    return results as PutResult[];
  }

  private validate(entry: ProducerEntry, index: number): number {
    return validateEntry(entry, index, this.maxRecordBytes);
  }

  /** Greedy split of the input indexes into batches within the count and byte limits. */
  private *batches(sizes: readonly number[]): Generator<number[]> {
    let batch: number[] = [];
    let bytes = 0;
    for (let i = 0; i < sizes.length; i++) {
      if (batch.length > 0 && (batch.length >= this.maxBatchRecords || bytes + sizes[i] > this.maxBatchBytes)) {
        yield batch;
        batch = [];
        bytes = 0;
      }
      batch.push(i);
      bytes += sizes[i];
    }
    if (batch.length > 0) yield batch;
  }

  private async sendBatch(
    entries: readonly ProducerEntry[],
    batch: number[],
    results: (PutResult | undefined)[],
  ): Promise<void> {
    let pending = batch;
    let lastFailures: FailedEntry[] = [];
    let lastError: unknown;
    for (let attempt = 1; ; attempt++) {
      const request: PutRecordsRequestEntry[] = pending.map((i) => ({
        Data: entries[i].data,
        PartitionKey: entries[i].partitionKey,
        ExplicitHashKey: entries[i].explicitHashKey,
      }));
      let retryable: boolean;
      try {
        const out = await this.kinesis.send(new PutRecordsCommand({ StreamName: this.streamName, Records: request }));
        const records: PutRecordsResultEntry[] = out.Records ?? [];
        if (records.length !== pending.length) {
          throw Object.assign(
            new Error(`PutRecords returned ${records.length} results for ${pending.length} records`),
            {
              name: 'InternalFailure',
            },
          );
        }
        const failedNext: number[] = [];
        lastFailures = [];
        records.forEach((r, j) => {
          const index = pending[j];
          if (r.ErrorCode || !r.SequenceNumber || !r.ShardId) {
            failedNext.push(index);
            lastFailures.push({
              index,
              partitionKey: entries[index].partitionKey,
              errorCode: r.ErrorCode ?? 'InternalFailure',
              errorMessage: r.ErrorMessage,
            });
          } else {
            results[index] = { shardId: r.ShardId, sequenceNumber: r.SequenceNumber };
          }
        });
        if (failedNext.length === 0) return;
        lastError = undefined;
        pending = failedNext;
        retryable = lastFailures.every((f) => isRetryableEntryError(f.errorCode));
      } catch (err) {
        lastError = err;
        const code = awsErrorCode(err);
        lastFailures = pending.map((index) => ({
          index,
          partitionKey: entries[index].partitionKey,
          errorCode: code,
          errorMessage: (err as Error | undefined)?.message,
        }));
        retryable = isRetryableError(err);
      }

      if (!retryable || attempt >= this.maxAttempts) {
        throw new PutRecordsFailedError(
          lastFailures,
          attempt,
          results.slice(),
          lastError ? { cause: lastError } : undefined,
        );
      }
      const delay = backoffDelay(attempt, this.baseDelayMs, this.maxDelayMs);
      this.logger?.warn(
        {
          stream: this.streamName,
          attempt,
          failed: lastFailures.length,
          codes: [...new Set(lastFailures.map((f) => f.errorCode))],
          delayMs: delay,
        },
        'PutRecords: retrying failed records',
      );
      await sleep(delay);
    }
  }
}
