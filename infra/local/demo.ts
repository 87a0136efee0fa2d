import { loadConfig } from '../config.js';
import { s3Client } from '../aws.js';
import { queryDuckDb } from '../../processors/query/duckdb-engine.js';
import { formatTable } from '../../processors/query/result.js';
import { appProcesses, down, engineProcesses, stackContext, up } from './stack.js';
import { SEED_QUERY, runDemo } from './demo-run.js';

/**
 * `make demo`: start the local stack and the services (receiver and alarm endpoint, the paging and
 * lake handlers behind the local event source mapping, the Scheduler emulator, provider simulator) unless they run already, play the demo scenario
 * (infra/local/demo-alarms.ts), print the seed query and the per-incident verdicts from the lake, and
 * stop what it started.
 */
async function main() {
  // Demo pacing for the services this command starts (already-running services keep their settings).
  process.env.FLUSH_INTERVAL_S = process.env.DEMO_FLUSH_INTERVAL_S ?? '2';
  process.env.SIMULATOR_BEHAVIOURS ||= 'infra/local/oncall/demo-behaviours.json';
  process.env.LOG_LEVEL = process.env.DEMO_LOG_LEVEL ?? 'info';

  const ctx = stackContext();
  const procs = [...engineProcesses(ctx), ...appProcesses(ctx)];
  const wasUp = (await Promise.all(procs.map((p) => p.health()))).every(Boolean);
  await up(ctx);
  try {
    const config = loadConfig();
    const s3 = s3Client(config);
    const query = (sql: string) => queryDuckDb(sql, { s3, bucket: config.LAKE_BUCKET, cacheDir: config.QUERY_CACHE_DIR });
    console.log('\nplaying the demo: four CloudWatch alarms (ECS and RDS) posted to the alarm endpoint');
    const result = await runDemo({
      receiverUrl: `http://127.0.0.1:${process.env.PORT ?? 8080}`,
      apiKey: process.env.API_KEY ?? '',
      query,
      timeoutMs: 100_000,
      log: (line) => console.log(line),
    });
    console.log(`\n${SEED_QUERY}   -- this run's incidents`);
    console.log(formatTable(result.seed));
    console.log('\nper-incident verdict (times after the alarm opened):');
    console.log(formatTable(result.verdicts));
    console.log(`\nscenario told in ${result.seconds.toFixed(1)} s. The system ${wasUp ? 'keeps running' : 'stops now'}; to keep it: make up, then make query SQL="SELECT * FROM incidents"`);
  } finally {
    if (!wasUp) await down(ctx);
  }
}

main().catch((err) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
