/**
 * Fault injection for the crash-matrix test: a named step boundary where the process kills itself
 * with SIGKILL — a real kill, nothing flushed, no handler run — when `PAGETRAIL_CRASH_AT` names it.
 *
 *   PAGETRAIL_CRASH_AT=after-send        the first time the boundary is reached
 *   PAGETRAIL_CRASH_AT=after-send:3      the third time
 *
 * Unset (always, in production) a crashpoint is one string comparison. The boundaries of the paging
 * path are listed in CRASH_POINTS, the lake flush's in LAKE_CRASH_POINTS, so the tests can walk every one.
 */
export const CRASH_POINTS = [
  /** The one write before a send: the decision with its pages' claims (and a new incident's ack code). */
  'after-decision',
  /** One page sent while the others of its level may still be in flight. */
  'after-send',
  'after-dispatch-record',
  'after-escalation-record',
  'after-deadline-record',
] as const;
/** A lake flush's step boundaries (processors/lake/handler.ts): pending recorded, abandoned keys deleted, objects
 * and state written, head moved. */
export const LAKE_CRASH_POINTS = [
  'lake-after-pending',
  'lake-after-sweep',
  'lake-after-objects',
  'lake-after-commit',
] as const;
/** A heartbeat check's boundary (processors/paging/heartbeats.ts): its deadline scheduled, the check's state not yet
 * written (test/paging/heartbeat-crash.test.ts). */
export const HEARTBEAT_CRASH_POINTS = ['heartbeat-after-armed'] as const;
export type CrashPoint =
  | (typeof CRASH_POINTS)[number]
  | (typeof LAKE_CRASH_POINTS)[number]
  | (typeof HEARTBEAT_CRASH_POINTS)[number];

const spec = process.env.PAGETRAIL_CRASH_AT?.trim();
const [target, nth] = spec ? [spec.split(':')[0], Number(spec.split(':')[1] ?? 1)] : [undefined, 0];
let reached = 0;

export function crashpoint(name: CrashPoint): void {
  if (target !== name) return;
  if (++reached < nth) return;
  process.stderr.write(`crashpoint ${name}#${reached}: SIGKILL\n`);
  process.kill(process.pid, 'SIGKILL');
}
