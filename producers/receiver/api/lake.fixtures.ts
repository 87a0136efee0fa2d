import { LakeUnreachableError } from '../../../analysis/query/errors.js';
import type { DataAge, LakeData, LakeHistory, LakeIncident, LakeIncidentSummary, LakeReader } from './lake.js';

/** Test support: the lake behind the incident API and the console's analytics, in memory (lake.ts's interface). */

/** A lake in memory: its incidents, a data age, and a switch that makes every read fail like S3 down, or hang. */
export class MemoryLake implements LakeHistory {
  state: 'up' | 'down' | 'hung' = 'up';
  readers = 0;
  /** `pages` and `failures`: the analytics' (analysis/report/data.ts); the incidents are `summaries`. */
  constructor(
    readonly age: DataAge,
    readonly incidents: LakeIncident[],
    readonly summaries: LakeIncidentSummary[],
    readonly rest: Pick<LakeData, 'pages' | 'failures'> = { pages: [], failures: [] },
  ) {}
  reader(): LakeReader {
    this.readers++;
    const gate = async () => {
      if (this.state === 'down') throw new LakeUnreachableError('lake', 'raw/', '.cache/lake');
      if (this.state === 'hung') await new Promise(() => undefined);
    };
    return {
      engine: 'duckdb',
      incident: async (id) => {
        await gate();
        return this.incidents.find((i) => i.summary.incident_id === id);
      },
      incidents: async (from, to) => {
        await gate();
        return this.summaries.filter((s) => (s.opened_at ?? 0) >= from && (s.opened_at ?? 0) < to);
      },
      analytics: async (from, to) => {
        await gate();
        const incidents = this.summaries.filter((s) => (s.opened_at ?? 0) >= from && (s.opened_at ?? 0) < to);
        const ids = new Set(incidents.map((i) => i.incident_id));
        return {
          incidents,
          pages: this.rest.pages.filter((p) => ids.has(p.incident_id)),
          failures: this.rest.failures.filter((f) => ids.has(f.incident_id)),
        };
      },
      dataAge: async () => this.age,
    };
  }
}
