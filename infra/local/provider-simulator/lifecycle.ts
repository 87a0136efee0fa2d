/** The simulator's background work: timers that stop when it closes, and the tasks `idle()` waits for. */
import { setMaxListeners } from 'node:events';
import type { Logger } from '../../../platform/logger.js';

/** Raised by `sleep` (and callback delivery) once the simulator is closing; tasks end quietly on it. */
export class Closed extends Error {
  constructor() {
    super('provider simulator closed');
  }
}

export interface Lifecycle {
  /** Aborted when the simulator closes. */
  readonly signal: AbortSignal;
  /** Waits ms; rejects with Closed when the simulator closes. */
  sleep(ms: number): Promise<void>;
  /** Waits ms, or until the simulator closes (never rejects). */
  hold(ms: number): Promise<void>;
  /** Runs a background task (its failure is logged, Closed is not). */
  spawn(what: string, fn: () => Promise<void>): void;
  /** Resolves when no task is running. */
  idle(): Promise<void>;
  /** Aborts the timers and waits for the running tasks to settle. */
  shutdown(): Promise<void>;
}

export function createLifecycle(log: Logger): Lifecycle {
  const closing = new AbortController();
  setMaxListeners(0, closing.signal);
  const tasks = new Set<Promise<void>>();
  const signal = closing.signal;

  return {
    signal,
    sleep: (ms) =>
      new Promise<void>((resolve, reject) => {
        if (signal.aborted) return reject(new Closed());
        const onAbort = () => {
          clearTimeout(t);
          reject(new Closed());
        };
        const t = setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        }, ms);
        signal.addEventListener('abort', onAbort, { once: true });
      }),
    hold: (ms) =>
      new Promise<void>((resolve) => {
        if (signal.aborted) return resolve();
        const done = () => {
          clearTimeout(t);
          signal.removeEventListener('abort', done);
          resolve();
        };
        const t = setTimeout(done, ms);
        signal.addEventListener('abort', done, { once: true });
      }),
    spawn(what, fn) {
      const p = fn()
        .catch((err) => {
          if (!(err instanceof Closed)) log.error({ err, what }, 'simulator task failed');
        })
        .finally(() => tasks.delete(p));
      tasks.add(p);
    },
    async idle() {
      while (tasks.size) await Promise.allSettled([...tasks]);
    },
    async shutdown() {
      closing.abort();
      await Promise.allSettled([...tasks]);
    },
  };
}
