import { DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { StreamHealth, StreamReachability } from './http.js';

export interface StreamHealthCheckOptions {
  kinesis: Pick<KinesisClient, 'send'>;
  streamName: string;
  /** Give up on one DescribeStreamSummary after this long. Default 2000 ms. */
  timeoutMs?: number;
  /** Reuse an answer this long: health requests never cost one AWS call each. Default 5000 ms. */
  cacheMs?: number;
  /** Clock, epoch ms (tests). Default Date.now. */
  now?: () => number;
  /** Logs the full error of a failed check (the health body carries its name only). */
  logger?: { warn(obj: object, msg?: string): void };
}

/** The stream did not answer DescribeStreamSummary within `timeoutMs`. */
export class StreamCheckTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`DescribeStreamSummary did not answer within ${timeoutMs} ms`);
    this.name = 'StreamCheckTimeoutError';
  }
}

/** Statuses in which the stream takes writes (UPDATING: resharding, still writable). */
const WRITABLE = new Set(['ACTIVE', 'UPDATING']);

/**
 * Whether the stream is reachable: DescribeStreamSummary with a timeout, its answer cached for
 * `cacheMs`, concurrent health requests sharing one call in flight. Never throws.
 */
export class StreamHealthCheck implements StreamHealth {
  private readonly opts: Required<Omit<StreamHealthCheckOptions, 'kinesis' | 'streamName' | 'logger'>> &
    Pick<StreamHealthCheckOptions, 'kinesis' | 'streamName' | 'logger'>;
  private cached?: { at: number; value: StreamReachability };
  private inFlight?: Promise<StreamReachability>;

  constructor(options: StreamHealthCheckOptions) {
    this.opts = {
      kinesis: options.kinesis,
      streamName: options.streamName,
      timeoutMs: options.timeoutMs ?? 2000,
      cacheMs: options.cacheMs ?? 5000,
      now: options.now ?? Date.now,
      logger: options.logger,
    };
  }

  check(): Promise<StreamReachability> {
    const now = this.opts.now();
    if (this.cached && now - this.cached.at < this.opts.cacheMs) return Promise.resolve(this.cached.value);
    this.inFlight ??= this.probe().then((value) => {
      this.cached = { at: this.opts.now(), value };
      this.inFlight = undefined;
      return value;
    });
    return this.inFlight;
  }

  private async probe(): Promise<StreamReachability> {
    const checkedAt = new Date(this.opts.now()).toISOString();
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort.abort();
        reject(new StreamCheckTimeoutError(this.opts.timeoutMs));
      }, this.opts.timeoutMs);
    });
    try {
      // The race also covers a client that ignores the abort signal.
      const out = await Promise.race([
        this.opts.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: this.opts.streamName }), {
          abortSignal: abort.signal,
        }),
        timeout,
      ]);
      const status = out.StreamDescriptionSummary?.StreamStatus;
      if (status && WRITABLE.has(status)) return { reachable: true, checkedAt };
      return { reachable: false, checkedAt, error: `stream status ${status ?? 'unknown'}` };
    } catch (err) {
      // /healthz is public behind the ALB: the body names the error only (AWS messages can carry the
      // account id and role names); the log has the message.
      const e = err as Error | undefined;
      this.opts.logger?.warn(
        { stream: this.opts.streamName, err: e?.message ?? String(err) },
        'stream health check failed',
      );
      return {
        reachable: false,
        checkedAt,
        error: err instanceof StreamCheckTimeoutError ? err.message : (e?.name ?? 'Error'),
      };
    } finally {
      clearTimeout(timer);
    }
  }
}
