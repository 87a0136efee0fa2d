import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '../../platform/aws-errors.js';
import type { StructuredLogger } from '../../platform/logger.js';
import { ShardReader, type ReadBatch, type StartPosition } from '../consumer/shard-reader.js';
import { CheckpointConflictError, type Checkpoint } from '../consumer/checkpoint-store.js';
import { toKinesisStreamRecord, type ShardRecord } from './kinesis-event.js';
import { interpretBatchResponse } from './batch-response.js';
import { MalformedBatchResponseError } from './errors.js';
import { onFailureRecord, type FailureCondition } from './on-failure.js';
import { dependencyReason, describeError, type Health, type ShardStatus } from './health.js';
import type { EventSourceMappingOptions } from './event-source-mapping.js';

/** What a mapping logs (a pino Logger fits). */
export type MappingLogger = StructuredLogger;

/** The settings a shard worker uses: the mapping's options with defaults applied (less shardRefreshMs). */
export type ShardWorkerSettings = Required<Omit<EventSourceMappingOptions, 'onFailure' | 'shardRefreshMs'>> &
  Pick<EventSourceMappingOptions, 'onFailure'>;

/** What a worker shares with its mapping. */
export interface ShardWorkerContext {
  settings: ShardWorkerSettings;
  /** Aborted by stop(). */
  signal: AbortSignal;
  health: Health;
  /** A monotonic counter (orders reads against waitCaughtUp calls). */
  tick(): number;
  /** Something observable changed (wakes waitCaughtUp). */
  changed(): void;
  /** A handler call is about to start. */
  invoked(): void;
  /** The shard was read to its end and checkpointed `ended`. */
  ended(shardId: string): void;
}

/** Checkpoint writes tried after stop() before giving up (the batch is then redelivered on restart). */
const CHECKPOINT_ATTEMPTS_WHILE_STOPPING = 3;
/** Consecutive transient GetRecords errors the ShardReader retries itself before the worker takes over. */
const READER_MAX_CONSECUTIVE_ERRORS = 2;

/** A failure of the records starting at `sequenceNumber` (the retry quota is counted per start). */
interface FailureState {
  sequenceNumber: string;
  /** Failed invocations that counted against the quota. */
  count: number;
  functionError?: string;
}

/** A sleep that resolves early (never rejects) when the mapping stops. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return sleep(ms, undefined, signal ? { signal } : undefined).catch(() => undefined);
}

/**
 * One shard of a LocalEventSourceMapping: reads it (ShardReader), gathers batches (batchSize, batching
 * window), calls the handler with one batch at a time, checkpoints after each, and retries, bisects
 * or discards (on-failure destination) failed batches as AWS's Kinesis event source mapping does.
 * run() never rejects on an outage: every dependency failure is retried forever with capped backoff,
 * reported through `health`, and the shard resumes from its last position, so no record is skipped.
 */
export class ShardWorker {
  readonly shardId: string;
  private readonly ctx: ShardWorkerContext;
  private readonly s: ShardWorkerSettings;
  /** Where to read from when no record was read yet (TRIM_HORIZON for a child of a reshard). */
  private readonly initialStart: StartPosition;

  // Observable state
  checkpoint: string | undefined;
  inFlight = false;
  lastInvokeAt: number | undefined;
  millisBehindLatest: number | undefined;
  isEnded = false;
  /** The checkpoint was loaded and the worker is reading. */
  started = false;
  /** The last read returned no records; `lastEmptyReadTick` is the tick taken just before it. */
  lastReadEmpty = false;
  lastEmptyReadTick = -1;

  private version: number | undefined;
  private reader: ShardReader | undefined;
  /** Where a new reader starts: after the last record read (or the initial start). */
  private readFrom: StartPosition;
  /** Records read and not yet handled, in shard order. */
  private queue: ShardRecord[] = [];
  /** Epoch ms when the oldest record of `queue` was buffered (batching window). */
  private bufferedAt = 0;
  /** Exact sizes of the next batches (a retried batch, bisected halves), before normal batching. */
  private splits: number[] = [];
  /** Invoke the queued records without waiting for the batching window (a retry). */
  private due = false;
  private sourceEnded = false;
  /** Epoch ms just before the first LATEST iterator was requested. */
  private latestSince: number | undefined;
  private failure: FailureState | undefined;
  /** Consecutive failures of any kind on this shard (backoff exponent), per dependency. */
  private readFailures = 0;
  private handlerFailures = 0;

  constructor(ctx: ShardWorkerContext, shardId: string, opts: { child: boolean }) {
    this.ctx = ctx;
    this.s = ctx.settings;
    this.shardId = shardId;
    this.initialStart = { type: opts.child ? 'TRIM_HORIZON' : this.s.startingPosition };
    this.readFrom = this.initialStart;
  }

  get attempts(): number {
    return this.failure?.count ?? 0;
  }

  status(): ShardStatus {
    return {
      ...(this.checkpoint !== undefined ? { checkpoint: this.checkpoint } : {}),
      inFlight: this.inFlight,
      attempts: this.attempts,
      ...(this.lastInvokeAt !== undefined ? { lastInvokeAt: this.lastInvokeAt } : {}),
      ...(this.millisBehindLatest !== undefined ? { millisBehindLatest: this.millisBehindLatest } : {}),
      ended: this.isEnded,
    };
  }

  /** Nothing buffered or in flight, and the last read (issued after `sinceTick`) found no record at the tip. */
  caughtUp(sinceTick: number): boolean {
    return (
      this.started &&
      !this.inFlight &&
      this.queue.length === 0 &&
      this.lastReadEmpty &&
      this.lastEmptyReadTick > sinceTick &&
      (this.millisBehindLatest ?? 0) === 0
    );
  }

  /** Why caughtUp() is false (for the timeout message). */
  lag(): string {
    if (!this.started) return `${this.shardId}: starting`;
    if (this.inFlight) return `${this.shardId}: batch in flight`;
    if (this.queue.length > 0) return `${this.shardId}: ${this.queue.length} records buffered`;
    return `${this.shardId}: reading (millisBehindLatest ${this.millisBehindLatest ?? '?'})`;
  }

  private get stopping(): boolean {
    return this.ctx.signal.aborted;
  }

  /** Runs until the shard ended or the mapping stops. Never rejects on dependency failures. */
  async run(): Promise<void> {
    const cp = await this.loadCheckpoint();
    if (cp === null) return; // stopped while loading
    this.resumeFrom(cp);
    this.started = true;
    this.ctx.changed();
    if (this.isEnded) {
      this.ctx.ended(this.shardId);
      return;
    }
    this.s.logger.info(
      { shardId: this.shardId, functionName: this.s.functionName, group: this.s.group, start: this.readFrom },
      'event source mapping: shard start',
    );
    while (!this.stopping && !this.isEnded) {
      if (this.shouldInvoke()) {
        await this.invokeNext();
      } else if (this.sourceEnded && this.queue.length === 0) {
        await this.finish();
      } else {
        await this.read();
      }
    }
  }

  private shouldInvoke(): boolean {
    if (this.queue.length === 0) return false;
    if (this.splits.length > 0 || this.due || this.sourceEnded) return true;
    if (this.queue.length >= this.s.batchSize) return true;
    return this.s.maximumBatchingWindowMs === 0 || Date.now() - this.bufferedAt >= this.s.maximumBatchingWindowMs;
  }

  // ---------------------------------------------------------------------------------------------
  // Reading

  private newReader(): ShardReader {
    return new ShardReader({
      kinesis: this.s.kinesis,
      streamName: this.s.streamName,
      shardId: this.shardId,
      start: this.readFrom,
      limit: Math.min(10_000, this.s.batchSize),
      minCallIntervalMs: this.s.pollIntervalMs,
      idleDelayMs: this.s.pollIntervalMs,
      baseDelayMs: this.s.retryBaseDelayMs,
      maxDelayMs: this.s.retryMaxDelayMs,
      maxConsecutiveErrors: READER_MAX_CONSECUTIVE_ERRORS,
      logger: this.s.logger,
    });
  }

  private async read(): Promise<void> {
    if (!this.reader) {
      if (this.readFrom.type === 'LATEST') {
        // LATEST has no position to come back to: a reader recreated before any record was read
        // resumes AT_TIMESTAMP the first LATEST iterator was requested, so nothing put since is skipped.
        if (this.latestSince === undefined) this.latestSince = Date.now();
        else this.readFrom = { type: 'AT_TIMESTAMP', timestamp: new Date(this.latestSince) };
      }
      this.reader = this.newReader();
    }
    const issued = this.ctx.tick();
    let batch: ReadBatch;
    try {
      batch = await this.reader.next(this.ctx.signal);
    } catch (err) {
      if (this.stopping) return;
      // The reader gave up (outage, non-retryable error): a new one resumes after the last record read.
      this.reader = undefined;
      this.lastReadEmpty = false;
      const reason = dependencyReason('kinesis', err);
      this.ctx.health.set(`read:${this.shardId}`, `${reason} (reading ${this.shardId})`);
      const delayMs = backoffDelay(++this.readFailures, this.s.retryBaseDelayMs, this.s.retryMaxDelayMs);
      this.s.logger.warn(
        { shardId: this.shardId, attempt: this.readFailures, delayMs, reason },
        'event source mapping: reading shard failed, retrying',
      );
      this.ctx.changed();
      await pause(delayMs, this.ctx.signal);
      return;
    }
    if (this.readFailures > 0)
      this.s.logger.info({ shardId: this.shardId }, 'event source mapping: reading shard recovered');
    this.readFailures = 0;
    this.ctx.health.clear(`read:${this.shardId}`);
    this.millisBehindLatest = batch.millisBehindLatest;
    if (batch.records.length > 0) {
      if (this.queue.length === 0) this.bufferedAt = Date.now();
      this.queue.push(...batch.records);
      this.readFrom = {
        type: 'AFTER_SEQUENCE_NUMBER',
        sequenceNumber: batch.records[batch.records.length - 1].sequenceNumber,
      };
      this.lastReadEmpty = false;
    } else {
      this.lastReadEmpty = true;
      this.lastEmptyReadTick = issued;
    }
    if (batch.ended) this.sourceEnded = true;
    this.ctx.changed();
  }

  // ---------------------------------------------------------------------------------------------
  // Invoking

  private async invokeNext(): Promise<void> {
    const fromSplit = this.splits.length > 0;
    const n = Math.min(fromSplit ? this.splits.shift()! : this.s.batchSize, this.queue.length);
    this.due = false;
    const batch = this.queue.slice(0, n);

    // MaximumRecordAgeInSeconds: records too old are not sent again (records of a shard are in arrival order).
    if (this.s.maximumRecordAgeMs >= 0) {
      const now = Date.now();
      const expired = batch.findIndex((r) => now - r.arrivalTime <= this.s.maximumRecordAgeMs);
      const count = expired === -1 ? batch.length : expired;
      if (count > 0) {
        if (fromSplit && n > count) this.splits.unshift(n - count);
        await this.discard(batch.slice(0, count), 'RecordAgeExceeded');
        return;
      }
    }

    const event = {
      Records: batch.map((r) =>
        toKinesisStreamRecord(r, {
          streamArn: this.s.streamArn,
          region: this.s.region,
          functionName: this.s.functionName,
        }),
      ),
    };
    this.inFlight = true;
    this.lastInvokeAt = Date.now();
    this.ctx.invoked();
    this.ctx.changed();
    let outcome: ReturnType<typeof interpretBatchResponse> | { kind: 'error'; error: unknown };
    try {
      const response = await this.s.handler(event);
      outcome = interpretBatchResponse(
        response,
        batch.map((r) => r.sequenceNumber),
      );
    } catch (error) {
      outcome = { kind: 'error', error };
    } finally {
      this.inFlight = false;
    }

    if (outcome.kind === 'success') {
      this.queue.splice(0, n);
      this.failure = undefined;
      this.handlerFailures = 0;
      this.ctx.health.clear(`handler:${this.shardId}`);
      await this.commit(batch[n - 1].sequenceNumber);
      this.ctx.changed();
      return;
    }

    if (outcome.kind === 'partial') {
      const done = outcome.index;
      const rest = batch.slice(done);
      this.queue.splice(0, done);
      if (done > 0 && !(await this.commit(batch[done - 1].sequenceNumber))) return; // conflict: resumed from the store
      const message = `${rest.length} of ${n} records failed (from ${outcome.sequenceNumber})`;
      // Inside a bisection the rest stays one batch; otherwise the next batch starts at the failed record.
      await this.failed(rest, message, undefined, fromSplit || this.splits.length > 0 ? [rest.length] : []);
      return;
    }

    const error =
      outcome.kind === 'malformed' ? new MalformedBatchResponseError(this.shardId, outcome.reason) : outcome.error;
    const functionError = outcome.kind === 'error' ? 'Unhandled' : undefined;
    const message = error instanceof Error ? error.message : String(error);
    if (this.s.bisectBatchOnFunctionError && n > 1) {
      // Splitting does not consume the retry quota (AWS).
      const half = Math.ceil(n / 2);
      await this.failed(batch, message, functionError, [half, n - half], false);
    } else {
      await this.failed(batch, message, functionError, [n]);
    }
  }

  /**
   * The invocation of `records` (the failed part of the batch, still at the head of the queue)
   * failed: count it, discard it if the retry quota is exhausted, else schedule `nextSplits` and
   * back off.
   */
  private async failed(
    records: ShardRecord[],
    message: string,
    functionError: string | undefined,
    nextSplits: number[],
    counts = true,
  ): Promise<void> {
    const first = records[0].sequenceNumber;
    if (counts) {
      this.failure =
        this.failure?.sequenceNumber === first
          ? { sequenceNumber: first, count: this.failure.count + 1, functionError }
          : { sequenceNumber: first, count: 1, functionError };
    }
    this.ctx.health.set(`handler:${this.shardId}`, `handler failing on ${this.shardId}: ${message}`);
    const retriesDone = (this.failure?.sequenceNumber === first ? this.failure.count : 1) - 1;
    if (counts && this.s.maximumRetryAttempts >= 0 && retriesDone >= this.s.maximumRetryAttempts) {
      this.s.logger.warn(
        {
          shardId: this.shardId,
          attempt: this.attempts,
          records: records.length,
          from: first,
          to: records[records.length - 1].sequenceNumber,
        },
        'event source mapping: retry attempts exhausted, discarding the batch',
      );
      await this.discard(records, 'RetryAttemptsExhausted');
      return;
    }
    this.splits.unshift(...nextSplits.filter((x) => x > 0));
    this.due = true;
    const delayMs = backoffDelay(++this.handlerFailures, this.s.retryBaseDelayMs, this.s.retryMaxDelayMs);
    this.s.logger.warn(
      {
        shardId: this.shardId,
        attempt: this.attempts,
        records: records.length,
        delayMs,
        error: message,
        bisect: nextSplits.length > 1,
      },
      'event source mapping: batch failed, retrying',
    );
    this.ctx.changed();
    await pause(delayMs, this.ctx.signal);
  }

  /**
   * Sends the on-failure record of `records` (the head of the queue) and checkpoints past them.
   * A failing destination is retried (records are never dropped unreported); when stopping, they
   * stay uncheckpointed and are delivered again after a restart.
   */
  private async discard(records: ShardRecord[], condition: FailureCondition): Promise<void> {
    const first = records[0].sequenceNumber;
    const failure = this.failure?.sequenceNumber === first ? this.failure : undefined;
    const record = onFailureRecord({
      records,
      condition,
      invokeCount: failure?.count ?? 0,
      functionError: failure?.functionError,
      streamArn: this.s.streamArn,
      region: this.s.region,
      functionName: this.s.functionName,
    });
    if (this.s.onFailure) {
      for (let attempt = 1; ; attempt++) {
        try {
          await this.s.onFailure(record);
          this.ctx.health.clear(`destination:${this.shardId}`);
          break;
        } catch (err) {
          if (this.stopping) return;
          const reason = `on-failure destination: ${describeError(err)}`;
          this.ctx.health.set(`destination:${this.shardId}`, reason);
          const delayMs = backoffDelay(attempt, this.s.retryBaseDelayMs, this.s.retryMaxDelayMs);
          this.s.logger.warn(
            { shardId: this.shardId, attempt, delayMs, reason },
            'event source mapping: on-failure destination failed, retrying',
          );
          await pause(delayMs, this.ctx.signal);
        }
      }
    } else {
      this.s.logger.warn(
        { shardId: this.shardId, condition, batchInfo: record.KinesisBatchInfo },
        'event source mapping: records discarded (no on-failure destination)',
      );
    }
    this.queue.splice(0, records.length);
    this.failure = undefined;
    this.handlerFailures = 0;
    this.ctx.health.clear(`handler:${this.shardId}`);
    await this.commit(records[records.length - 1].sequenceNumber);
    this.ctx.changed();
  }

  // ---------------------------------------------------------------------------------------------
  // Checkpoints

  /** Reads the checkpoint, retrying forever; null when stopped first. */
  private async loadCheckpoint(): Promise<Checkpoint | undefined | null> {
    for (let attempt = 1; !this.stopping; attempt++) {
      try {
        const cp = await this.s.checkpoints.get(this.s.group, this.shardId);
        this.ctx.health.clear(`checkpoint:${this.shardId}`);
        return cp;
      } catch (err) {
        if (this.stopping) break;
        const reason = `checkpoint store: ${describeError(err)}`;
        this.ctx.health.set(`checkpoint:${this.shardId}`, reason);
        const delayMs = backoffDelay(attempt, this.s.retryBaseDelayMs, this.s.retryMaxDelayMs);
        this.s.logger.warn(
          { shardId: this.shardId, attempt, delayMs, reason },
          'event source mapping: reading checkpoint failed, retrying',
        );
        this.ctx.changed();
        await pause(delayMs, this.ctx.signal);
      }
    }
    return null;
  }

  /** Forgets everything read and resumes after the stored checkpoint (or from the initial start). */
  private resumeFrom(cp: Checkpoint | undefined): void {
    this.version = cp?.version;
    this.checkpoint = cp?.sequenceNumber;
    this.isEnded = cp?.ended === true;
    this.readFrom =
      cp?.sequenceNumber !== undefined
        ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: cp.sequenceNumber }
        : this.initialStart;
    this.reader = undefined;
    this.latestSince = undefined;
    this.queue = [];
    this.splits = [];
    this.due = false;
    this.sourceEnded = false;
    this.failure = undefined;
    this.lastReadEmpty = false;
  }

  /**
   * Writes the checkpoint (conditional on the version this worker last saw), retrying outages
   * forever (a few times only once stopping). On a conflict, resumes from the stored checkpoint.
   * Resolves true when written.
   */
  private async commit(sequenceNumber: string | undefined, ended = false): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        const stored = await this.s.checkpoints.put(
          this.s.group,
          this.shardId,
          { ...(sequenceNumber !== undefined ? { sequenceNumber } : {}), ...(ended ? { ended } : {}) },
          this.version,
        );
        this.version = stored.version;
        this.checkpoint = sequenceNumber;
        this.ctx.health.clear(`checkpoint:${this.shardId}`);
        return true;
      } catch (err) {
        if (err instanceof CheckpointConflictError) return this.onConflict(err, sequenceNumber, ended);
        const reason = `checkpoint store: ${describeError(err)}`;
        this.ctx.health.set(`checkpoint:${this.shardId}`, reason);
        if (this.stopping && attempt >= CHECKPOINT_ATTEMPTS_WHILE_STOPPING) {
          this.s.logger.error(
            { shardId: this.shardId, sequenceNumber, reason },
            'event source mapping: checkpoint not written before stop (records will be redelivered)',
          );
          return false;
        }
        const delayMs = backoffDelay(attempt, this.s.retryBaseDelayMs, this.s.retryMaxDelayMs);
        this.s.logger.warn(
          { shardId: this.shardId, attempt, delayMs, reason },
          'event source mapping: checkpoint failed, retrying',
        );
        this.ctx.changed();
        // Not cut short by stop(): stop() waits for the checkpoint of the batch in flight.
        await pause(delayMs);
      }
    }
  }

  private async onConflict(
    err: CheckpointConflictError,
    sequenceNumber: string | undefined,
    ended: boolean,
  ): Promise<boolean> {
    const stored = await this.loadCheckpoint();
    if (stored === null) return false;
    if (stored && stored.sequenceNumber === sequenceNumber && (stored.ended === true) === ended) {
      // Our own write landed although its answer was lost (a retried put after a timeout).
      this.version = stored.version;
      this.checkpoint = sequenceNumber;
      return true;
    }
    this.s.logger.warn(
      {
        shardId: this.shardId,
        expectedVersion: err.expectedVersion,
        actualVersion: stored?.version,
        resumeAfter: stored?.sequenceNumber ?? null,
      },
      'event source mapping: checkpoint conflict, resuming from the stored checkpoint',
    );
    this.resumeFrom(stored);
    this.ctx.changed();
    return false;
  }

  /** The shard is closed and every record is handled: checkpoint `ended` so its children may start. */
  private async finish(): Promise<void> {
    if (!(await this.commit(this.checkpoint, true))) return;
    this.isEnded = true;
    this.s.logger.info({ shardId: this.shardId, checkpoint: this.checkpoint }, 'event source mapping: shard ended');
    this.ctx.changed();
    this.ctx.ended(this.shardId);
  }
}
