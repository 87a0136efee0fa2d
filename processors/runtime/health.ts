import { awsErrorCode, isUnreachableCode } from '../../platform/aws-errors.js';

/** Per-shard state reported by `LocalEventSourceMapping.status()`. */
export interface ShardStatus {
  /** Last checkpointed sequence number (records up to it are done). */
  checkpoint?: string;
  /** A handler call is running for this shard. */
  inFlight: boolean;
  /** Failed invocations of the batch being retried (0 when the last one succeeded). */
  attempts: number;
  /** Epoch ms of the last handler call. */
  lastInvokeAt?: number;
  millisBehindLatest?: number;
  /** Read to its end and checkpointed `ended` (closed by a reshard). */
  ended: boolean;
}

export interface MappingStatus {
  status: 'ok' | 'degraded';
  /** Human reasons, one per failing dependency (e.g. 'kinesis unreachable: ECONNREFUSED'). */
  reasons: string[];
  shards: Record<string, ShardStatus>;
  /** Handler calls so far (retries included). */
  invocations: number;
}

/** The dependencies currently failing, by a key naming the place (e.g. `read:shardId-0`). */
export class Health {
  private readonly reasons = new Map<string, string>();

  set(key: string, reason: string): void {
    this.reasons.set(key, reason);
  }

  clear(key: string): void {
    this.reasons.delete(key);
  }

  /** Distinct reasons, in the order they were first set. */
  list(): string[] {
    return [...new Set(this.reasons.values())];
  }
}

/** A short human description of an AWS/SDK/network error (code first; never a payload). */
export function describeError(err: unknown): string {
  const code = awsErrorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (!message || message === code) return code;
  return `${code}: ${message.length > 200 ? `${message.slice(0, 200)}…` : message}`;
}

/** 'kinesis unreachable: ECONNREFUSED' / 'kinesis: ResourceNotFoundException: …' (same for other dependencies). */
export function dependencyReason(dependency: string, err: unknown): string {
  const code = awsErrorCode(err);
  return isUnreachableCode(code) ? `${dependency} unreachable: ${code}` : `${dependency}: ${describeError(err)}`;
}
