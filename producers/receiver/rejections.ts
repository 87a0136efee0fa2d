import type { StructuredLogger } from '../../platform/logger.js';

/** Why a request was turned away (before anything was written for it). */
export type RejectionKind =
  | 'not_authentic'
  | 'too_large'
  | 'body_not_received'
  | 'invalid_payload'
  | 'ack_link'
  | 'topic_not_allowed';

export interface RejectionLogOptions {
  /** Lines logged per kind per window; the rest are counted only. Default 10. */
  perWindow?: number;
  /** Default 60,000 ms. */
  windowMs?: number;
  /** Clock, epoch ms (tests). Default Date.now. */
  now?: () => number;
}

/**
 * Rejected requests, counted exactly and logged by sampling. Anyone can send the receiver a forged or
 * malformed request, so one warn line each would let anyone flood the logs (a fuzz run wrote 18,003
 * lines): each kind logs at most `perWindow` lines a window, then one line saying the rest of the
 * window is counted only; `counts()` (GET /healthz `rejected`) has every rejection by kind.
 */
export class RejectionLog {
  private readonly total = new Map<RejectionKind, number>();
  private readonly inWindow = new Map<RejectionKind, number>();
  private windowStart = Number.NEGATIVE_INFINITY;
  private readonly perWindow: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(
    private readonly logger: StructuredLogger,
    opts: RejectionLogOptions = {},
  ) {
    this.perWindow = opts.perWindow ?? 10;
    this.windowMs = opts.windowMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** Counts one rejection and logs it unless its kind used up this window's lines. */
  reject(kind: RejectionKind, fields: Record<string, unknown>, msg: string): void {
    this.total.set(kind, (this.total.get(kind) ?? 0) + 1);
    const now = this.now();
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.inWindow.clear();
    }
    const n = (this.inWindow.get(kind) ?? 0) + 1;
    this.inWindow.set(kind, n);
    if (n <= this.perWindow) this.logger.warn({ ...fields, rejection: kind }, msg);
    else if (n === this.perWindow + 1) {
      const windowS = Math.round(this.windowMs / 1000);
      this.logger.warn(
        { rejection: kind, logged: this.perWindow, windowS },
        `more ${kind} rejections this window are counted, not logged (GET /healthz: rejected)`,
      );
    }
  }

  /** Every rejection since start, by kind. */
  counts(): Partial<Record<RejectionKind, number>> {
    return Object.fromEntries(this.total);
  }
}
