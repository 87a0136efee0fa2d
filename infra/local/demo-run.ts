import type { QueryResult } from '../../analysis/query/result.js';
import { auditQuery, SEED_QUERY } from '../../analysis/query/named-queries.js';
import { DEMO_STORIES, demoAlarmEvent, demoIncidentId } from './demo-alarms.js';

/**
 * The demo scenario, end to end, against a running system: post the stories' CloudWatch alarms to
 * the alarm endpoint, let the loop page, fail over, escalate and take acks, wait until the lake shows
 * every story told, then answer the seed query and the per-incident verdicts. Used by `make demo`
 * (background services) and by the end-to-end test (the same services in-process).
 */
export { SEED_QUERY } from '../../analysis/query/named-queries.js';

/** The per-incident audit of this run's incidents: the named query `incident-audit`, filtered. */
export const verdictQuery = (ids: string[]) => auditQuery({ incidentIds: ids });

export interface DemoRunOptions {
  /** Where the alarm endpoint listens (POST /events/cloudwatch). */
  receiverUrl: string;
  apiKey: string;
  /** SQL on the lake. */
  query: (sql: string) => Promise<QueryResult>;
  timeoutMs?: number;
  pollMs?: number;
  log?: (line: string) => void;
  /**
   * After the last alarm state the demo posts (the first incident's OK): wait until the lake holds every
   * row of what was played (demo-settle.ts), so the answers below, and anything read after the demo, are
   * complete.
   */
  settle?: (incidents: { incidentIds: string[]; resolved: string[] }) => Promise<void>;
}

export interface DemoRunResult {
  incidents: { incidentId: string; alarmName: string; story: string }[];
  seed: QueryResult;
  verdicts: QueryResult;
  seconds: number;
}

export async function runDemo(opts: DemoRunOptions): Promise<DemoRunResult> {
  const log = opts.log ?? (() => {});
  const started = Date.now();
  const t0 = Math.floor(started / 1000) * 1000;
  const incidents = DEMO_STORIES.map((s, i) => ({ s, at: t0 + i * 100, incidentId: demoIncidentId(s, t0 + i * 100) }));

  for (const { s, at, incidentId } of incidents) {
    const res = await fetch(new URL('/events/cloudwatch', opts.receiverUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': opts.apiKey },
      body: JSON.stringify(demoAlarmEvent(s, 'ALARM', at, at)),
    });
    if (!res.ok) throw new Error(`alarm endpoint answered ${res.status} for ${s.alarmName}: ${await res.text()}`);
    log(`  ALARM ${s.alarmName.padEnd(24)} ${incidentId}  ${s.story}`);
  }

  const where = incidents.map(({ s, incidentId }) => `(incident_id = '${incidentId}' AND ${s.done})`).join(' OR ');
  const deadline = started + (opts.timeoutMs ?? 90_000);
  let told = 0;
  for (;;) {
    const res = await opts.query(`SELECT count(*) FROM incidents WHERE ${where}`);
    const n = Number(res.rows[0]?.[0] ?? 0);
    if (n !== told)
      log(`  lake: ${n}/${incidents.length} stories complete (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    told = n;
    if (n === incidents.length) break;
    if (Date.now() > deadline)
      throw new Error(
        `only ${n} of ${incidents.length} stories reached the lake within ${(opts.timeoutMs ?? 90_000) / 1000} s ` +
          `(see make status and .data/logs)`,
      );
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 1500));
  }

  // The first incident resolves: its alarm goes back to OK.
  const first = incidents[0];
  await fetch(new URL('/events/cloudwatch', opts.receiverUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': opts.apiKey },
    body: JSON.stringify(demoAlarmEvent(first.s, 'OK', Date.now(), first.at)),
  });

  const ids = incidents.map((i) => i.incidentId);
  await opts.settle?.({ incidentIds: ids, resolved: [first.incidentId] });
  const seed = await opts.query(SEED_QUERY);
  seed.rows = seed.rows.filter((r) => ids.includes(String(r[0])));
  return {
    incidents: incidents.map(({ s, incidentId }) => ({ incidentId, alarmName: s.alarmName, story: s.story })),
    seed,
    verdicts: await opts.query(verdictQuery(ids)),
    seconds: (Date.now() - started) / 1000,
  };
}
