import {
  PutRecordsCommand,
  type KinesisClient,
  type PutRecordsRequestEntry,
  type PutRecordsResultEntry,
} from '@aws-sdk/client-kinesis';
import { encodeRecord, partitionKeyOf, type StreamRecordIn } from '../../schemas/envelope.js';
import { awsErrorCode, backoffDelay, isRetryableEntryError, isRetryableError } from '../aws-errors.js';
import { ProducerClosedError, ProducerOverloadedError, PutRecordsFailedError, type FailedEntry } from './errors.js';
import {
  KinesisProducer,
  PUT_RECORDS_DEFAULTS,
  validateEntry,
  type ProducerEntry,
  type ProducerLogger,
  type PutResult,
} from './kinesis-producer.js';

export { ProducerClosedError, ProducerOverloadedError } from './errors.js';

export interface BatchingProducerOptions {
  /** Only `send` is used (a fake with `send` works in tests). */
  kinesis: Pick<KinesisClient, 'send'>;
  streamName: string;
  /**
   * Longest a record waits for company before its PutRecords call is sent, ms (the Kinesis Producer
   * Library's RecordMaxBufferedTime, which defaults to 100 ms: here a few ms, since an HTTP caller
   * waits for the answer). A full batch goes at once. 0: whatever arrived in the same turn of the
   * event loop. Default 2 (measured with make bench-receiver on 2 cores: 5 → 2 ms took p50 at 1,000/s
   * from 9 to 6 ms and p99 from 30–80 to 29–47 ms; under load batches still grow, as calls in flight
   * hold records back).
   */
  lingerMs?: number;
  /** Records per PutRecords call. Default 500 (the Kinesis limit). */
  maxBatchRecords?: number;
  /** Bytes per call, data + partition keys (UTF-8), as Kinesis counts them. Default 5 MiB (the limit). */
  maxBatchBytes?: number;
  /** Bytes per record, data + partition key. Default 1 MiB (the limit). */
  maxRecordBytes?: number;
  /** PutRecords calls in flight at once; past it records wait, and batches fill up. Default 16. */
  maxInFlight?: number;
  /**
   * Records not yet acknowledged (buffered, in flight, waiting for a retry) beyond which a put is
   * refused at once with ProducerOverloadedError. Default 20,000.
   */
  maxPendingRecords?: number;
  /**
   * Deadline of one PutRecords call (the SDK's own retries included), ms; past it the call is aborted and its entries
   * retried. Default 5,000.
   */
  callTimeoutMs?: number;
  /** Attempts per entry (the first included) before its put fails. Default 8. */
  maxAttempts?: number;
  /**
   * Backoff base: a retry after attempt n waits ~baseDelayMs·2^(n-1) (equal jitter), capped at maxDelayMs.
   * Default 100.
   */
  baseDelayMs?: number;
  /** Default 5000. */
  maxDelayMs?: number;
  logger?: ProducerLogger;
}

/** A caller's put: settled once every one of its entries is acknowledged or has failed for good. */
interface Put {
  results: (PutResult | undefined)[];
  failed: FailedEntry[];
  remaining: number;
  attempts: number;
  cause?: unknown;
  resolve(results: PutResult[]): void;
  reject(err: unknown): void;
}

interface Entry {
  put: Put;
  /** Position in the caller's input. */
  index: number;
  request: PutRecordsRequestEntry;
  bytes: number;
  /** PutRecords attempts so far. */
  attempts: number;
  /** When it joined the queue (performance.now()); 0 for a retry (due at once). */
  queuedAt: number;
}

/**
 * A Kinesis producer for many concurrent callers (an HTTP receiver), after the Kinesis Producer
 * Library: concurrent puts share PutRecords calls. A record waits at most `lingerMs` for company, or
 * less when a full batch (`maxBatchRecords` / `maxBatchBytes`) is queued; at most `maxInFlight` calls
 * are in flight, and while they are, records keep collecting, so batches grow with the load. The
 * durability promise is KinesisProducer's: `put` resolves only once Kinesis acknowledged every one of
 * the caller's records, with each record's shard and sequence number in input order.
 *
 * - Failures are per entry: an entry Kinesis refused (ProvisionedThroughputExceeded, InternalFailure,
 *   KMSThrottling) or whose whole call failed with a retryable error (throttling, 5xx, network,
 *   `callTimeoutMs`) goes back to the front of the queue after a backoff and rides in a later call;
 *   after `maxAttempts`, or at once for a non-retryable error (ResourceNotFound, AccessDenied, …), it
 *   fails, and its put rejects with PutRecordsFailedError (the failed entries with their codes, the
 *   results of those that were written, `cause`) once all its other entries are settled. An entry
 *   written by a call that timed out may be on the stream anyway (at-least-once, as before).
 * - Before anything is queued: a record over `maxRecordBytes` throws RecordTooLargeError, an invalid
 *   partition key InvalidRecordError, an invalid stream record RecordDecodeError; past
 *   `maxPendingRecords` ProducerOverloadedError; after close() ProducerClosedError.
 * - Order: the records of one put that fit in one call are sent in one call, next to each other, in
 *   input order (a put is never split across calls); a put larger than one call is written by a
 *   KinesisProducer, batch after batch. Between puts, order is the order of acknowledgement: puts
 *   with the same partition key in calls in flight at the same time, or a retried entry (which lands
 *   after the entries acknowledged meanwhile), can reach their shard in either order, as with the
 *   KPL. Readers order by event_time and dedupe by event_id, never by arrival.
 * - close() sends what is buffered at once, waits until every put is settled (retries included),
 *   and refuses new puts.
 */
export class BatchingProducer {
  readonly streamName: string;
  readonly lingerMs: number;
  readonly maxBatchRecords: number;
  readonly maxBatchBytes: number;
  readonly maxRecordBytes: number;
  readonly maxInFlight: number;
  readonly maxPendingRecords: number;
  readonly callTimeoutMs: number;
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  private readonly kinesis: Pick<KinesisClient, 'send'>;
  private readonly logger?: ProducerLogger;
  /** Writes puts larger than one call, batch after batch. */
  private readonly sequential: KinesisProducer;

  private queue: Entry[] = [];
  private queuedBytes = 0;
  private inFlight = 0;
  private pending = 0;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private idleWaiters: (() => void)[] = [];

  constructor(options: BatchingProducerOptions) {
    this.kinesis = options.kinesis;
    this.streamName = options.streamName;
    this.lingerMs = options.lingerMs ?? 2;
    this.maxBatchRecords = options.maxBatchRecords ?? PUT_RECORDS_DEFAULTS.maxBatchRecords;
    this.maxBatchBytes = options.maxBatchBytes ?? PUT_RECORDS_DEFAULTS.maxBatchBytes;
    this.maxRecordBytes = options.maxRecordBytes ?? PUT_RECORDS_DEFAULTS.maxRecordBytes;
    this.maxInFlight = options.maxInFlight ?? 16;
    this.maxPendingRecords = options.maxPendingRecords ?? 20_000;
    this.callTimeoutMs = options.callTimeoutMs ?? 5_000;
    this.maxAttempts = options.maxAttempts ?? PUT_RECORDS_DEFAULTS.maxAttempts;
    this.baseDelayMs = options.baseDelayMs ?? PUT_RECORDS_DEFAULTS.baseDelayMs;
    this.maxDelayMs = options.maxDelayMs ?? PUT_RECORDS_DEFAULTS.maxDelayMs;
    this.logger = options.logger;
    if (!(this.lingerMs >= 0)) throw new RangeError('lingerMs must be >= 0');
    if (!(this.maxInFlight >= 1)) throw new RangeError('maxInFlight must be >= 1');
    if (!(this.callTimeoutMs >= 1)) throw new RangeError('callTimeoutMs must be >= 1');
    if (!(this.maxPendingRecords >= 1)) throw new RangeError('maxPendingRecords must be >= 1');
    // checks the shared limits (batch records 1..500, bytes, attempts)
    this.sequential = new KinesisProducer({
      kinesis: {
        send: (command) => this.kinesis.send(command, { abortSignal: AbortSignal.timeout(this.callTimeoutMs) }),
      },
      streamName: this.streamName,
      maxBatchRecords: this.maxBatchRecords,
      maxBatchBytes: this.maxBatchBytes,
      maxRecordBytes: this.maxRecordBytes,
      maxAttempts: this.maxAttempts,
      baseDelayMs: this.baseDelayMs,
      maxDelayMs: this.maxDelayMs,
      logger: this.logger,
    });
  }

  /** Records not yet acknowledged or failed (buffered, in flight, waiting for a retry). */
  get pendingRecords(): number {
    return this.pending;
  }

  /** Encodes (validating all first: nothing is queued if one is invalid) and writes stream records. */
  async putStreamRecords(records: readonly StreamRecordIn[]): Promise<PutResult[]> {
    const entries = records.map((r) => ({ data: encodeRecord(r), partitionKey: partitionKeyOf(r) }));
    return this.putRecords(entries);
  }

  /** Writes raw entries; resolves with each entry's shard and sequence number, in input order. */
  async putRecords(entries: readonly ProducerEntry[]): Promise<PutResult[]> {
    if (this.closing) throw new ProducerClosedError();
    const sizes = entries.map((e, i) => validateEntry(e, i, this.maxRecordBytes));
    if (entries.length === 0) return [];
    if (this.pending + entries.length > this.maxPendingRecords)
      throw new ProducerOverloadedError(this.pending, entries.length, this.maxPendingRecords);
    const total = sizes.reduce((a, b) => a + b, 0);
    if (entries.length > this.maxBatchRecords || total > this.maxBatchBytes) return this.putLarge(entries);

    const queuedAt = performance.now();
    return new Promise<PutResult[]>((resolve, reject) => {
      const put: Put = {
        results: new Array(entries.length).fill(undefined),
        failed: [],
        remaining: entries.length,
        attempts: 0,
        resolve,
        reject,
      };
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i];
        const request: PutRecordsRequestEntry = { Data: e.data, PartitionKey: e.partitionKey };
        if (e.explicitHashKey !== undefined) request.ExplicitHashKey = e.explicitHashKey;
        this.queue.push({ put, index: i, request, bytes: sizes[i], attempts: 0, queuedAt });
      }
      this.queuedBytes += total;
      this.pending += entries.length;
      // not sent from here unless full: puts of the same turn of the event loop ride together
      this.pump(true);
    });
  }

  /** Sends what is buffered now, waits until every put is settled (retries included); later puts are refused. */
  async close(): Promise<void> {
    this.closing = true;
    this.pump();
    if (this.pending > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private async putLarge(entries: readonly ProducerEntry[]): Promise<PutResult[]> {
    this.pending += entries.length;
    try {
      return await this.sequential.putRecords(entries);
    } finally {
      this.settled(entries.length);
    }
  }

  /**
   * Sends every batch that is due (full, lingered long enough, or closing) while calls are free; else
   * arms the linger timer. `onlyFull`: from a put, where only a full batch goes at once.
   */
  private pump(onlyFull = false): void {
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      const full = this.queue.length >= this.maxBatchRecords || this.queuedBytes >= this.maxBatchBytes;
      if (!full && !this.closing && (onlyFull || this.queue[0].queuedAt + this.lingerMs > performance.now())) break;
      void this.send(this.takeBatch());
    }
    if (this.queue.length > 0 && this.inFlight < this.maxInFlight && this.timer === undefined) {
      const delay = Math.max(0, Math.ceil(this.queue[0].queuedAt + this.lingerMs - performance.now()));
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, delay);
    }
  }

  /** The front of the queue within the call limits, whole puts only (one put's entries stay together). */
  private takeBatch(): Entry[] {
    const q = this.queue;
    let n = 0;
    let bytes = 0;
    while (n < q.length) {
      let end = n + 1;
      let groupBytes = q[n].bytes;
      while (end < q.length && q[end].put === q[n].put) groupBytes += q[end++].bytes;
      if (end <= this.maxBatchRecords && bytes + groupBytes <= this.maxBatchBytes) {
        n = end;
        bytes += groupBytes;
        continue;
      }
      if (n === 0) {
        // Only retried entries of one put can get here; take what fits.
        while (n < q.length && n < this.maxBatchRecords && bytes + q[n].bytes <= this.maxBatchBytes)
          bytes += q[n++].bytes;
      }
      break;
    }
    this.queuedBytes -= bytes;
    return q.splice(0, n);
  }

  private async send(batch: Entry[]): Promise<void> {
    this.inFlight++;
    const retry: Entry[] = [];
    let lastCodes: string[] = [];
    const signal = AbortSignal.timeout(this.callTimeoutMs);
    try {
      for (const e of batch) e.attempts++;
      let records: PutRecordsResultEntry[];
      try {
        const out = await this.kinesis.send(
          new PutRecordsCommand({ StreamName: this.streamName, Records: batch.map((e) => e.request) }),
          { abortSignal: signal },
        );
        records = out.Records ?? [];
        if (records.length !== batch.length) {
          throw Object.assign(new Error(`PutRecords returned ${records.length} results for ${batch.length} records`), {
            name: 'InternalFailure',
          });
        }
      } catch (caught) {
        const err = signal.aborted
          ? Object.assign(new Error(`PutRecords did not answer within ${this.callTimeoutMs} ms`), {
              name: 'TimeoutError',
              cause: caught,
            })
          : caught;
        const code = awsErrorCode(err);
        const retryable = isRetryableError(err);
        lastCodes = [code];
        for (const e of batch)
          this.failed(
            e,
            {
              index: e.index,
              partitionKey: e.request.PartitionKey!,
              errorCode: code,
              errorMessage: (err as Error | undefined)?.message,
            },
            retryable,
            retry,
            err,
          );
        return;
      }
      const codes = new Set<string>();
      for (let j = 0; j < batch.length; j++) {
        const r = records[j];
        const e = batch[j];
        if (!r.ErrorCode && r.SequenceNumber && r.ShardId) {
          e.put.results[e.index] = { shardId: r.ShardId, sequenceNumber: r.SequenceNumber };
          this.done(e);
        } else {
          const code = r.ErrorCode ?? 'InternalFailure';
          codes.add(code);
          this.failed(
            e,
            { index: e.index, partitionKey: e.request.PartitionKey!, errorCode: code, errorMessage: r.ErrorMessage },
            isRetryableEntryError(code),
            retry,
          );
        }
      }
      lastCodes = [...codes];
    } finally {
      this.inFlight--;
      if (retry.length > 0) this.retryLater(retry, lastCodes);
      this.pump();
    }
  }

  /** An entry's attempt failed: into `retry` when it may be retried, else settled as failed. */
  private failed(e: Entry, failure: FailedEntry, retryable: boolean, retry: Entry[], cause?: unknown): void {
    if (retryable && e.attempts < this.maxAttempts) {
      retry.push(e);
      return;
    }
    e.put.failed.push(failure);
    if (cause !== undefined) e.put.cause ??= cause;
    this.done(e);
  }

  /** Back to the front of the queue (in their order, due at once) after the backoff of their attempt. */
  private retryLater(entries: Entry[], codes: string[]): void {
    const attempt = Math.max(...entries.map((e) => e.attempts));
    const delayMs = backoffDelay(attempt, this.baseDelayMs, this.maxDelayMs);
    this.logger?.warn(
      { stream: this.streamName, attempt, failed: entries.length, codes, delayMs },
      'PutRecords: retrying failed records',
    );
    setTimeout(() => {
      for (const e of entries) e.queuedAt = 0;
      this.queue.unshift(...entries);
      this.queuedBytes += entries.reduce((a, e) => a + e.bytes, 0);
      this.pump();
    }, delayMs);
  }

  /** One entry settled (acknowledged or failed for good); its put settles with its last entry. */
  private done(e: Entry): void {
    const put = e.put;
    put.attempts = Math.max(put.attempts, e.attempts);
    if (--put.remaining === 0) {
      if (put.failed.length === 0) put.resolve(put.results as PutResult[]);
      else {
        put.failed.sort((a, b) => a.index - b.index);
        put.reject(
          new PutRecordsFailedError(
            put.failed,
            put.attempts,
            put.results.slice(),
            put.cause !== undefined ? { cause: put.cause } : undefined,
          ),
        );
      }
    }
    this.settled(1);
  }

  private settled(n: number): void {
    this.pending -= n;
    if (this.pending === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
