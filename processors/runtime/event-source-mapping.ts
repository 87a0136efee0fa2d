import { setTimeout as sleep } from 'node:timers/promises';
import type { KinesisClient, Shard } from '@aws-sdk/client-kinesis';
import { backoffDelay } from '../../platform/aws-errors.js';
import { silentLogger } from '../../platform/logger.js';
import { listShards, readyShards } from '../consumer/shards.js';
import type { CheckpointStore } from '../consumer/checkpoint-store.js';
import type { KinesisBatchHandler } from './kinesis-event.js';
import { CaughtUpTimeoutError, MappingStoppedError } from './errors.js';
import { Health, dependencyReason, type MappingStatus } from './health.js';
import type { OnFailureRecord } from './on-failure.js';
import { ShardWorker, type MappingLogger, type ShardWorkerContext, type ShardWorkerSettings } from './shard-worker.js';

export type { MappingStatus, ShardStatus } from './health.js';
export type { OnFailureRecord, FailureCondition } from './on-failure.js';
export type { MappingLogger } from './shard-worker.js';
export { CaughtUpTimeoutError, MalformedBatchResponseError, MappingStoppedError } from './errors.js';

export interface EventSourceMappingOptions {
  kinesis: Pick<KinesisClient, 'send'>;
  streamName: string;
  /** For the event records' eventSourceARN (and the account of the function ARN in on-failure records). */
  streamArn: string;
  region: string;
  /** e.g. 'pagetrail-paging'. */
  functionName: string;
  /** Checkpoints, one per (group, shard); a fake with get/put works in tests. */
  checkpoints: Pick<CheckpointStore, 'get' | 'put'>;
  /** Checkpoint group, e.g. 'paging' or 'lake'. */
  group: string;
  handler: KinesisBatchHandler;
  /** Records per invocation. Default 100 (AWS: 1..10000). */
  batchSize?: number;
  /** Default 0: invoke as soon as a read returns records; else gather up to batchSize records or
   * until this long after the first buffered record (AWS max 300 s). */
  maximumBatchingWindowMs?: number;
  /** For a shard without a checkpoint. Default 'TRIM_HORIZON'. A child of a reshard whose parent is
   * in the listing always starts at TRIM_HORIZON. */
  startingPosition?: 'TRIM_HORIZON' | 'LATEST';
  /** Default -1: retry a failing batch until it succeeds (AWS's default). Else after that many
   * failed retries the batch goes to onFailure and the shard moves on. */
  maximumRetryAttempts?: number;
  /** Default -1 (never). Records older than this (by arrival) are sent to onFailure instead of the handler. */
  maximumRecordAgeMs?: number;
  /** Default false: split a failing batch in two on retry (splits do not count as retries, as on AWS). */
  bisectBatchOnFunctionError?: boolean;
  /** The on-failure destination (retried until it succeeds). Without it discarded batches are only logged. */
  onFailure?: (failure: OnFailureRecord) => Promise<void>;
  /** Minimum time between GetRecords calls on one shard, and the wait after an empty read. Default 200
   * (Kinesis allows 5 calls/s per shard). */
  pollIntervalMs?: number;
  /** Listing refresh to discover reshards. Default 5000; also refreshed at once when a shard ends. */
  shardRefreshMs?: number;
  /** Backoff base for handler failures and outages. Default 100. */
  retryBaseDelayMs?: number;
  /** Backoff cap. Default 5000. */
  retryMaxDelayMs?: number;
  /** A pino Logger (platform/logger.ts) fits. Default: silent. */
  logger?: MappingLogger;
}

/** Default timeout of waitCaughtUp(). */
const CAUGHT_UP_TIMEOUT_MS = 30_000;

interface Waiter {
  sinceTick: number;
  resolve(): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

function resolveSettings(o: EventSourceMappingOptions): ShardWorkerSettings {
  const s: ShardWorkerSettings = {
    kinesis: o.kinesis,
    streamName: o.streamName,
    streamArn: o.streamArn,
    region: o.region,
    functionName: o.functionName,
    checkpoints: o.checkpoints,
    group: o.group,
    handler: o.handler,
    batchSize: o.batchSize ?? 100,
    maximumBatchingWindowMs: o.maximumBatchingWindowMs ?? 0,
    startingPosition: o.startingPosition ?? 'TRIM_HORIZON',
    maximumRetryAttempts: o.maximumRetryAttempts ?? -1,
    maximumRecordAgeMs: o.maximumRecordAgeMs ?? -1,
    bisectBatchOnFunctionError: o.bisectBatchOnFunctionError ?? false,
    onFailure: o.onFailure,
    pollIntervalMs: o.pollIntervalMs ?? 200,
    retryBaseDelayMs: o.retryBaseDelayMs ?? 100,
    retryMaxDelayMs: o.retryMaxDelayMs ?? 5000,
    logger: o.logger ?? silentLogger,
  };
  if (!(Number.isInteger(s.batchSize) && s.batchSize >= 1 && s.batchSize <= 10_000))
    throw new RangeError('batchSize must be 1..10000');
  if (!(s.maximumBatchingWindowMs >= 0 && s.maximumBatchingWindowMs <= 300_000))
    throw new RangeError('maximumBatchingWindowMs must be 0..300000');
  if (!(Number.isInteger(s.maximumRetryAttempts) && s.maximumRetryAttempts >= -1))
    throw new RangeError('maximumRetryAttempts must be -1 or a non-negative integer');
  if (!(s.maximumRecordAgeMs >= -1)) throw new RangeError('maximumRecordAgeMs must be -1 or non-negative');
  if (!(s.pollIntervalMs >= 0 && s.retryBaseDelayMs > 0 && s.retryMaxDelayMs >= s.retryBaseDelayMs))
    throw new RangeError('bad poll or retry delays');
  return s;
}

/**
 * The local stand-in for Lambda's Kinesis event source mapping: polls every shard of the stream
 * (one ShardReader per shard, shards concurrently, a parent to its end before its children), calls
 * the `KinesisBatchHandler` with `KinesisStreamEvent`s of one shard at a time (exactly one batch in
 * flight per shard), honours `batchItemFailures`, retries, bisects, discards to an on-failure
 * destination, and checkpoints after each batch in the CheckpointStore (group/shardId, versioned).
 *
 * Outages of Kinesis, DynamoDB or the destination, and handler errors, never end run(): they are
 * retried forever with capped backoff and shown by status() ('degraded' with a reason per failing
 * dependency) until they clear. Delivery is at-least-once across restarts (a batch handled but not
 * checkpointed is delivered again), exactly once within a run. A handler call is never interrupted
 * (there is no function timeout): stop() waits for it and its checkpoint.
 */
export class LocalEventSourceMapping {
  private readonly settings: ShardWorkerSettings;
  private readonly shardRefreshMs: number;
  private readonly abort = new AbortController();
  private readonly health = new Health();
  private readonly workers = new Map<string, ShardWorker>();
  private readonly tasks = new Map<string, Promise<void>>();
  private readonly waiters = new Set<Waiter>();
  private readonly ctx: ShardWorkerContext;
  private running: Promise<void> | undefined;
  private shards: Shard[] = [];
  private clock = 0;
  /** Tick taken before the last ListShards call that succeeded (-1: none yet). */
  private listedTick = -1;
  /** Tick of the last shard end (the listing must be refreshed after it). */
  private endedTick = -1;
  private invocations = 0;
  private wake: (() => void) | undefined;

  constructor(options: EventSourceMappingOptions) {
    this.settings = resolveSettings(options);
    this.shardRefreshMs = options.shardRefreshMs ?? 5000;
    this.ctx = {
      settings: this.settings,
      signal: this.abort.signal,
      health: this.health,
      tick: () => this.clock++,
      changed: () => this.notify(),
      invoked: () => {
        this.invocations++;
      },
      ended: () => {
        this.endedTick = this.clock++;
        this.wake?.();
      },
    };
  }

  /** Polls until stop(); resolves after stop(), never rejects on outages or handler errors. */
  run(): Promise<void> {
    this.running ??= this.loop();
    return this.running;
  }

  /** Stops polling; resolves once the batch in flight on each shard and its checkpoint are done. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    if (this.running) await this.running;
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new MappingStoppedError(this.settings.functionName));
    }
    this.waiters.clear();
  }

  status(): MappingStatus {
    const reasons = this.health.list();
    return {
      status: reasons.length > 0 ? 'degraded' : 'ok',
      reasons,
      shards: Object.fromEntries([...this.workers].map(([id, w]) => [id, w.status()])),
      invocations: this.invocations,
    };
  }

  /**
   * Resolves once every ready shard has no batch in flight, nothing buffered and its last read —
   * issued after this call — returned no record at the tip, on a shard listing taken after this call
   * (so records put before the call are handled, reshards are seen and closed parents are finished).
   * Rejects with CaughtUpTimeoutError after `timeoutMs` (default 30 s), MappingStoppedError on stop().
   */
  waitCaughtUp(timeoutMs = CAUGHT_UP_TIMEOUT_MS): Promise<void> {
    const sinceTick = this.clock++;
    return new Promise<void>((resolve, reject) => {
      if (this.abort.signal.aborted) {
        reject(new MappingStoppedError(this.settings.functionName));
        return;
      }
      const waiter: Waiter = {
        sinceTick,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new CaughtUpTimeoutError(timeoutMs, this.lagging(sinceTick)));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
      this.wake?.(); // a fresh listing
    });
  }

  private get stopping(): boolean {
    return this.abort.signal.aborted;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      const tick = this.clock++;
      try {
        this.shards = await listShards(this.settings.kinesis, this.settings.streamName, {
          signal: this.abort.signal,
          maxAttempts: 2,
        });
        this.listedTick = tick;
        failures = 0;
        this.health.clear('list');
      } catch (err) {
        if (this.stopping) break;
        const reason = `${dependencyReason('kinesis', err)} (listing shards)`;
        this.health.set('list', reason);
        const delayMs = backoffDelay(++failures, this.settings.retryBaseDelayMs, this.settings.retryMaxDelayMs);
        this.settings.logger.warn(
          { stream: this.settings.streamName, attempt: failures, delayMs, reason },
          'event source mapping: listing shards failed, retrying',
        );
        this.notify();
        await this.sleepUntilWoken(delayMs);
        continue;
      }
      this.startReadyShards();
      this.notify();
      await this.sleepUntilWoken(this.shardRefreshMs);
    }
    await Promise.all(this.tasks.values());
  }

  private startReadyShards(): void {
    const finished = new Set([...this.workers].filter(([, w]) => w.isEnded).map(([id]) => id));
    const present = new Set(this.shards.map((s) => s.ShardId!));
    for (const shardId of readyShards(this.shards, finished)) {
      if (this.workers.has(shardId)) continue;
      const shard = this.shards.find((s) => s.ShardId === shardId)!;
      const child = [shard.ParentShardId, shard.AdjacentParentShardId].some((p) => p !== undefined && present.has(p));
      const worker = new ShardWorker(this.ctx, shardId, { child });
      this.workers.set(shardId, worker);
      const task = worker
        .run()
        .catch((err: unknown) => {
          // A bug, not an outage (those are retried inside): report it; the next listing restarts the shard from its
          // checkpoint.
          this.health.set(
            `worker:${shardId}`,
            `shard worker ${shardId} crashed: ${err instanceof Error ? err.message : String(err)}`,
          );
          this.settings.logger.error(
            { shardId, err },
            'event source mapping: shard worker failed, restarting from its checkpoint',
          );
          this.workers.delete(shardId);
          return sleep(this.settings.retryMaxDelayMs, undefined, { signal: this.abort.signal }).catch(() => undefined);
        })
        .finally(() => {
          this.tasks.delete(shardId);
          this.notify();
        });
      this.tasks.set(shardId, task);
    }
  }

  private sleepUntilWoken(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  /** The ready shards (per the last listing) and whether each is caught up since `sinceTick`. */
  private readiness(sinceTick: number): { ok: boolean; lagging: string[] } {
    if (this.listedTick <= sinceTick || this.listedTick <= this.endedTick)
      return { ok: false, lagging: ['shard listing not refreshed yet'] };
    const finished = new Set([...this.workers].filter(([, w]) => w.isEnded).map(([id]) => id));
    const lagging: string[] = [];
    for (const shardId of readyShards(this.shards, finished)) {
      const shard = this.shards.find((s) => s.ShardId === shardId);
      const worker = this.workers.get(shardId);
      if (!worker) lagging.push(`${shardId}: not started`);
      else if (shard?.SequenceNumberRange?.EndingSequenceNumber !== undefined)
        lagging.push(`${shardId}: closed, not read to its end yet`);
      else if (!worker.caughtUp(sinceTick)) lagging.push(worker.lag());
    }
    return { ok: lagging.length === 0, lagging };
  }

  private lagging(sinceTick: number): string[] {
    return [...this.readiness(sinceTick).lagging, ...this.health.list()];
  }

  private notify(): void {
    for (const w of this.waiters) {
      if (this.readiness(w.sinceTick).ok) {
        clearTimeout(w.timer);
        this.waiters.delete(w);
        w.resolve();
      }
    }
  }
}
