import type { IncidentSummary } from './data.js';

/** An `incidents` view row as the report reads it (data.ts): one page, nothing failed; `i` sets the rest. */
export const incident = (i: Partial<IncidentSummary>): IncidentSummary => ({
  incident_id: 'i1',
  team: 'app',
  pages: 1,
  notices: 0,
  failed_deliveries: 0,
  silent_failovers: 0,
  ...i,
});
