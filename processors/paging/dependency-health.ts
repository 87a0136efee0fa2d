import type { StructuredLogger } from '../../platform/logger.js';
import { silentLogger } from '../../platform/logger.js';
import type { MappingStatus } from '../runtime/health.js';

/** What paging depends on besides the stream and the tables (those are the event source mapping's). */
export type Dependency = 'scheduler' | 'twilio' | 'resend' | 'aws';

export interface DependencyState {
  /** Why it is degraded, e.g. 'scheduler unreachable: ECONNREFUSED' or 'twilio hanging: …'. */
  reason: string;
  /** Epoch ms of the first failure of this outage, and of the latest. */
  since: number;
  lastAt: number;
  /** Failures seen during this outage. */
  failures: number;
}

export interface DependencyHealthOptions {
  /**
   * A degraded dependency with no new failure for this long is taken as recovered (nothing may have
   * called it since: a provider nobody pages, a Scheduler with no deadline to create). Default 120,000 ms.
   */
  staleMs?: number;
  /** Metric namespace of the EMF lines. Default 'pagetrail'. */
  namespace?: string;
  now?: () => number;
  logger?: StructuredLogger;
}

/**
 * The health of paging's own dependencies, as the effect runner sees them: the Scheduler (a deadline
 * could not be created), and each provider hanging (a send over the send budget, a timeout) or refusing
 * (5xx, connection refused). A success clears the dependency at once.
 *
 * Shown on paging's `GET /healthz` (main.ts: `status: degraded` with the reasons, `dependencies`, and
 * the counters), and as a metric: each change of a dependency is one log line in CloudWatch Embedded
 * Metric Format (`PagingDependencyDegraded` 1 or 0, dimension `Dependency`; `PagingDependencyFailures`
 * the failures of the outage), which CloudWatch turns into a metric from the Lambda function's logs
 * and the local stack simply logs.
 */
export class DependencyHealth {
  private readonly states = new Map<Dependency, DependencyState>();
  private readonly totals = new Map<Dependency, number>();
  private readonly staleMs: number;
  private readonly namespace: string;
  private readonly now: () => number;
  private readonly log: StructuredLogger;

  constructor(opts: DependencyHealthOptions = {}) {
    this.staleMs = opts.staleMs ?? 120_000;
    this.namespace = opts.namespace ?? 'pagetrail';
    this.now = opts.now ?? Date.now;
    this.log = opts.logger ?? silentLogger;
  }

  /** One failure of `dependency`; degraded from the first. */
  fail(dependency: Dependency, reason: string): void {
    const now = this.now();
    this.totals.set(dependency, (this.totals.get(dependency) ?? 0) + 1);
    const s = this.current(dependency, now);
    if (s) {
      s.reason = reason;
      s.lastAt = now;
      s.failures++;
      return;
    }
    this.states.set(dependency, { reason, since: now, lastAt: now, failures: 1 });
    this.emit(dependency, 1, 1, `${dependency} degraded: ${reason}`);
  }

  /** `dependency` answered: it is no longer degraded. */
  ok(dependency: Dependency): void {
    const s = this.states.get(dependency);
    if (!s) return;
    this.states.delete(dependency);
    const downS = Math.round((this.now() - s.since) / 1000);
    this.emit(dependency, 0, s.failures, `${dependency} recovered after ${downS} s (${s.failures} failure(s))`);
  }

  /** The dependency's outage, if it is degraded now. */
  get(dependency: Dependency): DependencyState | undefined {
    return this.current(dependency, this.now());
  }

  /** For /healthz: degraded while any dependency is; its reasons; every dependency's failures since start. */
  status(): {
    status: 'ok' | 'degraded';
    reasons: string[];
    dependencies: Partial<Record<Dependency, DependencyState>>;
    failures: Partial<Record<Dependency, number>>;
  } {
    const now = this.now();
    const dependencies: Partial<Record<Dependency, DependencyState>> = {};
    for (const d of [...this.states.keys()]) {
      const s = this.current(d, now);
      if (s) dependencies[d] = { ...s };
    }
    const reasons = Object.values(dependencies).map((s) => s.reason);
    return {
      status: reasons.length > 0 ? 'degraded' : 'ok',
      reasons,
      dependencies,
      failures: Object.fromEntries(this.totals),
    };
  }

  /** The state, unless it went stale (then it is dropped: recovered as far as anyone can tell). */
  private current(dependency: Dependency, now: number): DependencyState | undefined {
    const s = this.states.get(dependency);
    if (s && now - s.lastAt > this.staleMs) {
      this.states.delete(dependency);
      this.emit(dependency, 0, s.failures, `${dependency}: no failure for ${Math.round(this.staleMs / 1000)} s`);
      return undefined;
    }
    return s;
  }

  /** One EMF line (a metric on AWS, a log line anywhere). */
  private emit(dependency: Dependency, degraded: 0 | 1, failures: number, msg: string): void {
    const line = {
      _aws: {
        Timestamp: this.now(),
        CloudWatchMetrics: [
          {
            Namespace: this.namespace,
            Dimensions: [['Dependency']],
            Metrics: [
              { Name: 'PagingDependencyDegraded', Unit: 'Count' },
              { Name: 'PagingDependencyFailures', Unit: 'Count' },
            ],
          },
        ],
      },
      Dependency: dependency,
      PagingDependencyDegraded: degraded,
      PagingDependencyFailures: failures,
    };
    if (degraded) this.log.warn(line, msg);
    else this.log.info(line, msg);
  }
}

/**
 * Paging's /healthz status: the event source mapping's (stream, tables, shards) and the dependencies' in
 * one, degraded when either is, with every reason.
 */
export function withDependencies(
  mapping: MappingStatus,
  health: DependencyHealth,
): Omit<MappingStatus, 'status'> & {
  status: 'ok' | 'degraded';
  dependencies: Partial<Record<Dependency, DependencyState>>;
  dependencyFailures: Partial<Record<Dependency, number>>;
} {
  const deps = health.status();
  const reasons = [...mapping.reasons, ...deps.reasons];
  return {
    ...mapping,
    status: reasons.length > 0 ? 'degraded' : 'ok',
    reasons,
    dependencies: deps.dependencies,
    dependencyFailures: deps.failures,
  };
}
