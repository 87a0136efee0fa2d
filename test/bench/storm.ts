/**
 * `make storm` — the paging path under an alert storm, with faults (a benchmark, not a test):
 *
 * - 1,000 CloudWatch alarms over 300 alarm ARNs within 60 s, posted to the receiver's alarm endpoint;
 * - a shard split mid-storm;
 * - 5 % of provider sends hang 30 s (accepted by the simulator, answered late);
 * - the paging and lake services (real child processes behind the local event source mapping)
 *   SIGKILLed 5 times each at random moments, and restarted.
 *
 * Policy: level 1 pages one person by SMS and email (deadline 5 s, stop on ack), level 2 one person by
 * SMS (5 s), then exhausted — so every incident owes exactly 3 pages and 1 escalation, whatever the
 * timing. Last line:
 *   RESULT pages_expected=… pages_sent=… lost=… duplicated=… alarm_to_first_page_p99_ms=…
 *          deadline_lag_p99_ms=… lake_rows_lost=… lake_rows_duplicated=…
 * Targets (local): lost 0, duplicated 0, alarm → first page p99 < 1 s, deadline lag p99 < 2 s.
 * The services run from their esbuild bundles (dist/local, built by `make storm`; STORM_BUILT=0 runs
 * them through tsx). Settings: STORM_ALARMS (1000), STORM_ARNS (300), STORM_SECONDS (60), STORM_KILLS (5),
 * STORM_HANG_FRACTION (0.05), STORM_SEED.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ListShardsCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import { startClosedLoop, SECRETS, type ChildRunner, type ClosedLoop } from '../helpers/closed-loop.js';
import { demoAlarmEvent, type DemoStory } from '../../infra/local/demo-alarms.js';
import { incidentId } from '../../schemas/ids.js';
import { readStream } from '../helpers/read-stream.js';
import { queryDuckDb } from '../../analysis/query/duckdb-engine.js';

const ALARMS = Number(process.env.STORM_ALARMS ?? 1000);
const ARNS = Number(process.env.STORM_ARNS ?? 300);
const SECONDS = Number(process.env.STORM_SECONDS ?? 60);
const KILLS = Number(process.env.STORM_KILLS ?? 5);
let seed = Number(process.env.STORM_SEED ?? 7);
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const TEAMS = 10;
const DEADLINE_S = 5;

const log = (msg: string) => process.stderr.write(`[storm ${new Date().toISOString().slice(11, 23)}] ${msg}\n`);
const pct = (xs: number[], p: number) =>
  xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)] : NaN;

function oncallFile(dir: string): string {
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

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagetrail-storm-'));
  const loop: ClosedLoop = await startClosedLoop({
    shards: 2,
    oncallFile: oncallFile(dir),
    env: {
      PAGING_SEND_BUDGET_MS: process.env.PAGING_SEND_BUDGET_MS ?? '300',
      PAGING_MAX_SEND_MS: '12000',
      PAGING_POLL_MS: process.env.PAGING_POLL_MS ?? '25',
      FLUSH_INTERVAL_S: '2',
    },
    simulator: {
      behaviours: { default: ['delivered'] },
      hangFraction: Number(process.env.STORM_HANG_FRACTION ?? 0.05),
      hangMs: 30_000,
      seed: 11,
      stepDelayMs: 200,
    },
  });
  const { clients, config } = loop.stack;
  const built = process.env.STORM_BUILT !== '0';
  const start = (role: 'paging' | 'lake') => loop.startChild(role, {}, { built });
  const children: Record<'paging' | 'lake', ChildRunner> = { paging: start('paging'), lake: start('lake') };
  const restart = async (role: 'paging' | 'lake') => {
    children[role].proc.kill('SIGKILL');
    await children[role].exited;
    children[role] = start(role);
  };

  // the plan: alarm times, kill times, split time
  const t0 = Date.now() + 2000;
  const plan = Array.from({ length: ALARMS }, (_, i) => ({
    arn: i % ARNS,
    at: t0 + Math.floor((i / ALARMS) * SECONDS * 1000),
  }));
  const kills = (['paging', 'lake'] as const).flatMap((role) =>
    Array.from({ length: KILLS }, () => ({ role, at: t0 + random() * SECONDS * 1000 })),
  );
  const timers: NodeJS.Timeout[] = [];
  for (const k of kills)
    timers.push(
      setTimeout(() => void restart(k.role).then(() => log(`killed and restarted ${k.role}`)), k.at - Date.now()),
    );
  timers.push(
    setTimeout(
      async () => {
        const shards =
          (await clients.kinesis.send(new ListShardsCommand({ StreamName: config.STREAM_NAME }))).Shards ?? [];
        const open = shards.filter((s) => !s.SequenceNumberRange?.EndingSequenceNumber);
        const s = open[0];
        const mid = (BigInt(s.HashKeyRange!.StartingHashKey!) + BigInt(s.HashKeyRange!.EndingHashKey!)) / 2n;
        await clients.kinesis.send(
          new SplitShardCommand({
            StreamName: config.STREAM_NAME,
            ShardToSplit: s.ShardId!,
            NewStartingHashKey: mid.toString(),
          }),
        );
        log(`split ${s.ShardId}`);
      },
      t0 + (SECONDS * 1000) / 2 - Date.now(),
    ),
  );

  // post the alarms on time (each one a new episode of its alarm)
  const posted = new Map<string, number>();
  await new Promise((r) => setTimeout(r, t0 - Date.now()));
  let failedPosts = 0;
  await Promise.all(
    plan.map(async (p, i) => {
      await new Promise((r) => setTimeout(r, Math.max(0, p.at - Date.now())));
      const s = story(p.arn);
      const enteredAt = p.at + i; // distinct episode per alarm
      const event = demoAlarmEvent(s, 'ALARM', enteredAt, enteredAt);
      const sentAt = Date.now();
      const res = await fetch(new URL('/events/cloudwatch', loop.receiverUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': SECRETS.apiKey },
        body: JSON.stringify(event),
      }).catch(() => undefined);
      if (!res || res.status >= 300) failedPosts++;
      posted.set(incidentId(event.resources[0], enteredAt), sentAt);
    }),
  );
  log(`posted ${posted.size} alarms (${failedPosts} refused)`);

  // wait for the pages owed: 3 per incident; give up 120 s after the last would be due
  const expected = posted.size * 3;
  const sends = () =>
    loop.sim.requests().filter((r) => r.method === 'POST' && r.dispatchId && r.status < 300 && !r.replayed);
  const end = Date.now() + (2 * DEADLINE_S + 30 + 60) * 1000;
  while (new Set(sends().map((r) => r.dispatchId)).size < expected && Date.now() < end)
    await new Promise((r) => setTimeout(r, 500));
  for (const t of timers) clearTimeout(t);
  await new Promise((r) => setTimeout(r, 3000)); // late duplicates would show now

  const byDispatch = new Map<string, { n: number; first: number; incident?: string }>();
  for (const r of sends()) {
    const d = byDispatch.get(r.dispatchId!) ?? { n: 0, first: r.receivedAt };
    d.n++;
    d.first = Math.min(d.first, r.receivedAt);
    byDispatch.set(r.dispatchId!, d);
  }
  const pagesSent = byDispatch.size;
  const duplicated = [...byDispatch.values()].reduce((a, d) => a + d.n - 1, 0);

  // a send left to settle (hung past the budget) gets its dispatch record only when its wake-up
  // comes: wait until every page at the provider has its dispatch record on the stream
  const settleEnd = Date.now() + 90_000;
  for (;;) {
    const onStream = new Set(
      (await readStream(clients.kinesis, config.STREAM_NAME))
        .filter((r) => r.kind === 'dispatch')
        .map((r) => r.eventId),
    );
    const missing = [...byDispatch.keys()].filter((d) => !onStream.has(d)).length;
    if (missing === 0) break;
    if (Date.now() > settleEnd) {
      log(`${missing} pages still without a dispatch record`);
      const lines = children.paging
        .output()
        .split('\n')
        .filter((l) => /settl|lookup|unknown|fail/i.test(l));
      log(`paging log (${lines.length} lines about settling):\n${lines.slice(-12).join('\n')}`);
      break;
    }
    await new Promise((r) => setTimeout(r, 2000));
  }

  // alarm → first provider call, and deadline lag, from the lake (dispatch and deadline/escalation rows)
  await children.paging.stop();
  await new Promise((r) => setTimeout(r, 5000)); // the lake takes the last records (FLUSH_INTERVAL_S=2)
  await children.lake.stop();
  const lakeService = loop.startMapping('lake');
  await lakeService.mapping.waitCaughtUp(120_000);
  await lakeService.stop();
  const q = (sql: string) =>
    queryDuckDb(sql, { s3: clients.s3, bucket: config.LAKE_BUCKET, cacheDir: path.join(dir, 'cache') });
  const dispatchRows = await q("SELECT incident_id, event_id FROM events WHERE kind = 'dispatch' AND level = 1");
  const firstPage = new Map<string, number>();
  for (const [inc, id] of dispatchRows.rows) {
    const at = byDispatch.get(String(id))?.first;
    if (at !== undefined) firstPage.set(String(inc), Math.min(firstPage.get(String(inc)) ?? Infinity, at));
  }
  const alarmToPage = [...posted].filter(([inc]) => firstPage.has(inc)).map(([inc, at]) => firstPage.get(inc)! - at);
  const lag = await q(
    'SELECT epoch_ms(e.timestamp) - epoch_ms(d.timestamp) FROM events e ' +
      'JOIN events d ON d.incident_id = e.incident_id ' +
      "AND d.kind = 'deadline' AND d.reason = 'level' AND d.level = e.level " +
      "WHERE e.kind = 'escalation' AND e.reason IN ('deadline', 'exhausted')",
  );
  const lags = lag.rows.map((r) => Number(r[0]));

  // the lake against the stream: every valid record once in `events`
  const streamRecords = await readStream(clients.kinesis, config.STREAM_NAME);
  const streamIds = new Set(streamRecords.flatMap((r) => (r.eventId ? [r.eventId] : [])));
  const lakeRows = await q('SELECT event_id, count(*) FROM events GROUP BY event_id');
  const inLake = new Map(lakeRows.rows.map((r) => [String(r[0]), Number(r[1])]));
  const lakeLost = [...streamIds].filter((id) => !inLake.has(id)).length;
  const lakeDup = [...inLake.values()].reduce((a, n) => a + n - 1, 0);
  if (lakeLost > 0) {
    const lost = streamRecords.filter((r) => r.eventId && !inLake.has(r.eventId));
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

  await loop.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  log(
    `incidents=${posted.size} sends=${sends().length} unique=${pagesSent} ` +
      `escalations_measured=${lags.length} stream_records=${streamIds.size}`,
  );
  log(
    `alarm→first page ms p50=${pct(alarmToPage, 50)} p90=${pct(alarmToPage, 90)} p99=${pct(alarmToPage, 99)} ` +
      `max=${pct(alarmToPage, 100)}; deadline lag ms p50=${pct(lags, 50)} p90=${pct(lags, 90)} p99=${pct(lags, 99)}`,
  );
  console.log(
    [
      `RESULT pages_expected=${expected}`,
      `pages_sent=${pagesSent}`,
      `lost=${Math.max(0, expected - pagesSent)}`,
      `duplicated=${duplicated}`,
      `alarm_to_first_page_p99_ms=${Math.round(pct(alarmToPage, 99))}`,
      `deadline_lag_p99_ms=${Math.round(pct(lags, 99))}`,
      `lake_rows_lost=${lakeLost}`,
      `lake_rows_duplicated=${lakeDup}`,
    ].join(' '),
  );
  process.exit(expected - pagesSent === 0 && duplicated === 0 && lakeLost === 0 && lakeDup === 0 ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
