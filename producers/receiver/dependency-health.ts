import type { StreamHealth, StreamReachability } from './http.js';

/**
 * A dependency's reachability for GET /healthz, as stream-health.ts does for the stream: one probe with a timeout,
 * its answer cached for `cacheMs`, concurrent health requests sharing one probe in flight. Never throws; the body
 * names the error only (AWS messages can carry the account id), the log has the message.
 */
export interface DependencyHealthCheckOptions {
  /** What the dependency is called in the log. */
  name: string;
  /** One cheap call to the dependency; rejects when it does not answer. Aborted after `timeoutMs`. */
  probe: (signal: AbortSignal) => Promise<unknown>;
  /** Default 2000 ms. */
  timeoutMs?: number;
  /** Default 5000 ms. */
  cacheMs?: number;
  now?: () => number;
  logger?: { warn(obj: object, msg?: string): void };
}

/** The probe did not answer within `timeoutMs`. */
export class DependencyCheckTimeoutError extends Error {
  constructor(
    readonly dependency: string,
    readonly timeoutMs: number,
  ) {
    super(`${dependency} did not answer within ${timeoutMs} ms`);
    this.name = 'DependencyCheckTimeoutError';
  }
}

export class DependencyHealthCheck implements StreamHealth {
  private cached?: { at: number; value: StreamReachability };
  private inFlight?: Promise<StreamReachability>;

  constructor(private readonly opts: DependencyHealthCheckOptions) {}

  check(): Promise<StreamReachability> {
    const now = (this.opts.now ?? Date.now)();
    if (this.cached && now - this.cached.at < (this.opts.cacheMs ?? 5000)) return Promise.resolve(this.cached.value);
    this.inFlight ??= this.run().then((value) => {
      this.cached = { at: (this.opts.now ?? Date.now)(), value };
      this.inFlight = undefined;
      return value;
    });
    return this.inFlight;
  }

  private async run(): Promise<StreamReachability> {
    const checkedAt = new Date((this.opts.now ?? Date.now)()).toISOString();
    const timeoutMs = this.opts.timeoutMs ?? 2000;
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort.abort();
        reject(new DependencyCheckTimeoutError(this.opts.name, timeoutMs));
      }, timeoutMs);
    });
    try {
      // the race also covers a client that ignores the abort signal
      await Promise.race([this.opts.probe(abort.signal), timeout]);
      return { reachable: true, checkedAt };
    } catch (err) {
      const e = err as Error | undefined;
      this.opts.logger?.warn({ dependency: this.opts.name, err: e?.message ?? String(err) }, 'health check failed');
      return {
        reachable: false,
        checkedAt,
        error: err instanceof DependencyCheckTimeoutError ? err.message : (e?.name ?? 'Error'),
      };
    } finally {
      clearTimeout(timer);
    }
  }
}
