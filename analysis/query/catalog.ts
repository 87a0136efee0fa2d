import { EVENTS_TABLE, ERROR_PREFIX, RAW_TABLE, type TableDef } from '../../schemas/lake.js';
import { VIEWS } from '../../schemas/views.js';

/**
 * The `errors` table: the JSON Lines objects under `errors/` (processors/lake/objects.ts, one line
 * per record that failed validation), read locally with DuckDB's read_json. `data_base64` holds the
 * record's bytes as written. Partitioned by arrival day (`dt`), like `raw_records`.
 */
export const ERRORS_TABLE = {
  name: 'errors',
  prefix: ERROR_PREFIX,
  comment: 'Records that failed validation (JSON Lines under errors/): why, where, and the bytes as written.',
  columns: [
    { name: 'reason', type: 'string', nullable: false, comment: 'why the record was rejected' },
    { name: 'path', type: 'string', nullable: false, comment: 'the field the validation failed on' },
    { name: 'shard_id', type: 'string', nullable: false, comment: 'Kinesis shard' },
    { name: 'sequence_number', type: 'string', nullable: false, comment: 'Kinesis sequence number' },
    { name: 'partition_key', type: 'string', nullable: false, comment: 'Kinesis partition key' },
    { name: 'arrival_time', type: 'timestamp', nullable: false, comment: 'approximate arrival time (UTC)' },
    { name: 'data_base64', type: 'string', nullable: false, comment: 'record bytes, base64' },
  ],
} as const satisfies TableDef<'errors'>;

/** Every table a local query can read, with the file type of its objects. */
export const QUERY_TABLES = [
  { def: EVENTS_TABLE as TableDef, format: 'parquet' },
  { def: RAW_TABLE as TableDef, format: 'parquet' },
  { def: ERRORS_TABLE as TableDef, format: 'jsonl' },
] as const;

export interface CatalogEntry {
  name: string;
  kind: 'table' | 'view';
  description: string;
}

const VIEW_DESCRIPTIONS: Partial<Record<string, string>> = {
  alert_events: 'events without alarms, deduplicated, with escalation_time (when the page’s level escalated)',
  incidents: 'one row per incident: first paged/delivered/opened/acked/escalated times and the verdicts',
};

/** What `SHOW TABLES` answers: the lake's tables, then its views. */
export const CATALOG: readonly CatalogEntry[] = [
  ...QUERY_TABLES.map(({ def }) => ({ name: def.name, kind: 'table' as const, description: def.comment })),
  ...Object.keys(VIEWS).map((name) => ({ name, kind: 'view' as const, description: VIEW_DESCRIPTIONS[name] ?? '' })),
];

/** Whether a statement is `SHOW TABLES` (answered from the catalog, without reading the lake). */
export const isShowTables = (sql: string) => /^\s*show\s+tables\s*;?\s*$/i.test(sql);
