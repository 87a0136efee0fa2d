import {
  AthenaClient,
  GetQueryExecutionCommand,
  StartQueryExecutionCommand,
  paginateGetQueryResults,
} from '@aws-sdk/client-athena';
import { awsRequestHandler } from '../../platform/aws.js';
import { AthenaTimeoutError } from './errors.js';
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

export interface AthenaQueryOptions {
  region: string;
  workgroup: string;
  database: string;
  outputLocation?: string;
  pollMs?: number;
  /**
   * The whole query's deadline, ms (start, polls, results): past it the query fails with AthenaTimeoutError (the
   * execution itself runs on to the workgroup's limits). Default none: `make query` waits as long as Athena takes.
   */
  timeoutMs?: number;
}

/** Each Athena call's own connection and request timeouts, ms (platform/aws.ts defaults). */
const CALL_TIMEOUTS = { connectionTimeoutMs: 2_000, requestTimeoutMs: 10_000 };

/** Runs SQL on Athena in a workgroup (which sets the result location and the bytes-scanned limit). */
export async function queryAthena(sql: string, opts: AthenaQueryOptions): Promise<QueryResult> {
  const athena = new AthenaClient({ region: opts.region, requestHandler: awsRequestHandler(CALL_TIMEOUTS) });
  const abort = new AbortController();
  const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => abort.abort(), opts.timeoutMs);
  timer?.unref?.();
  try {
    return await run(athena, sql, opts, abort.signal);
  } catch (err) {
    if (abort.signal.aborted) throw new AthenaTimeoutError(opts.timeoutMs ?? 0, { cause: err });
    throw err;
  } finally {
    clearTimeout(timer);
    athena.destroy();
  }
}

async function run(
  athena: AthenaClient,
  sql: string,
  opts: AthenaQueryOptions,
  abortSignal: AbortSignal,
): Promise<QueryResult> {
  const { QueryExecutionId: id } = await athena.send(
    new StartQueryExecutionCommand({
      QueryString: sql,
      WorkGroup: opts.workgroup,
      QueryExecutionContext: { Database: opts.database },
      ResultConfiguration: opts.outputLocation ? { OutputLocation: opts.outputLocation } : undefined,
    }),
    { abortSignal },
  );
  for (;;) {
    const { QueryExecution: q } = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }), {
      abortSignal,
    });
    const state = q?.Status?.State;
    if (state === 'SUCCEEDED') break;
    if (state === 'FAILED' || state === 'CANCELLED')
      throw new AthenaQueryError(id!, state, q?.Status?.StateChangeReason);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
    abortSignal.throwIfAborted();
  }
  let columns: string[] = [];
  const rows: unknown[][] = [];
  let first = true;
  for await (const page of paginateGetQueryResults({ client: athena }, { QueryExecutionId: id }, { abortSignal })) {
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
