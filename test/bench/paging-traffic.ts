/**
 * What the paging benchmarks share (`make storm`: test/bench/storm.ts, `make chaos`: test/bench/chaos.ts):
 *
 * - the on-call file: TEAMS teams, each with a P1 policy that pages one person by SMS and email (level 1,
 *   DEADLINE_S, stop on ack), then one person by SMS (level 2, DEADLINE_S), then exhausted — so every
 *   incident owes exactly PAGES_PER_INCIDENT pages, whatever the timing;
 * - the alarms (`alarmEvent`: a CloudWatch "Alarm State Change" of `storm-t<team>-alarm-<n>`, one new
 *   episode per `enteredAt`) and their post to the receiver's alarm endpoint;
 * - the counting, pure: pages at the provider (`countPages`: one page per dispatch id the simulator
 *   accepted, every further accepted send of it a duplicate), pages owed per incident (`pageShortfall`),
 *   the lake against the stream (`lakeDiff`), and percentiles (`pct`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { demoAlarmEvent, type DemoStory } from '../../infra/local/demo-alarms.js';
import { incidentId } from '../../schemas/ids.js';
import type { StreamEntry } from '../helpers/read-stream.js';

export const TEAMS = 10;
export const DEADLINE_S = 5;
/** Level 1: SMS + email; level 2: SMS. */
export const PAGES_PER_INCIDENT = 3;

/** A stderr logger whose lines start `[<tag> HH:MM:SS.mmm]`. */
export const benchLog = (tag: string) => (msg: string) =>
  process.stderr.write(`[${tag} ${new Date().toISOString().slice(11, 23)}] ${msg}\n`);

/** The p-th percentile (nearest rank) of `xs`; NaN when empty. */
export function pct(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** A seeded generator of numbers in [0, 1) (a linear congruential one: repeatable runs). */
export function seededRandom(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

/** Writes the benchmarks' on-call file into `dir`; returns its path. */
export function writeOncallFile(dir: string): string {
  const people: Record<string, object> = {};
  const teams: Record<string, object> = {};
  const routes: object[] = [];
  for (let t = 0; t < TEAMS; t++) {
    const n = (k: number) => `+1555${String(t).padStart(2, '0')}0000${k}`;
    people[`p${t}`] = { name: `Primary ${t}`, sms: n(1), email: `primary${t}@example.com` };
    people[`s${t}`] = { name: `Secondary ${t}`, sms: n(2) };
    teams[`t${t}`] = {
      members: [`p${t}`, `s${t}`],
      escalation: {
        P1: {
          levels: [
            { targets: [`p${t}`], channels: ['sms', 'email'], deadline_s: DEADLINE_S, stop_on: 'ack' },
            { targets: [`s${t}`], channels: ['sms'], deadline_s: DEADLINE_S, stop_on: 'ack' },
          ],
        },
      },
    };
    routes.push({ alarm_prefix: `storm-t${t}-`, team: `t${t}` });
  }
  const file = path.join(dir, 'storm-oncall.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      people,
      teams,
      routes,
      default_team: 't0',
      twilio: { sms_from: '+15550000000' },
      email: { from: 'Pagetrail <alerts@pagetrail.example>' },
    }),
  );
  return file;
}

const story = (arn: number): DemoStory => ({
  alarmName: `storm-t${arn % TEAMS}-alarm-${arn}`,
  severity: 'P1',
  namespace: 'AWS/ECS',
  metric: 'CPUUtilization',
  dimensions: { ClusterName: 'prod', ServiceName: `svc-${arn}` },
  story: '',
  done: '',
});

/** Alarm number `arn` entering ALARM at `enteredAt` (a distinct episode per time), and its incident id. */
export function alarmEvent(arn: number, enteredAt: number) {
  const event = demoAlarmEvent(story(arn), 'ALARM', enteredAt, enteredAt);
  return { event, incident: incidentId(event.resources[0], enteredAt) };
}

/**
 * POSTs an alarm event to the receiver's alarm endpoint; the HTTP status, or undefined when unreachable
 * (or not answered within `timeoutMs`, when given).
 */
export async function postAlarm(
  receiverUrl: string,
  apiKey: string,
  event: unknown,
  timeoutMs?: number,
): Promise<number | undefined> {
  const res = await fetch(new URL('/events/cloudwatch', receiverUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
    body: JSON.stringify(event),
    ...(timeoutMs ? { signal: AbortSignal.timeout(timeoutMs) } : {}),
  }).catch(() => undefined);
  await res?.body?.cancel();
  return res?.status;
}

/** What the counting reads of a simulator request record (infra/local/provider-simulator/records.ts). */
export interface SentRequest {
  method: string;
  status: number;
  receivedAt: number;
  dispatchId?: string;
  replayed?: boolean;
}

/** A page: a sending request the provider accepted (not an idempotent replay of an earlier one). */
export const isPage = (r: SentRequest) => r.method === 'POST' && !!r.dispatchId && r.status < 300 && !r.replayed;

export interface PageCount {
  /** Per dispatch id: how many times the provider accepted it, and when first (epoch ms). */
  byDispatch: Map<string, { n: number; first: number }>;
  /** Distinct dispatch ids accepted. */
  pagesSent: number;
  /** Accepted sends beyond the first of each dispatch id. */
  duplicated: number;
}

export function countPages(requests: readonly SentRequest[]): PageCount {
  const byDispatch = new Map<string, { n: number; first: number }>();
  for (const r of requests) {
    if (!isPage(r)) continue;
    const d = byDispatch.get(r.dispatchId!) ?? { n: 0, first: r.receivedAt };
    d.n++;
    d.first = Math.min(d.first, r.receivedAt);
    byDispatch.set(r.dispatchId!, d);
  }
  const duplicated = [...byDispatch.values()].reduce((a, d) => a + d.n - 1, 0);
  return { byDispatch, pagesSent: byDispatch.size, duplicated };
}

/**
 * Per incident, the pages it owed (`owed` each) against the distinct pages it got (`got`: incident id →
 * count): `lost` sums what is missing, `extra` what is beyond (a second dispatch for the same page).
 */
export function pageShortfall(
  incidents: Iterable<string>,
  got: ReadonlyMap<string, number>,
  owed = PAGES_PER_INCIDENT,
): { lost: number; extra: number; short: string[] } {
  let lost = 0;
  let extra = 0;
  const short: string[] = [];
  for (const inc of incidents) {
    const n = got.get(inc) ?? 0;
    if (n < owed) short.push(inc);
    lost += Math.max(0, owed - n);
    extra += Math.max(0, n - owed);
  }
  return { lost, extra, short };
}

/** The lake against the stream: stream records with no row (`lost`), rows beyond one per event id (`duplicated`). */
export function lakeDiff(
  streamIds: Iterable<string>,
  lakeCounts: ReadonlyMap<string, number>,
): { lost: number; duplicated: number; lostIds: string[] } {
  const lostIds = [...new Set(streamIds)].filter((id) => !lakeCounts.has(id));
  const duplicated = [...lakeCounts.values()].reduce((a, n) => a + Math.max(0, n - 1), 0);
  return { lost: lostIds.length, duplicated, lostIds };
}

/** `event_id → rows` of the lake's `events` table (`query` runs SQL over the lake, e.g. queryDuckDb). */
export async function lakeEventCounts(
  query: (sql: string) => Promise<{ rows: unknown[][] }>,
): Promise<Map<string, number>> {
  const rows = await query('SELECT event_id, count(*) FROM events GROUP BY event_id');
  return new Map(rows.rows.map((r) => [String(r[0]), Number(r[1])]));
}

/** Logs which stream records are not in the lake, by kind and shard, and the stories of the first three. */
export function explainLakeLost(
  streamRecords: readonly StreamEntry[],
  inLake: ReadonlyMap<string, number>,
  log: (msg: string) => void,
) {
  const lost = streamRecords.filter((r) => r.eventId && !inLake.has(r.eventId));
  if (lost.length === 0) return;
  const byKind = new Map<string, number>();
  for (const r of lost) byKind.set(`${r.kind}@${r.shardId}`, (byKind.get(`${r.kind}@${r.shardId}`) ?? 0) + 1);
  log(`not in the lake: ${JSON.stringify(Object.fromEntries(byKind))}`);
  for (const r of lost.slice(0, 3)) {
    const rec = r.record as Extract<typeof r.record, { kind: 'receipt' }>;
    const same = streamRecords
      .filter((x) => x.record?.incident_id === rec?.incident_id)
      .map(
        (x) =>
          `${x.kind}@${x.shardId}#${x.sequenceNumber.slice(-6)}${
            x.record?.kind === 'receipt' || x.record?.kind === 'dispatch'
              ? `:${(x.record as { message_id?: string }).message_id}`
              : ''
          }${inLake.has(x.eventId!) ? '' : ' (not in lake)'}`,
      );
    log(
      `  lost ${rec?.kind} ${rec?.message_id} ${rec?.status} dispatch=${rec?.dispatch_id}: ` +
        `incident records ${same.join(', ')}`,
    );
  }
}
