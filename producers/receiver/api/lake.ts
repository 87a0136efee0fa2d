import type { S3Client } from '@aws-sdk/client-s3';
import type { DataAge } from '../../../analysis/report/data-age.js';
import {
  lakeIncidentTeam,
  loadLakeData,
  loadLakeIncidents,
  summaryOfRow,
  type IncidentSummary as LakeIncidentSummary,
  type LakeData,
} from '../../../analysis/report/data.js';
import { lakeSession, type LakeEngineConfig } from '../../../analysis/report/lake-session.js';
import { buildTimeline, incidentRows, type Timeline } from '../../../analysis/report/timeline.js';
import type { OnCallConfig } from '../../../schemas/oncall/config.js';

export type { DataAge, LakeData, LakeIncidentSummary, Timeline };

/** An incident as the lake has it: the `incidents` view's row (with its team) and its timeline. */
export interface LakeIncident {
  summary: LakeIncidentSummary;
  timeline: Timeline;
}

/**
 * One answer's reading of the lake (the history the paging state no longer holds, and the analytics): its queries
 * and its data age go through one lake cache, so that with S3 down both read the cache and the age says so.
 */
export interface LakeReader {
  readonly engine: 'duckdb' | 'athena';
  /** The incident with this id (never an alarm name), or undefined when the lake has nothing of it. */
  incident(id: string): Promise<LakeIncident | undefined>;
  /** The incidents opened in [from, to), oldest first, each with its team. */
  incidents(from: number, to: number): Promise<LakeIncidentSummary[]>;
  /** The report's data for [from, to): incidents, pages, failures (analysis/report/data.ts). */
  analytics(from: number, to: number): Promise<LakeData>;
  /** The newest committed flush (analysis/report/data-age.ts). */
  dataAge(): Promise<DataAge>;
}

/** The lake behind the incident API and the console: a new reader per answer. */
export interface LakeHistory {
  reader(): LakeReader;
}

/**
 * The lake through analysis/: DuckDB over the local lake cache, or Athena (ENGINE, as `make incident` and `make
 * report` pick it: analysis/report/lake-session.ts). Teams are routed from the alarm by the on-call file, as the
 * report does.
 */
export class QueryLakeHistory implements LakeHistory {
  constructor(
    private readonly opts: {
      config: LakeEngineConfig;
      s3: S3Client;
      oncall: () => OnCallConfig;
      now?: () => number;
      /** Each Athena query's deadline, ms. */
      athenaTimeoutMs?: number;
    },
  ) {}

  reader(): LakeReader {
    const { config, s3, oncall } = this.opts;
    const session = lakeSession(config, s3, { now: this.opts.now, athenaTimeoutMs: this.opts.athenaTimeoutMs });
    return {
      engine: session.engine,
      incident: async (id) => {
        const rows = await incidentRows(session.query, id);
        // incidentRows also takes an alarm name: the API asks by incident id only
        if (!rows || String(rows.incident.incident_id) !== id) return undefined;
        const cfg = oncall();
        const team = await lakeIncidentTeam(session.query, id, cfg);
        return { summary: summaryOfRow(rows.incident, team), timeline: buildTimeline(rows, cfg.people) };
      },
      incidents: (from, to) => loadLakeIncidents(session.query, { from, to, oncall: oncall() }),
      analytics: (from, to) => loadLakeData(session.query, { from, to, oncall: oncall() }),
      dataAge: session.dataAge,
    };
  }
}
