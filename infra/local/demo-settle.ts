import type { QueryResult } from '../../analysis/query/result.js';
import type { IncidentStateView } from '../../shared/incident-view.js';

/**
 * Before `make demo` stops what it started: wait until the lake holds every row of what the demo played,
 * so that a `make report` or `make incident` right after it tells the whole story (not "still in alarm",
 * not a page "pending" because the stack stopped before the lake's last flush).
 *
 * The signal is the paging state (DynamoDB, read-only): everything it knows came off the stream, which the
 * lake reads too. For each incident of the demo the lake must show each page's dispatch, the receipt
 * that gave the page its current status, the ack once acked, the OK once resolved. The demo's pages all
 * go to the provider simulator, which answers every sent message with a status callback: a page still
 * `pending` (not sent) or `sent` (no receipt yet, unless it failed over on silence) means the story is still being
 * told. Done when two
 * polls in a row find the same rows expected and all in the lake (a state that moved between the
 * two reads is read again); else, at the timeout, an error naming what is missing.
 */
export interface ExpectedRow {
  incidentId: string;
  kind: 'dispatch' | 'receipt' | 'ack' | 'alarm';
  messageId?: string;
  status?: string;
  /** In words, for the progress and the timeout's message. */
  what: string;
}

/** What the paging state of one incident says the lake must hold, and what it still waits for. */
export function expectedRows(state: IncidentStateView): { rows: ExpectedRow[]; waiting: string[] } {
  const incidentId = state.incidentId;
  const rows: ExpectedRow[] = [];
  const waiting: string[] = [];
  for (const p of Object.values(state.pages)) {
    const page = `${p.notice ? `${p.notice} notice` : 'page'} to ${p.person} by ${p.channel}`;
    if (p.status === 'pending') {
      waiting.push(`${incidentId}: ${page} not sent yet`);
      continue;
    }
    if (!p.messageId) continue; // the send was refused: its dispatch names no message
    rows.push({ incidentId, kind: 'dispatch', messageId: p.messageId, what: `${incidentId}: ${page} (dispatch)` });
    // a page failed over on silence stays `sent` for good: nothing more to wait for
    if (p.status === 'sent') {
      if (!p.failedOver) waiting.push(`${incidentId}: ${page} has no receipt yet`);
    } else if (p.status !== 'failed')
      rows.push({
        incidentId,
        kind: 'receipt',
        messageId: p.messageId,
        status: p.status,
        what: `${incidentId}: ${page} ${p.status} (receipt)`,
      });
  }
  if (state.ackedAt !== undefined) rows.push({ incidentId, kind: 'ack', what: `${incidentId}: the ack` });
  if (state.resolvedAt !== undefined)
    rows.push({ incidentId, kind: 'alarm', status: 'ok', what: `${incidentId}: the alarm's OK` });
  return { rows, waiting };
}

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;
const keyOf = (r: { incidentId: string; kind: string; messageId?: string | null; status?: string | null }) =>
  [r.incidentId, r.kind, r.messageId ?? '', r.status ?? ''].join('|');

/** The rows of `expected` the lake has (one query over `events`). */
async function presentIn(
  query: (sql: string) => Promise<QueryResult>,
  ids: string[],
): Promise<{ has: (r: ExpectedRow) => boolean }> {
  const res = await query(
    `SELECT DISTINCT incident_id, kind, message_id, status FROM events ` +
      `WHERE incident_id IN (${ids.map(sqlString).join(', ')}) AND kind IN ('dispatch', 'receipt', 'ack', 'alarm')`,
  );
  const keys = new Set<string>();
  for (const [incidentId, kind, messageId, status] of res.rows.map((r) => r.map((v) => (v == null ? '' : String(v))))) {
    keys.add(keyOf({ incidentId, kind, messageId, status }));
    keys.add(keyOf({ incidentId, kind, messageId })); // dispatch rows are expected whatever their status
    keys.add(keyOf({ incidentId, kind })); // acks
    keys.add(keyOf({ incidentId, kind, status })); // the alarm's OK
  }
  return { has: (r) => keys.has(keyOf(r)) };
}

/** The lake did not get every row of the demo in time. */
export class LakeIncompleteError extends Error {
  constructor(
    readonly missing: string[],
    readonly timeoutMs: number,
  ) {
    const shown = missing.slice(0, 6).join('; ');
    super(
      `the lake does not hold all the demo played after ${timeoutMs / 1000} s: ${missing.length} missing ` +
        `(${shown}${missing.length > 6 ? '; …' : ''}); see make status and .data/logs/lake*.log`,
    );
    this.name = 'LakeIncompleteError';
  }
}

export interface LakeSettleOptions {
  incidentIds: string[];
  /** Incidents the demo resolved (their OK must be in the paging state, then the lake). */
  resolved?: string[];
  /** The paging state of an incident (shared/incident-view.ts `IncidentViewReader.incident`). */
  paging: (incidentId: string) => Promise<IncidentStateView | undefined>;
  /** SQL on the lake. */
  query: (sql: string) => Promise<QueryResult>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  timeoutMs?: number;
  pollMs?: number;
  log?: (line: string) => void;
}

/** Waits until the lake holds every row of the incidents' paging state; returns how many rows that is. */
export async function waitForLakeComplete(opts: LakeSettleOptions): Promise<{ rows: number }> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const deadline = now() + timeoutMs;
  let previous: string | undefined;
  let said = '';
  for (;;) {
    const expected: ExpectedRow[] = [];
    const waiting: string[] = [];
    for (const id of opts.incidentIds) {
      const state = await opts.paging(id);
      if (!state) {
        waiting.push(`${id}: not in the paging state`);
        continue;
      }
      if (opts.resolved?.includes(id) && state.resolvedAt === undefined) waiting.push(`${id}: not resolved yet`);
      const e = expectedRows(state);
      expected.push(...e.rows);
      waiting.push(...e.waiting);
    }
    const lake = await presentIn(opts.query, opts.incidentIds);
    const missing = [...waiting, ...expected.filter((r) => !lake.has(r)).map((r) => `${r.what} not in the lake`)];
    const key = expected.map(keyOf).sort().join('\n');
    if (missing.length === 0 && key === previous) return { rows: expected.length };
    previous = missing.length === 0 ? key : undefined;
    const inLake = expected.filter((r) => lake.has(r)).length;
    const progress =
      `  lake: ${inLake}/${expected.length} rows of the demo's pages and acks` +
      (waiting.length ? `, ${waiting.length} still being told` : '');
    if (progress !== said) opts.log?.(progress);
    said = progress;
    if (now() >= deadline) throw new LakeIncompleteError(missing, timeoutMs);
    await sleep(opts.pollMs ?? 1000);
  }
}
