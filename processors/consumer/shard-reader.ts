import { setTimeout as sleep } from 'node:timers/promises';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { awsErrorCode, backoffDelay, isRetryableError, isThrottlingError } from '../../platform/aws-errors.js';
import type { StructuredLogger } from '../../platform/logger.js';

/** Where a shard reader starts. */
export type StartPosition =
  | { type: 'AFTER_SEQUENCE_NUMBER'; sequenceNumber: string }
  | { type: 'AT_SEQUENCE_NUMBER'; sequenceNumber: string }
  | { type: 'AT_TIMESTAMP'; timestamp: Date }
  | { type: 'TRIM_HORIZON' }
  | { type: 'LATEST' };

export interface ReadRecord {
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
  data: Uint8Array;
  /** ApproximateArrivalTimestamp, epoch ms. */
  arrivalTime: number;
}

export interface ReadBatch {
  records: ReadRecord[];
  millisBehindLatest?: number;
  /** The shard is closed (after a reshard) and every record of it has been returned. */
  ended: boolean;
}

/** What a reader logs: warnings and debug lines (a pino Logger fits). */
export type ReaderLogger = Pick<StructuredLogger, 'warn' | 'debug'>;

export interface ShardReaderOptions {
  kinesis: Pick<KinesisClient, 'send'>;
  streamName: string;
  shardId: string;
  start: StartPosition;
  /** Records per GetRecords call (Kinesis maximum 10,000). Default 10000. */
  limit?: number;
  /** Minimum time between two GetRecords calls (Kinesis allows 5 calls/s per shard). Default 200. */
  minCallIntervalMs?: number;
  /** Minimum time before the next call after a call that returned no records. Default 1000. */
  idleDelayMs?: number;
  /** Backoff base and cap for throttling and transient errors. Defaults 200 and 5000. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Consecutive non-throttling transient errors tolerated before next() throws. Default 10.
   * Throttling is retried as long as it lasts. */
  maxConsecutiveErrors?: number;
  /** Timeout of an AT_TIMESTAMP GetShardIterator call (see the class note). Default 5000. */
  atTimestampTimeoutMs?: number;
  logger?: ReaderLogger;
}

/**
 * Reads one shard with GetShardIterator/GetRecords (polling; no enhanced fan-out).
 *
 * - Rate: at most one GetRecords call every `minCallIntervalMs` (≤ 5/s per shard, shared by all
 *   readers of the shard, so one reader per shard per consumer group), and `idleDelayMs` after an
 *   empty read. next() waits as needed, then makes one GetRecords call (records may be empty).
 * - ProvisionedThroughputExceededException / throttling: exponential backoff, indefinitely.
 *   Transient errors (5xx, network): backoff, up to `maxConsecutiveErrors` in a row.
 * - ExpiredIteratorException (iterators live 5 minutes, e.g. when the handler was slow): a new
 *   iterator AFTER_SEQUENCE_NUMBER the last record returned, or the original start if none was
 *   returned yet (for LATEST that skips whatever arrived meanwhile: there is no position to resume).
 * - `ended` once NextShardIterator is null: the shard was closed by a reshard and is fully read.
 *   kinesis-local returns the null iterator with the last records; kinesalite only on a further
 *   empty read. Both are handled by the same rule.
 * - AT_TIMESTAMP: kinesalite 3.3.3 never answers GetShardIterator AT_TIMESTAMP when the shard holds
 *   no record at or after the timestamp (the request hangs), and rejects a timestamp in the future
 *   (InvalidArgumentException "…cannot be greater than the currentTimestampInMillis");
 *   kinesis-local 0.6.2 rejects a future timestamp too ("Timestamp cannot be in the future") unless
 *   the shard is empty. So the call is bounded by `atTimestampTimeoutMs`, and on timeout or a
 *   future-timestamp rejection the reader falls back to TRIM_HORIZON and drops records that arrived
 *   before the timestamp until the first one at or after it (the rule AT_TIMESTAMP applies
 *   server-side). That reads the shard from its start once: fine for a restart, costly for a long
 *   retention on AWS (where the fallback only triggers for a future timestamp).
 */
export class ShardReader {
  readonly shardId: string;
  private readonly kinesis: Pick<KinesisClient, 'send'>;
  private readonly streamName: string;
  private readonly start: StartPosition;
  private readonly limit: number;
  private readonly minCallIntervalMs: number;
  private readonly idleDelayMs: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxConsecutiveErrors: number;
  private readonly atTimestampTimeoutMs: number;
  private readonly logger?: ReaderLogger;

  private iterator: string | undefined;
  private nextCallAt = 0;
  private _lastSequenceNumber: string | undefined;
  private _ended = false;
  /** AT_TIMESTAMP emulated client-side: drop records that arrived before this (epoch ms). */
  private dropBefore: number | undefined;
  private _calls = 0;

  constructor(options: ShardReaderOptions) {
    this.kinesis = options.kinesis;
    this.streamName = options.streamName;
    this.shardId = options.shardId;
    this.start = options.start;
    this.limit = options.limit ?? 10_000;
    this.minCallIntervalMs = options.minCallIntervalMs ?? 200;
    this.idleDelayMs = options.idleDelayMs ?? 1000;
    this.baseDelayMs = options.baseDelayMs ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 5000;
    this.maxConsecutiveErrors = options.maxConsecutiveErrors ?? 10;
    this.atTimestampTimeoutMs = options.atTimestampTimeoutMs ?? 5000;
    this.logger = options.logger;
    if (!(this.limit >= 1 && this.limit <= 10_000)) throw new RangeError('limit must be 1..10000');
  }

  /** Sequence number of the last record returned by next() (undefined before the first). */
  get lastSequenceNumber(): string | undefined {
    return this._lastSequenceNumber;
  }

  get ended(): boolean {
    return this._ended;
  }

  /** GetRecords calls made so far. */
  get calls(): number {
    return this._calls;
  }

  /**
   * One GetRecords call (after waiting for the rate limit), with retries. Resolves `{records: [],
   * ended: true}` without a call once the shard has ended. Rejects with an AbortError when `signal`
   * aborts, and with the SDK error for non-retryable failures (e.g. ResourceNotFoundException).
   */
  async next(signal?: AbortSignal): Promise<ReadBatch> {
    if (this._ended) return { records: [], ended: true, millisBehindLatest: 0 };
    let throttled = 0;
    let failures = 0;
    for (;;) {
      signal?.throwIfAborted();
      try {
        if (this.iterator === undefined) this.iterator = await this.newIterator(signal);
        const wait = this.nextCallAt - Date.now();
        if (wait > 0) await sleep(wait, undefined, { signal });
        this._calls++;
        const out = await this.kinesis.send(
          new GetRecordsCommand({ ShardIterator: this.iterator, Limit: this.limit }),
          {
            abortSignal: signal,
          },
        );
        const raw = out.Records ?? [];
        let records: ReadRecord[] = raw.map((r) => ({
          shardId: this.shardId,
          sequenceNumber: r.SequenceNumber!,
          partitionKey: r.PartitionKey!,
          data: r.Data ?? new Uint8Array(0),
          arrivalTime: r.ApproximateArrivalTimestamp ? r.ApproximateArrivalTimestamp.getTime() : 0,
        }));
        if (this.dropBefore !== undefined && records.length > 0) {
          const first = records.findIndex((r) => r.arrivalTime >= this.dropBefore!);
          if (first === -1) {
            records = [];
          } else {
            records = records.slice(first);
            this.dropBefore = undefined;
          }
        }
        if (raw.length > 0) this._lastSequenceNumber = raw[raw.length - 1].SequenceNumber;
        this.iterator = out.NextShardIterator ?? undefined;
        this._ended = !out.NextShardIterator;
        this.nextCallAt =
          Date.now() + (raw.length > 0 ? this.minCallIntervalMs : Math.max(this.minCallIntervalMs, this.idleDelayMs));
        // Records fetched but all dropped (emulated AT_TIMESTAMP): not an empty read, fetch on.
        if (raw.length > 0 && records.length === 0 && !this._ended) {
          throttled = 0;
          failures = 0;
          continue;
        }
        return { records, millisBehindLatest: out.MillisBehindLatest, ended: this._ended };
      } catch (err) {
        if (signal?.aborted) throw signal.reason ?? err;
        const code = awsErrorCode(err);
        let delay: number;
        if (code === 'ExpiredIteratorException') {
          this.logger?.warn(
            { shardId: this.shardId, after: this._lastSequenceNumber },
            'shard iterator expired: renewing',
          );
          this.iterator = undefined;
          if (++failures > this.maxConsecutiveErrors) throw err;
          continue;
        } else if (isThrottlingError(err)) {
          delay = backoffDelay(++throttled, this.baseDelayMs, this.maxDelayMs);
        } else if (isRetryableError(err) && ++failures <= this.maxConsecutiveErrors) {
          delay = backoffDelay(failures, this.baseDelayMs, this.maxDelayMs);
        } else {
          throw err;
        }
        this.logger?.warn({ shardId: this.shardId, code, delayMs: delay }, 'GetRecords: retrying');
        await sleep(delay, undefined, { signal });
      }
    }
  }

  /** Resume point: after the last record returned, else the configured start. */
  private async newIterator(signal?: AbortSignal): Promise<string> {
    const base = { StreamName: this.streamName, ShardId: this.shardId };
    if (this._lastSequenceNumber !== undefined) {
      return this.getIterator(
        { ...base, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: this._lastSequenceNumber },
        signal,
      );
    }
    const start = this.start;
    switch (start.type) {
      case 'AFTER_SEQUENCE_NUMBER':
      case 'AT_SEQUENCE_NUMBER':
        return this.getIterator(
          { ...base, ShardIteratorType: start.type, StartingSequenceNumber: start.sequenceNumber },
          signal,
        );
      case 'TRIM_HORIZON':
      case 'LATEST':
        return this.getIterator({ ...base, ShardIteratorType: start.type }, signal);
      case 'AT_TIMESTAMP':
        return this.atTimestamp(start.timestamp, signal);
    }
  }

  private async atTimestamp(timestamp: Date, signal?: AbortSignal): Promise<string> {
    const base = { StreamName: this.streamName, ShardId: this.shardId };
    const timeout = AbortSignal.timeout(this.atTimestampTimeoutMs);
    const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      const it = await this.getIterator({ ...base, ShardIteratorType: 'AT_TIMESTAMP', Timestamp: timestamp }, both);
      this.dropBefore = undefined;
      return it;
    } catch (err) {
      if (signal?.aborted) throw err;
      const futureRejected =
        awsErrorCode(err) === 'InvalidArgumentException' &&
        /greater than the current|in the future/i.test((err as Error).message ?? '');
      if (!timeout.aborted && !futureRejected) throw err;
      this.logger?.warn(
        {
          shardId: this.shardId,
          timestamp: timestamp.toISOString(),
          reason: futureRejected ? 'future timestamp rejected' : 'timeout',
        },
        'AT_TIMESTAMP iterator unavailable: reading from TRIM_HORIZON and filtering by arrival time',
      );
      this.dropBefore = timestamp.getTime();
      return this.getIterator({ ...base, ShardIteratorType: 'TRIM_HORIZON' }, signal);
    }
  }

  private async getIterator(input: GetShardIteratorCommandInput, signal?: AbortSignal): Promise<string> {
    const out = await this.kinesis.send(new GetShardIteratorCommand(input), { abortSignal: signal });
    if (!out.ShardIterator) throw new Error(`GetShardIterator returned no iterator for ${this.shardId}`);
    return out.ShardIterator;
  }
}
