import {
  AthenaClient,
  GetQueryExecutionCommand,
  StartQueryExecutionCommand,
  paginateGetQueryResults,
} from '@aws-sdk/client-athena';
import type { QueryResult } from './result.js';

export class AthenaQueryError extends Error {
  constructor(
    readonly queryExecutionId: string,
    readonly state: string,
    reason: string | undefined,
  ) {
    super(`Athena query ${queryExecutionId} ${state}: ${reason ?? 'no reason given'}`);
    this.name = 'AthenaQueryError';
  }
}

/** Runs SQL on Athena in a workgroup (which sets the result location and the bytes-scanned limit). */
export async function queryAthena(
  sql: string,
  opts: { region: string; workgroup: string; database: string; outputLocation?: string; pollMs?: number },
): Promise<QueryResult> {
  const athena = new AthenaClient({ region: opts.region });
  const { QueryExecutionId: id } = await athena.send(
    new StartQueryExecutionCommand({
      QueryString: sql,
      WorkGroup: opts.workgroup,
      QueryExecutionContext: { Database: opts.database },
      ResultConfiguration: opts.outputLocation ? { OutputLocation: opts.outputLocation } : undefined,
    }),
  );
  for (;;) {
    const { QueryExecution: q } = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    const state = q?.Status?.State;
    if (state === 'SUCCEEDED') break;
    if (state === 'FAILED' || state === 'CANCELLED')
      throw new AthenaQueryError(id!, state, q?.Status?.StateChangeReason);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
  let columns: string[] = [];
  const rows: unknown[][] = [];
  let first = true;
  for await (const page of paginateGetQueryResults({ client: athena }, { QueryExecutionId: id })) {
    columns = page.ResultSet?.ResultSetMetadata?.ColumnInfo?.map((c) => c.Name ?? '') ?? columns;
    for (const row of page.ResultSet?.Rows ?? []) {
      if (first) {
        first = false; // the header row
        continue;
      }
      rows.push(row.Data?.map((d) => d.VarCharValue ?? null) ?? []);
    }
  }
  return { columns, rows };
}
