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
 *          round_trips_before_first_page=… sdk_calls_per_alarm=… paging_cpu_ms_per_alarm=…
 *          dynamodb_wcu_per_alarm=… receipt_to_queryable_p50_s=…
 * Targets (local): lost 0, duplicated 0, alarm → first page p99 < 1 s, deadline lag p99 < 2 s; issue 19: ≤ 2 round
 * trips before the first page, ≤ 8 calls per alarm record, ≤ 20 ms paging CPU and ≤ 20 write units per alarm,
 * receipt → queryable p50 ≤ 15 s. How the cost figures are measured (a preload in the service processes, probes,
 * a same-run idle baseline): docs/performance.md, "The storm's cost figures". They are also written to
 * .cache/storm/last.json, which `make cost` reads (infra/cost).
 * The services run from their esbuild bundles (dist/local, built by `make storm`; STORM_BUILT=0 runs
 * them through tsx). Settings: STORM_ALARMS (1000), STORM_ARNS (300), STORM_SECONDS (60) or STORM_RATE (alarms/s;
 * sets the seconds), STORM_KILLS (5), STORM_HANG_FRACTION (0.05), STORM_SEED, STORM_PROBES (3),
 * STORM_FLUSH_INTERVAL_S (default: the lake's own default), STORM_TALLY=0 (no preload: the cost figures print
 * NaN). No kills at 17 alarms/s: `STORM_KILLS=0 STORM_RATE=17 make storm`. The on-call file, the alarms and
 * the counting are shared with `make chaos` (paging-traffic.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ListShardsCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import { startClosedLoop, SECRETS, type ChildRunner, type ClosedLoop } from '../helpers/closed-loop.js';
import { readStream } from '../helpers/read-stream.js';
import { queryDuckDb } from '../../analysis/query/duckdb-engine.js';
import {
  DEADLINE_S,
  PAGES_PER_INCIDENT,
  alarmEvent,
  benchLog,
  countPages,
  explainLakeLost,
  isPage,
  lakeDiff,
  lakeEventCounts,
  pct,
  postAlarm,
  seededRandom,
  writeOncallFile,
} from './paging-traffic.js';
import { readTallies } from './sdk-tally.js';
import { costFigures, noCostFigures } from './storm-cost.js';

const ALARMS = Number(process.env.STORM_ALARMS ?? 1000);
const ARNS = Number(process.env.STORM_ARNS ?? 300);
const SECONDS = process.env.STORM_RATE
  ? ALARMS / Number(process.env.STORM_RATE)
  : Number(process.env.STORM_SECONDS ?? 60);
const KILLS = Number(process.env.STORM_KILLS ?? 5);
const PROBES = Number(process.env.STORM_PROBES ?? 3);
const PRELOAD = path.join(import.meta.dirname, 'sdk-tally-preload.mjs');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const random = seededRandom(Number(process.env.STORM_SEED ?? 7));
const log = benchLog('storm');

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagetrail-storm-'));
  const loop: ClosedLoop = await startClosedLoop({
    shards: 2,
    oncallFile: writeOncallFile(dir),
    env: {
      PAGING_SEND_BUDGET_MS: process.env.PAGING_SEND_BUDGET_MS ?? '300',
      PAGING_MAX_SEND_MS: '12000',
      PAGING_POLL_MS: process.env.PAGING_POLL_MS ?? '25',
      // the lake's default batching window unless set: receipt → queryable is measured at defaults
      FLUSH_INTERVAL_S: process.env.STORM_FLUSH_INTERVAL_S as string,
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
  const tallyDir = path.join(dir, 'tally');
  fs.mkdirSync(tallyDir);
  const tally = process.env.STORM_TALLY !== '0';
  const tallyEnv = (role: string): Record<string, string> => ({
    NODE_OPTIONS: `--import ${PRELOAD}`,
    SDK_TALLY_DIR: tallyDir,
    SDK_TALLY_ROLE: role,
    SDK_TALLY_CAPACITY: '1',
  });
  const start = (role: 'paging' | 'lake') => loop.startChild(role, tally ? tallyEnv(role) : {}, { built });
  const children: Record<'paging' | 'lake', ChildRunner> = { paging: start('paging'), lake: start('lake') };
  const restart = async (role: 'paging' | 'lake') => {
    children[role].proc.kill('SIGKILL');
    await children[role].exited;
    children[role] = start(role);
  };

  const sends = () => loop.sim.requests().filter(isPage);
  const posted = new Map<string, number>();

  // a same-run baseline: the paging process idle (started, polling an empty stream) for 2 s
  await sleep(3000);
  const baseline = { from: Date.now(), to: Date.now() + 2000 };
  await sleep(2000);
  // probes: alarms posted one at a time on the idle process (round trips and calls of one alarm record)
  const probes: number[] = [];
  for (let k = 0; k < PROBES; k++) {
    const { event, incident } = alarmEvent(ARNS + k, Date.now());
    const before = sends().length;
    const at = Date.now();
    await postAlarm(loop.receiverUrl, SECRETS.apiKey, event);
    posted.set(incident, at);
    probes.push(at);
    const until = Date.now() + 10_000;
    while (sends().length === before && Date.now() < until) await sleep(20);
    await sleep(600); // the batch's checkpoint follows its handler
  }

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
  await new Promise((r) => setTimeout(r, t0 - Date.now()));
  let failedPosts = 0;
  await Promise.all(
    plan.map(async (p, i) => {
      await new Promise((r) => setTimeout(r, Math.max(0, p.at - Date.now())));
      const enteredAt = p.at + i; // distinct episode per alarm
      const { event, incident } = alarmEvent(p.arn, enteredAt);
      const sentAt = Date.now();
      const status = await postAlarm(loop.receiverUrl, SECRETS.apiKey, event);
      if (!status || status >= 300) failedPosts++;
      posted.set(incident, sentAt);
    }),
  );
  log(`posted ${posted.size} alarms (${failedPosts} refused)`);

  // wait for the pages owed: 3 per incident; give up 120 s after the last would be due
  const expected = posted.size * PAGES_PER_INCIDENT;
  const end = Date.now() + (2 * DEADLINE_S + 30 + 60) * 1000;
  while (new Set(sends().map((r) => r.dispatchId)).size < expected && Date.now() < end)
    await new Promise((r) => setTimeout(r, 500));
  for (const t of timers) clearTimeout(t);
  await new Promise((r) => setTimeout(r, 3000)); // late duplicates would show now
  const pagesDoneAt = Date.now();

  const { byDispatch, pagesSent, duplicated } = countPages(sends());

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

  // the last incidents' exhausted escalations (a deadline after their last page) belong to the cost window
  await sleep(pagesDoneAt + (DEADLINE_S + 2) * 1000 - Date.now());
  const costWindow = { from: t0, to: Date.now() };

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
  const inLake = await lakeEventCounts(q);
  const { lost: lakeLost, duplicated: lakeDup } = lakeDiff(streamIds, inLake);
  explainLakeLost(streamRecords, inLake, log);

  const cost = await (tally ? costFigures : noCostFigures)({
    tallies: readTallies(tallyDir),
    checkpointTable: config.CHECKPOINT_TABLE,
    probes,
    baseline,
    window: costWindow,
    alarms: ALARMS,
    stream: streamRecords,
    pagesSent: (pagesSent * ALARMS) / posted.size, // the probes' pages out: per alarm of the storm
    settings: { ALARMS, ARNS, SECONDS, KILLS, PROBES, built },
    s3: clients.s3,
    bucket: config.LAKE_BUCKET,
    dir,
    log,
  });
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
      `round_trips_before_first_page=${cost.roundTrips}`,
      `sdk_calls_per_alarm=${cost.callsPerAlarmRecord}`,
      `paging_cpu_ms_per_alarm=${cost.pagingCpuMsPerAlarm}`,
      `dynamodb_wcu_per_alarm=${cost.wcuPerAlarm}`,
      `receipt_to_queryable_p50_s=${cost.receiptToQueryableP50S}`,
    ].join(' '),
  );
  process.exit(expected - pagesSent === 0 && duplicated === 0 && lakeLost === 0 && lakeDup === 0 ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
