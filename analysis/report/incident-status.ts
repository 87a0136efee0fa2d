/**
 * Where an incident stands and how long it took, in one place for the overview's incident list and the incident's
 * page (so the two never disagree). The clock starts at the alarm, else the first page (an incident whose alarm row
 * is missing still has a start).
 */

/**
 * `resolved`: the alarm went back to OK (acknowledged or not); `acknowledged`: someone acked and the alarm is still
 * firing; `triggered`: nobody acked yet and the alarm is still firing.
 */
export type IncidentStatus = 'triggered' | 'acknowledged' | 'resolved';

export interface IncidentTimes {
  openedAt?: number;
  firstPagedAt?: number;
  acknowledgedAt?: number;
  resolvedAt?: number;
}

export function incidentStatus(t: IncidentTimes): IncidentStatus {
  if (t.resolvedAt !== undefined) return 'resolved';
  if (t.acknowledgedAt !== undefined) return 'acknowledged';
  return 'triggered';
}

/** Seconds from the incident's start to `at` (never negative: two clocks), undefined when either is unknown. */
function secondsTo(t: IncidentTimes, at: number | undefined): number | undefined {
  const start = t.openedAt ?? t.firstPagedAt;
  return start === undefined || at === undefined ? undefined : Math.max(0, (at - start) / 1000);
}

/** Time to acknowledge, seconds. */
export const timeToAck = (t: IncidentTimes) => secondsTo(t, t.acknowledgedAt);
/** Time to resolve (the alarm back to OK), seconds. */
export const timeToResolve = (t: IncidentTimes) => secondsTo(t, t.resolvedAt);

/** A timeline's times (null for unknown) as `IncidentTimes`. */
export const timesOf = (t: {
  openedAt: number | null;
  acknowledgedAt: number | null;
  resolvedAt: number | null;
  firstPagedAt?: number | null;
}): IncidentTimes => ({
  openedAt: t.openedAt ?? undefined,
  firstPagedAt: t.firstPagedAt ?? undefined,
  acknowledgedAt: t.acknowledgedAt ?? undefined,
  resolvedAt: t.resolvedAt ?? undefined,
});

/** An `incidents` view row's times as `IncidentTimes`. */
export const summaryTimes = (i: {
  opened_at?: number;
  first_paged_at?: number;
  acknowledged_at?: number;
  resolved_at?: number;
}): IncidentTimes => ({
  openedAt: i.opened_at,
  firstPagedAt: i.first_paged_at,
  acknowledgedAt: i.acknowledged_at,
  resolvedAt: i.resolved_at,
});
