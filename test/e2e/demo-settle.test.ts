import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryDuckDb } from '../../analysis/query/duckdb-engine.js';
import { runDemo, type DemoRunResult } from '../../infra/local/demo-run.js';
import { expectedRows, waitForLakeComplete } from '../../infra/local/demo-settle.js';
import { IncidentViewReader } from '../../shared/incident-view.js';
import { startClosedLoop, SECRETS, type ClosedLoop } from '../helpers/closed-loop.js';

/**
 * `make demo`'s wait before it stops anything, on the real loop (engines, paging and lake handlers,
 * provider simulator): after the demo's last alarm state (the first incident's OK) the wait returns only
 * once the lake holds every row the paging state knows: the OK (so a report right after says resolved,
 * not "still in alarm"), each page's dispatch and the receipt of its status (no page "pending"), the
 * notices the OK sent and their receipts.
 */
let loop: ClosedLoop;
let result: DemoRunResult;
let settled: { rows: number } | undefined;
let paging: IncidentViewReader;
const lines: string[] = [];

beforeAll(async () => {
  loop = await startClosedLoop({ shards: 2 });
  const { clients, config } = loop.stack;
  loop.startMapping('lake');
  loop.startMapping('paging');
  paging = new IncidentViewReader({ dynamodb: clients.dynamodb, table: config.INCIDENTS_TABLE });
  const query = (sql: string) => loop.lake(sql);
  result = await runDemo({
    receiverUrl: loop.receiverUrl,
    apiKey: SECRETS.apiKey,
    alertmanagerToken: SECRETS.alertmanagerToken,
    query,
    timeoutMs: 60_000,
    pollMs: 500,
    settle: async ({ incidentIds, resolved }) => {
      settled = await waitForLakeComplete({
        incidentIds,
        resolved,
        paging: (id) => paging.incident(id),
        query,
        timeoutMs: 60_000,
        pollMs: 500,
        log: (l) => lines.push(l),
      });
    },
  });
}, 180_000);

afterAll(async () => loop?.stop());

describe('the demo waits for a complete lake', () => {
  it('the wait returned, and the lake then reads the first incident resolved', async () => {
    expect(settled?.rows).toBeGreaterThan(0);
    expect(lines.at(-1)).toBe(`  lake: ${settled?.rows}/${settled?.rows} rows of the demo's pages and acks`);
    const { clients, config } = loop.stack;
    const r = await queryDuckDb(
      `SELECT resolved_at FROM incidents WHERE incident_id = '${result.incidents[0].incidentId}'`,
      { s3: clients.s3, bucket: config.LAKE_BUCKET, cacheDir: `${loop.stack.s3Directory}-cache-resolved` },
    );
    expect(r.rows[0]?.[0]).not.toBeNull();
  });

  it('every row the paging state knows is in the lake once the wait returned', async () => {
    const { clients, config } = loop.stack;
    const ids = result.incidents.map((i) => i.incidentId);
    const present = await queryDuckDb(
      `SELECT DISTINCT incident_id, kind, message_id, status FROM events WHERE incident_id IN ` +
        `(${ids.map((i) => `'${i}'`).join(', ')})`,
      { s3: clients.s3, bucket: config.LAKE_BUCKET, cacheDir: `${loop.stack.s3Directory}-cache-check` },
    );
    const has = (kind: string, messageId?: string, status?: string) =>
      present.rows.some(
        (r) =>
          r[1] === kind && (messageId === undefined || r[2] === messageId) && (status === undefined || r[3] === status),
      );
    const first = await paging.incident(ids[0]);
    expect(first?.resolvedAt).toBeDefined();
    expect(has('alarm', undefined, 'ok')).toBe(true);
    for (const id of ids) {
      const state = (await paging.incident(id))!;
      const { rows } = expectedRows(state);
      expect(rows.length).toBeGreaterThan(0);
      for (const r of rows) expect(has(r.kind, r.messageId, r.status), r.what).toBe(true);
    }
  });
});
