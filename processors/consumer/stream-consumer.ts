import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { listShards, readyShards, type Shard } from './shards.js';
import { ShardReader, compareSequenceNumbers, type ReadRecord, type ShardReaderOptions, type StartPosition } from './shard-reader.js';

/** What `startFor` may answer: a read position, or SHARD_END for a shard the owner already finished. */
export type ConsumerStart = StartPosition | { type: 'SHARD_END' };

export interface StreamConsumerHandler {
  /** One non-empty batch, in shard order. Calls for one shard are sequential and awaited (backpressure). */
  onRecords(shardId: string, records: ReadRecord[], info: { millisBehindLatest?: number }): Promise<void>;
  /** The shard is closed (reshard) and fully read; its children are read after this resolves. */
  onShardEnd?(shardId: string): Promise<void>;
  /** A poll of the shard returned no records. */
  onIdle?(shardId: string): void | Promise<void>;
}

/** Minimal structured logger (pino-compatible). */
export interface ConsumerLogger {
  info?(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error?(obj: object, msg?: string): void;
  debug?(obj: object, msg?: string): void;
}

export interface StreamConsumerOptions {
  kinesis: Pick<KinesisClient, 'send'>;
  streamName: string;
  handler: StreamConsumerHandler;
  /**
   * Where to start each shard, usually from the owner's checkpoint: AFTER_SEQUENCE_NUMBER the
   * checkpointed record, SHARD_END for a shard it finished, else TRIM_HORIZON (a child shard created
   * by a reshard must start at TRIM_HORIZON or records are lost).
   */
  startFor(shardId: string): Promise<ConsumerStart>;
  /** How often the shard listing is refreshed to discover reshards. Default 10000. */
  shardRefreshMs?: number;
  /** Stop once every shard returned an empty read with millisBehindLatest 0 (or ended). Default false. */
  untilCaughtUp?: boolean;
  /**
   * Per shard, the last sequence number to deliver (inclusive): records after it are not delivered
   * and the shard counts as done once it is reached. With stopAt, the consumer stops when every shard
   * is done; a shard absent from the map is done when ended, or when caught up if untilCaughtUp.
   */
  stopAt?: Readonly<Record<string, string>>;
  /** Passed to every ShardReader (limit, minCallIntervalMs, idleDelayMs, backoff…). */
  reader?: Partial<Omit<ShardReaderOptions, 'kinesis' | 'streamName' | 'shardId' | 'start'>>;
  logger?: ConsumerLogger;
}

/** finished: read to its end; caughtUp: empty read at the tip (untilCaughtUp); reachedStop: stopAt
 * reached; stopped: stop() or failure interrupted it. */
type ShardState = 'running' | 'finished' | 'caughtUp' | 'reachedStop' | 'stopped';

/**
 * A single worker that owns every shard of the stream (KCL-like, without leases):
 * lists shards, reads every ready shard concurrently (a parent to its end before its children),
 * hands each non-empty batch to `handler.onRecords` (sequential per shard, awaited), calls
 * `onShardEnd` when a closed shard is fully read and `onIdle` after an empty poll.
 * Checkpointing is the handler's job (after its output is durable); `startFor` resumes from it.
 * Delivery is at-least-once across restarts (whatever was delivered after the last checkpoint is
 * delivered again), exactly once within a run.
 */
export class StreamConsumer {
  private readonly opts: StreamConsumerOptions;
  private readonly shardRefreshMs: number;
  private readonly abort = new AbortController();
  private readonly states = new Map<string, ShardState>();
  private readonly workers = new Map<string, Promise<void>>();
  private readonly readers = new Map<string, ShardReader>();
  private wake: (() => void) | undefined;
  private failure: { error: unknown } | undefined;
  private running: Promise<void> | undefined;
  private _shards: Shard[] = [];

  constructor(options: StreamConsumerOptions) {
    this.opts = options;
    this.shardRefreshMs = options.shardRefreshMs ?? 10_000;
  }

  /** The last shard listing. */
  get shards(): readonly Shard[] {
    return this._shards;
  }

  /** Shard ids fully read in this run (or reported SHARD_END by startFor). */
  get finishedShards(): string[] {
    return [...this.states].filter(([, s]) => s === 'finished').map(([id]) => id);
  }

  /** Last sequence number delivered per shard in this run. */
  get positions(): Record<string, string | undefined> {
    return Object.fromEntries([...this.readers].map(([id, r]) => [id, r.lastSequenceNumber]));
  }

  /** Runs until stop() (resolves), untilCaughtUp/stopAt completion (resolves), or a non-retryable
   * error of Kinesis or of the handler (rejects, after the other shards' in-flight calls finished). */
  run(): Promise<void> {
    this.running ??= this.loop();
    return this.running;
  }

  /** Stops polling; resolves once in-flight handler calls have finished. Never rejects. */
  async stop(): Promise<void> {
    this.abort.abort(new StopSignal());
    this.wake?.();
    if (this.running) await this.running.catch(() => undefined);
  }

  private get stopping(): boolean {
    return this.abort.signal.aborted;
  }

  private async loop(): Promise<void> {
    const batchMode = this.opts.untilCaughtUp === true || this.opts.stopAt !== undefined;
    try {
      while (!this.stopping) {
        let shards: Shard[];
        try {
          shards = await listShards(this.opts.kinesis, this.opts.streamName, { signal: this.abort.signal });
        } catch (err) {
          if (this.stopping) break;
          throw err;
        }
        this._shards = shards;
        const finished = new Set([...this.states].filter(([, s]) => s === 'finished').map(([id]) => id));
        for (const shardId of readyShards(shards, finished)) {
          const state = this.states.get(shardId);
          if (state === undefined) {
            this.startWorker(shardId);
          } else if (state === 'caughtUp' && isClosed(shards, shardId)) {
            // Closed by a reshard after it caught up: read it to its end so its children get read.
            this.startWorker(shardId);
          }
        }
        if (batchMode && this.workers.size === 0) {
          // Nothing running and nothing ready: every shard is finished, caught up or at its stop.
          break;
        }
        await this.sleepUntilWoken(this.shardRefreshMs);
      }
    } catch (err) {
      this.fail(err);
    }
    this.abort.abort(new StopSignal());
    await Promise.all(this.workers.values());
    if (this.failure) throw this.failure.error;
  }

  private fail(error: unknown): void {
    if (!this.failure) {
      this.failure = { error };
      this.opts.logger?.error?.({ err: error }, 'stream consumer failed');
    }
    this.abort.abort(new StopSignal());
    this.wake?.();
  }

  private sleepUntilWoken(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        if (self.wake === done) self.wake = undefined;
        resolve();
      }
      this.wake = done;
    });
  }

  private startWorker(shardId: string): void {
    this.states.set(shardId, 'running');
    const worker = this.readShard(shardId)
      .then((state) => {
        this.states.set(shardId, state);
      })
      .catch((err) => {
        this.states.set(shardId, 'stopped');
        if (!(err instanceof StopSignal) && !(this.stopping && isAbort(err))) this.fail(err);
      })
      .finally(() => {
        this.workers.delete(shardId);
        this.wake?.();
      });
    this.workers.set(shardId, worker);
  }

  private async readShard(shardId: string): Promise<ShardState> {
    const { handler, stopAt, untilCaughtUp } = this.opts;
    // A restarted shard (caught up, then closed) reuses its reader: same position and rate limit.
    const previous = this.readers.get(shardId);
    const start = previous ? undefined : await this.opts.startFor(shardId);
    if (start?.type === 'SHARD_END') return 'finished';
    const stopSeq = stopAt?.[shardId];
    const reader = previous ?? new ShardReader({
      ...this.opts.reader,
      kinesis: this.opts.kinesis,
      streamName: this.opts.streamName,
      shardId,
      start: start!,
      logger: this.opts.reader?.logger ?? this.opts.logger,
    });
    this.readers.set(shardId, reader);
    this.opts.logger?.debug?.({ shardId, start }, 'reading shard');
    while (!this.stopping) {
      const batch = await reader.next(this.abort.signal);
      let records = batch.records;
      let reachedStop = false;
      if (stopSeq !== undefined && records.length > 0) {
        const cut = records.findIndex((r) => compareSequenceNumbers(r.sequenceNumber, stopSeq) > 0);
        reachedStop = cut !== -1 || compareSequenceNumbers(records[records.length - 1].sequenceNumber, stopSeq) === 0;
        if (cut !== -1) records = records.slice(0, cut);
      }
      // Handler calls are not interrupted by stop(): stop() waits for them.
      if (records.length > 0) {
        await handler.onRecords(shardId, records, { millisBehindLatest: batch.millisBehindLatest });
      } else if (!batch.ended && batch.records.length === 0) {
        await handler.onIdle?.(shardId);
      }
      if (reachedStop) return 'reachedStop';
      if (batch.ended) {
        await handler.onShardEnd?.(shardId);
        this.opts.logger?.debug?.({ shardId }, 'shard ended');
        return 'finished';
      }
      // A closed shard is read to its end even when caught up (kinesalite answers one empty,
      // not-yet-ended read at the end of a closed shard) so that its children become ready.
      if (untilCaughtUp && batch.records.length === 0 && (batch.millisBehindLatest ?? 0) === 0 && !isClosed(this._shards, shardId)) {
        return 'caughtUp';
      }
    }
    return 'stopped';
  }
}

function isClosed(shards: readonly Shard[], shardId: string): boolean {
  return shards.some((s) => s.ShardId === shardId && s.SequenceNumberRange?.EndingSequenceNumber !== undefined);
}

/** The reason the consumer's abort signal carries. */
class StopSignal extends Error {
  constructor() {
    super('stream consumer stopped');
    this.name = 'AbortError';
  }
}

function isAbort(err: unknown): boolean {
  const name = (err as { name?: string } | undefined)?.name;
  return name === 'AbortError' || err instanceof StopSignal;
}
