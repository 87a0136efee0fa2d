/**
 * Receipt → queryable on the local stack: `npx tsx test/bench/freshness.ts [FLUSH_INTERVAL_S]` (default: the
 * configuration's default). The closed loop (test/helpers/closed-loop.ts) with the paging mapping in process and the
 * lake as its real service (`processors/lake/main.ts`, whose batching window is FLUSH_INTERVAL_S as on AWS); the demo
 * stories' alarms go to the alarm endpoint, and DuckDB is asked every POLL_MS which receipts the lake holds. A
 * receipt's latency = when DuckDB first returned its row − its Kinesis arrival time (the row's `arrival_time`). It
 * stops once every receipt on the stream is readable and `SETTLE_S` passed since the alarms. Prints one RESULT line:
 * `receipt_to_queryable_p50_s=… p90_s=… max_s=… receipts=… flush_interval_s=…`
 * (FRESHNESS_DEBUG=1: each receipt's times on stderr). A measurement, not a test.
 */
import { queryDuckDb } from '../../analysis/query/duckdb-engine.js';
import { loadConfig } from '../../platform/config.js';
import { DEMO_STORIES, demoAlarmEvent } from '../../infra/local/demo-alarms.js';
import { SECRETS, startClosedLoop } from '../helpers/closed-loop.js';
import { readStream } from '../helpers/read-stream.js';

const POLL_MS = 250;
const SETTLE_S = 40;
const TIMEOUT_S = 400;

const flushIntervalS = Number(process.argv[2] ?? loadConfig({}).FLUSH_INTERVAL_S);
const loop = await startClosedLoop({ shards: 2, env: { FLUSH_INTERVAL_S: String(flushIntervalS) } });
const { clients, config } = loop.stack;
const lake = loop.startChild('lake', { LOG_LEVEL: 'info' });
loop.startMapping('paging');
try {
  // The lake service reads both shards before the first alarm: its start-up is not part of the latency.
  for (const t = Date.now(); lake.output().split('event source mapping: shard start').length < 3; ) {
    if (Date.now() - t > 60_000) throw new Error(`the lake service did not start:\n${lake.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const started = Date.now();
  const t0 = Math.floor(started / 1000) * 1000;
  for (const [i, s] of DEMO_STORIES.entries()) {
    const at = t0 + i * 100;
    const res = await fetch(new URL('/events/cloudwatch', loop.receiverUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': SECRETS.apiKey },
      body: JSON.stringify(demoAlarmEvent(s, 'ALARM', at, at)),
    });
    if (!res.ok) throw new Error(`alarm endpoint answered ${res.status}`);
  }
  const seen = new Map<string, number>(); // event id -> latency, ms
  const cacheDir = `${loop.stack.s3Directory}-cache`;
  for (;;) {
    const polled = Date.now();
    const res = await queryDuckDb("SELECT event_id, epoch_ms(arrival_time) FROM events WHERE kind = 'receipt'", {
      s3: clients.s3,
      bucket: config.LAKE_BUCKET,
      cacheDir,
    });
    const now = Date.now();
    if (process.env.FRESHNESS_DEBUG) console.error(`poll ${now - polled} ms, ${res.rows.length} receipts`);
    for (const [id, arrival] of res.rows) {
      if (seen.has(String(id))) continue;
      seen.set(String(id), now - Number(arrival));
      if (process.env.FRESHNESS_DEBUG)
        console.error(`receipt arrived +${Number(arrival) - started} ms, readable +${now - started} ms`);
    }
    const onStream = (await readStream(clients.kinesis, config.STREAM_NAME)).filter((e) => e.kind === 'receipt');
    const elapsedS = (now - started) / 1000;
    if (elapsedS > SETTLE_S && onStream.length > 0 && onStream.every((e) => seen.has(e.eventId!))) break;
    if (elapsedS > TIMEOUT_S)
      throw new Error(`only ${seen.size}/${onStream.length} receipts queryable in ${TIMEOUT_S} s`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  const ms = [...seen.values()].sort((a, b) => a - b);
  const q = (p: number) => (ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] / 1000).toFixed(1);
  console.log(
    `RESULT receipt_to_queryable_p50_s=${q(0.5)} p90_s=${q(0.9)} max_s=${q(1)} receipts=${ms.length} ` +
      `flush_interval_s=${flushIntervalS}`,
  );
} finally {
  await lake.stop();
  await loop.stop();
}
