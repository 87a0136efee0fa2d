import { glueType, LAKE_TABLES, EVENTS_TABLE, type ColumnType, type TableDef } from '../../schemas/lake.js';

/**
 * Glue (Hive) and Presto column lists, generated from the lake's table definitions (schemas/lake.ts),
 * the same lists the Arrow schema is built from. Pure: no CDK imports, so tests can compare them
 * against the synthesized template.
 */
export interface GlueColumn {
  name: string;
  type: string;
  comment: string;
}

export const PARTITION_KEY: GlueColumn = { name: 'dt', type: 'string', comment: 'partition: UTC day, yyyy-MM-dd' };

export function glueColumns(table: TableDef): GlueColumn[] {
  return table.columns.map((c) => ({ name: c.name, type: glueType(c.type), comment: c.comment }));
}

/** Presto/Trino type names (what Athena stores in a view definition). */
export function prestoType(type: ColumnType): string {
  return { string: 'varchar', int: 'integer', bigint: 'bigint', timestamp: 'timestamp', binary: 'varbinary' }[type];
}

/** Hive type of a Presto type (the Glue StorageDescriptor columns of a view). */
export function hiveTypeOfPresto(type: string): string {
  return (
    { varchar: 'string', integer: 'int', bigint: 'bigint', timestamp: 'timestamp', varbinary: 'binary' }[type] ?? type
  );
}

export interface ViewColumn {
  name: string;
  type: string;
}

/** Output columns of the views in schemas/views.ts, in select order (Presto types). */
export const VIEW_COLUMNS: Record<'alert_events' | 'incidents', ViewColumn[]> = {
  alert_events: [
    ...EVENTS_TABLE.columns.map((c) => ({ name: c.name, type: prestoType(c.type) })),
    { name: 'escalation_time', type: 'timestamp' },
    { name: 'opened_before_this_page_escalated', type: 'varchar' },
    { name: 'dt', type: 'varchar' },
  ],
  incidents: [
    { name: 'incident_id', type: 'varchar' },
    { name: 'alarm_arn', type: 'varchar' },
    { name: 'alarm_name', type: 'varchar' },
    { name: 'severity', type: 'varchar' },
    { name: 'opened_at', type: 'timestamp' },
    { name: 'first_paged_at', type: 'timestamp' },
    { name: 'first_delivered_at', type: 'timestamp' },
    { name: 'first_opened_at', type: 'timestamp' },
    { name: 'acknowledged_at', type: 'timestamp' },
    { name: 'escalated_at', type: 'timestamp' },
    { name: 'resolved_at', type: 'timestamp' },
    { name: 'pages', type: 'bigint' },
    { name: 'failed_deliveries', type: 'bigint' },
    { name: 'max_level', type: 'integer' },
    { name: 'suppressed', type: 'boolean' },
    { name: 'retriggers', type: 'bigint' },
    { name: 'silent_failovers', type: 'bigint' },
    { name: 'source', type: 'varchar' },
    { name: 'notices', type: 'bigint' },
    { name: 'acknowledged_by', type: 'varchar' },
    { name: 'first_responder_opened_before_escalation', type: 'varchar' },
    { name: 'any_responder_opened_before_escalation', type: 'varchar' },
  ],
};

/** `CREATE OR REPLACE VIEW x AS <select>` → `<select>` (what Athena keeps as originalSql). */
export function viewSelect(createSql: string): string {
  const m = /^\s*CREATE\s+OR\s+REPLACE\s+VIEW\s+\S+\s+AS\s+/i.exec(createSql);
  if (!m) throw new Error('not a CREATE OR REPLACE VIEW statement');
  return createSql.slice(m[0].length);
}

/** The `ViewOriginalText` Athena writes for a view: a base64 JSON definition in a comment. */
export function prestoViewText(createSql: string, database: string, columns: ViewColumn[]): string {
  const def = { originalSql: viewSelect(createSql), catalog: 'awsdatacatalog', schema: database, columns };
  return `/* Presto View: ${Buffer.from(JSON.stringify(def), 'utf8').toString('base64')} */`;
}

export { LAKE_TABLES };
