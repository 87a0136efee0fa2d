import { loadConfig } from '../../platform/config.js';
import { dynamoClient, s3Client } from '../../platform/aws.js';
import { IncidentViewReader } from '../../shared/incident-view.js';
import { queryDuckDb } from '../../analysis/query/duckdb-engine.js';
import { formatTable } from '../../analysis/query/result.js';
import { widthOf } from '../../analysis/query/text-table.js';
import { consoleUrl, inboxUrl, managedProcesses, simulatorUrl } from './services.js';
import { down, up } from './stack.js';
import { processEnv, runningPid, stackContext, type ManagedProcess, type StackContext } from './supervisor.js';
import { SEED_QUERY, runDemo } from './demo-run.js';
import { waitForLakeComplete } from './demo-settle.js';
import { formatFreshness, lakeFreshness } from '../../analysis/query/freshness.js';
import { LakeCache } from '../../analysis/query/lake-cache.js';
import { demoPlays } from './demo-alarms.js';

/**
 * `make demo`: bring the local stack to the state the demo needs, play the demo scenario
 * (infra/local/demo-alarms.ts: CloudWatch alarms, then an Alertmanager group), print the seed query and the
 * per-incident verdicts from the lake, and put the stack back as it was.
 *
 * The demo needs its own settings in the services (`demoSettings`): the demo on-call file and
 * simulator behaviours, a lake flushing every few seconds, and every page going to the provider
 * simulator (never to real people). A service already running (`make up`) with other settings is
 * restarted with the demo's for the demo and restarted with its own settings afterwards; what the demo
 * started, it stops.
 */

/** What the services must run with for the demo, by service. */
export function demoSettings(env: NodeJS.ProcessEnv): Record<string, Record<string, string>> {
  const simulator = simulatorUrl(env);
  return {
    simulator: { SIMULATOR_BEHAVIOURS: 'infra/local/oncall/demo-behaviours.json', SIMULATOR_HANG_FRACTION: '0' },
    lake: { FLUSH_INTERVAL_S: env.DEMO_FLUSH_INTERVAL_S ?? '2' },
    paging: { ONCALL_FILE: 'infra/local/oncall/demo.json', TWILIO_API_BASE_URL: simulator, RESEND_BASE_URL: simulator },
  };
}

/** The settings of a running service that differ from what the demo needs ('' when unknown). */
function differences(pid: number, wanted: Record<string, string>): string[] | undefined {
  const env = processEnv(pid);
  if (!env) return undefined;
  return Object.entries(wanted)
    .filter(([k, v]) => (env[k] ?? '') !== v)
    .map(([k, v]) => `${k}=${env[k] ?? '(unset)'}, demo needs ${v}`);
}

async function main() {
  const wanted = demoSettings(process.env);
  const demoEnv: NodeJS.ProcessEnv = {
    ...process.env,
    LOG_LEVEL: process.env.DEMO_LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'info',
  };
  for (const settings of Object.values(wanted)) Object.assign(demoEnv, settings);

  const ctx = stackContext(process.env);
  const demoCtx = stackContext(demoEnv);
  const procs = managedProcesses(ctx);
  const before = new Set(procs.filter((p) => runningPid(ctx, p) !== undefined).map((p) => p.name));

  // services running with other settings: restart them with the demo's
  const restarted: ManagedProcess[] = [];
  for (const p of procs.filter((q) => q.stage === 'app')) {
    const pid = runningPid(ctx, p);
    const need = wanted[p.name];
    if (pid === undefined || !need) continue;
    const diff = differences(pid, need);
    if (diff && diff.length === 0) continue;
    console.log(
      `${p.name} runs with other settings (${diff ? diff.join('; ') : 'its environment is unreadable'}): ` +
        `restarting it with the demo's for the demo`,
    );
    restarted.push(p);
  }
  if (restarted.length) await down(ctx, restarted);

  let failed = false;
  try {
    await up(demoCtx);
    const config = loadConfig(demoEnv);
    const s3 = s3Client(config);
    const dynamodb = dynamoClient(config);
    const query = (sql: string) =>
      queryDuckDb(sql, { s3, bucket: config.LAKE_BUCKET, cacheDir: config.QUERY_CACHE_DIR });
    const alertmanagerToken = (demoEnv.ALERTMANAGER_TOKENS ?? '').split(',')[0]?.trim();
    if (!alertmanagerToken)
      throw new Error('ALERTMANAGER_TOKENS is not set (the demo posts an Alertmanager group; .env.example sets one)');
    console.log(`\nplaying the demo: ${demoPlays()} posted to their endpoints`);
    const result = await runDemo({
      receiverUrl: `http://127.0.0.1:${demoEnv.PORT ?? 8080}`,
      apiKey: demoEnv.API_KEY ?? '',
      alertmanagerToken,
      query,
      timeoutMs: 100_000,
      log: (line) => console.log(line),
      settle: async ({ incidentIds, resolved }) => {
        console.log("waiting until the lake holds every row of the demo's pages (before anything stops)");
        const paging = new IncidentViewReader({ dynamodb, table: config.INCIDENTS_TABLE });
        const { rows } = await waitForLakeComplete({
          incidentIds,
          resolved,
          paging: (id) => paging.incident(id),
          query,
          timeoutMs: Number(demoEnv.DEMO_SETTLE_TIMEOUT_S ?? 60) * 1000,
          log: (line) => console.log(line),
        });
        console.log(`  lake complete: ${rows} rows of the demo's pages, acks and alarms`);
        // the lake's age as make query prints it; the listing stays in the query cache, so a report or a timeline
        // made after the demo stopped the stack can still say how old its data is
        console.log(
          `  ${formatFreshness(await lakeFreshness(new LakeCache(s3, config.LAKE_BUCKET, config.QUERY_CACHE_DIR)))}`,
        );
      },
    });
    console.log(`\n${SEED_QUERY}   -- this run's incidents`);
    console.log(formatTable(result.seed, { width: widthOf(process.stdout) }));
    console.log('\nper-incident verdict (times after the alarm opened):');
    console.log(formatTable(result.verdicts, { width: widthOf(process.stdout) }));
    console.log(`\nscenario told in ${result.seconds.toFixed(1)} s.`);
    console.log(
      `every SMS, WhatsApp, email and call it sent, with its ack link: ${inboxUrl(demoEnv)} ` +
        '(the simulator keeps them in memory: while the stack runs; run make up first to keep it running)',
    );
    const consoleAt = consoleUrl(demoEnv);
    if (consoleAt)
      console.log(
        `the console (open incidents live, acknowledge, on call): ${consoleAt} — sign in as alice@example.com; ` +
          'the sign-in link arrives in the inbox',
      );
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    await restore(ctx, procs, before, restarted, failed);
  }
}

/** Stops what the demo started; restarts with their own settings the services it restarted. */
async function restore(
  ctx: StackContext,
  procs: ManagedProcess[],
  before: Set<string>,
  restarted: ManagedProcess[],
  failed: boolean,
) {
  const again = new Set(restarted.map((p) => p.name));
  const started = procs.filter((p) => !before.has(p.name) || again.has(p.name));
  if (before.size === 0) {
    await down(ctx, procs);
    if (!failed) console.log('The stack stops now; to keep it: make up, then make query SQL="SELECT * FROM incidents"');
    return;
  }
  await down(ctx, started);
  if (restarted.length === 0) return;
  console.log(`restarting ${restarted.map((p) => p.name).join(', ')} with their own settings`);
  try {
    await up(
      ctx,
      procs.filter((p) => before.has(p.name)),
    );
  } catch (err) {
    console.error(`could not restart them (${err instanceof Error ? err.message : String(err)}): run make up`);
  }
}

main().catch((err) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
