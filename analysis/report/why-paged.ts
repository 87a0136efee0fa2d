import type { ResolvedBy } from './timeline.js';

/**
 * "Why this person" for a page, from what the dispatch recorded (`detail.resolved_by`: the schedule, its layer or
 * override, and how the layer is kept). Layers and overrides are named as the on-call file names them: a layer by its
 * `name`, else its place in the schedule's `layers` (top first); an override by its place in `overrides`.
 * Without `resolved_by` the lake does not say more than "no schedule": the policy named the person or their team
 * (the lake does not record which), or the row was written before the field existed.
 */
export function whyPaged(r: ResolvedBy | null): string {
  if (r === null) return 'policy target (no schedule)';
  const at = (list: string, i: number | string) => (typeof i === 'number' ? `${list}[${i}]` : `"${i}"`);
  if (r.source === 'override' || r.override) return `schedule ${r.schedule} · override ${at('overrides', r.layer)}`;
  const how = r.source === 'ical' ? 'iCalendar' : 'rotation';
  return `schedule ${r.schedule} · layer ${at('layers', r.layer)} (${how})`;
}
