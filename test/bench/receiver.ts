/**
 * `make bench-receiver` — the webhook receiver under a storm of signed provider callbacks (a benchmark,
 * not a test):
 *
 * - the local stack (kinesalite, s3rver, dynalite on free ports, in this process);
 * - the receiver as a child process (the esbuild bundle dist/local/receiver/index.mjs that the make
 *   target builds, or RECEIVER_BENCH_BUNDLE; RECEIVER_BENCH_BUILT=0 runs producers/receiver/main.ts
 *   through tsx; RECEIVER_BENCH_CPU_PROF=DIR profiles it with --cpu-prof), LOG_LEVEL as
 *   in production (info), its log lines written to a file as a container's would be;
 * - a bare hono server (one route answering 200 after reading the body) as the ceiling of this
 *   machine, also a child process;
 * - the load generator (autocannon, 127.0.0.1) in a third process, so it shares no thread with the
 *   engines or the receiver. Every request is unique and correctly signed: half Twilio status
 *   callbacks (X-Twilio-Signature over the StatusCallback URL and the form), half Resend `email.*`
 *   events (Svix headers), for pages spread over 200 alarm ARNs (partition keys). Requests are signed
 *   before a step starts, so signing does not slow the generator down.
 *
 * The ramp: a warm-up, then fixed offered rates (RECEIVER_BENCH_RATES, default 500,1000,2000,3000,4000,
 * 5000 per second, RECEIVER_BENCH_SECONDS each, default 5), paced evenly and open loop (runPaced:
 * latency from when each request was due), then one unbounded step (autocannon, closed loop); the same
 * unbounded step against the bare server gives the ceiling. Afterwards every record of the stream is read back and
 * every 2xx'd callback must be there (`not_on_stream` must be 0; the bench exits 1 otherwise).
 *
 * Last lines:
 *   CHECK five_xx=… other_non_2xx=… errors=… ok=… not_on_stream=…
 *   RESULT receiver_ok_per_s=… p99_ms_at_1000=… bare_hono_per_s=… fraction_of_bare=…
 * receiver_ok_per_s: the most 2xx (verified, on the stream) per second of any step; p99_ms_at_1000:
 * autocannon's p99 latency of the 1,000/s step. Targets on a 2-core machine with kinesalite on the same
 * cores: ≥ 3,000/s, p99 < 50 ms at 1,000/s, no 5xx.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { twilioStatusCallbackUrl, TAG } from '../../schemas/correlation.js';
import { eventId, incidentId } from '../../schemas/ids.js';
import { formBody, svixHeaders, twilioSignature } from '../../producers/receiver/testing.js';
import { freePort } from '../../infra/local/engines.js';

const HERE = fileURLToPath(import.meta.url);
const REPO_ROOT = path.resolve(path.dirname(HERE), '..', '..');
const SECRETS = {
  twilioAuthToken: 'bench-twilio-auth-token-0123456789',
  resendWebhookSecret: 'whsec_' + Buffer.from('bench-resend-webhook-secret!!').toString('base64'),
  apiKey: 'bench-api-key-0123456789abcdef',
  ackLinkSecret: 'bench-ack-link-secret-0123456789abcdef01',
};
const ALARMS = 200;

const log = (msg: string) =>
  process.stderr.write(`[bench-receiver ${new Date().toISOString().slice(11, 23)}] ${msg}\n`);

// ------------------------------------------------------------------------------------------------
// the load generator (child process: `receiver.ts --load '<LoadSpec JSON>'`)

interface LoadSpec {
  url: string;
  /** PUBLIC_BASE_URL the receiver verifies Twilio signatures against. */
  publicBaseUrl: string;
  /** Offered requests per second; 0 = as fast as the connections go. */
  rate: number;
  seconds: number;
  connections: number;
  /** Requests to sign in advance (unique ids); reused round-robin only if the step outruns them. */
  prepared: number;
  /** Prefix of the unique ids of this step. */
  idPrefix: string;
  /** `bare`: plain POSTs of the same bodies to the bare server (no signature needed). */
  target: 'receiver' | 'bare';
}

interface LoadResult {
  ok: number;
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
  p50: number;
  p99: number;
  max: number;
  elapsedS: number;
  /** message ids (Twilio MessageSid / Resend email_id) of the 2xx'd requests. */
  okIds: string[];
}

interface Prepared {
  id: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

const arnOf = (i: number) => `arn:aws:cloudwatch:us-east-1:123456789012:alarm:bench-alarm-${i % ALARMS}`;

function prepare(spec: LoadSpec): Prepared[] {
  const out: Prepared[] = [];
  const now = Date.now();
  for (let i = 0; i < spec.prepared; i++) {
    const alarmArn = arnOf(i);
    const ref = {
      incidentId: incidentId(alarmArn, now - 60_000),
      alarmArn,
      dispatchId: eventId('dispatch', spec.idPrefix, String(i)),
    };
    const id = `${spec.idPrefix}${String(i).padStart(7, '0')}`;
    if (i % 2 === 0) {
      const params = {
        AccountSid: 'AC0123456789abcdef0123456789abcdef',
        ApiVersion: '2010-04-01',
        From: '+15017250604',
        To: '+15551230001',
        MessageSid: `SM${id}`,
        MessageStatus: 'delivered',
        SmsSid: `SM${id}`,
        SmsStatus: 'delivered',
      };
      const url = twilioStatusCallbackUrl(spec.publicBaseUrl, ref);
      out.push({
        id: `SM${id}`,
        path: url.slice(spec.publicBaseUrl.length),
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': twilioSignature(SECRETS.twilioAuthToken, url, params),
        },
        body: formBody(params),
      });
    } else {
      const body = JSON.stringify({
        type: 'email.delivered',
        created_at: new Date(now).toISOString(),
        data: {
          email_id: `em-${id}`,
          from: 'Pagetrail <alerts@pagetrail.example>',
          to: ['oncall@example.com'],
          subject: '[P1] bench is ALARM',
          tags: {
            [TAG.incident]: ref.incidentId,
            [TAG.alarm]: Buffer.from(alarmArn).toString('base64url'),
            [TAG.dispatch]: ref.dispatchId,
            [TAG.severity]: 'P1',
          },
        },
      });
      out.push({
        id: `em-${id}`,
        path: '/webhooks/resend',
        headers: {
          'content-type': 'application/json',
          ...svixHeaders(body, { secret: SECRETS.resendWebhookSecret, id: `msg_${id}` }),
        },
        body,
      });
    }
  }
  return out;
}

/** autocannon's surface as used here (the package ships no types). */
interface AutocannonResult {
  latency: { p50: number; p99: number; max: number };
  errors: number;
  timeouts: number;
  statusCodeStats: Record<string, { count: number }>;
  duration: number;
}
type Autocannon = (opts: object, cb: (err: Error | null, result: AutocannonResult) => void) => unknown;

/**
 * A fixed offered rate, open loop: request i is due at start + i/rate (paced evenly, not in bursts —
 * autocannon's rate limit sends each connection's quota back to back at the start of every second,
 * which measures a burst of `connections` concurrent requests, not a steady rate) over keep-alive
 * connections; its latency counts from when it was due, so a slow answer that delays later requests
 * is charged to them too (no coordinated omission).
 */
async function runPaced(spec: LoadSpec): Promise<LoadResult> {
  const http = await import('node:http');
  const prepared = prepare(spec);
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections });
  const target = new URL(spec.url);
  const total = Math.round(spec.rate * spec.seconds);
  const intervalNs = 1e9 / spec.rate;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const okIds: string[] = [];
  let errors = 0;
  let timeouts = 0;
  const start = process.hrtime.bigint();
  const sendOne = (i: number, dueNs: bigint) =>
    new Promise<void>((resolve) => {
      const p = prepared[i % prepared.length];
      const req = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: 'POST',
          path: spec.target === 'bare' ? '/bare' : p.path,
          headers: { ...p.headers, 'content-length': Buffer.byteLength(p.body) },
          agent,
          timeout: 10_000,
        },
        (res) => {
          res.resume();
          res.once('end', () => {
            latencies.push(Number(process.hrtime.bigint() - dueNs) / 1e6);
            const code = String(res.statusCode);
            statuses[code] = (statuses[code] ?? 0) + 1;
            if (res.statusCode! >= 200 && res.statusCode! < 300) okIds.push(p.id);
            resolve();
          });
        },
      );
      req.once('timeout', () => {
        timeouts++;
        req.destroy();
      });
      req.once('error', () => {
        errors++;
        resolve();
      });
      req.end(p.body);
    });
  const inFlight: Promise<void>[] = [];
  let sent = 0;
  await new Promise<void>((done) => {
    const tick = () => {
      const now = process.hrtime.bigint();
      while (sent < total && start + BigInt(Math.round(sent * intervalNs)) <= now) {
        inFlight.push(sendOne(sent, start + BigInt(Math.round(sent * intervalNs))));
        sent++;
      }
      if (sent < total)
        setTimeout(tick, 1); // not setImmediate: a spinning generator would take a core from the receiver
      else done();
    };
    tick();
  });
  await Promise.all(inFlight);
  const elapsedS = Number(process.hrtime.bigint() - start) / 1e9;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] : NaN;
  return {
    ok: okIds.length,
    statuses,
    errors,
    timeouts,
    p50: Math.round(at(0.5)),
    p99: Math.round(at(0.99)),
    max: Math.round(latencies.at(-1) ?? NaN),
    elapsedS,
    okIds,
  };
}

async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  if (spec.rate > 0) return runPaced(spec);
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  const prepared = prepare(spec);
  const okIds: string[] = [];
  let next = 0;
  const result = await new Promise<AutocannonResult>((resolve, reject) =>
    autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        pipelining: 1,
        duration: spec.seconds,
        timeout: 10,
        ...(spec.rate > 0 ? { overallRate: spec.rate } : {}),
        requests: [
          {
            method: 'POST',
            setupRequest: (req: object, context: { id?: string }) => {
              const p = prepared[next++ % prepared.length];
              context.id = p.id;
              return {
                ...req,
                method: 'POST',
                path: spec.target === 'bare' ? '/bare' : p.path,
                headers: p.headers,
                body: p.body,
              };
            },
            onResponse: (status: number, _body: unknown, context: { id?: string }) => {
              if (status >= 200 && status < 300 && context.id) okIds.push(context.id);
            },
          },
        ],
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    ),
  );
  const statuses: Record<string, number> = {};
  for (const [code, s] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = s.count;
  return {
    ok: okIds.length,
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    elapsedS: result.duration,
    okIds,
  };
}

// ------------------------------------------------------------------------------------------------
// the bare hono server (child process: `receiver.ts --bare <port>`)

async function runBare(port: number): Promise<void> {
  const { Hono } = await import('hono');
  const { serve } = await import('@hono/node-server');
  const app = new Hono();
  app.post('/bare', async (c) => {
    await c.req.arrayBuffer();
    return c.body(null, 200);
  });
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  serve({ fetch: app.fetch, port, hostname: '127.0.0.1' });
}

// ------------------------------------------------------------------------------------------------
// the orchestrator

/** CPU time (user + system) a process used so far, ms (Linux /proc; NaN elsewhere). */
function cpuMsOf(pid: number | undefined): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in USER_HZ (100)
  } catch {
    return NaN;
  }
}

const ownCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function waitHealthy(url: string, proc: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null)
      throw new Error(`${url}: the process exited (${proc.exitCode ?? proc.signalCode})`);
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) }).catch(() => undefined);
    if (res?.ok) return;
    if (Date.now() > end) throw new Error(`${url} not healthy within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function runLoadChild(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', HERE, '--load', JSON.stringify(spec)], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator exited with ${code}`));
      try {
        resolve(JSON.parse(out) as LoadResult);
      } catch (err) {
        reject(new Error(`load generator output is not JSON: ${out.slice(0, 200)}`, { cause: err }));
      }
    });
  });
}

const stopChild = async (proc: ChildProcess) => {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
};

async function main(): Promise<void> {
  const { stackEnv, startLocalStack } = await import('../helpers/local-stack.js');
  const { readStream } = await import('../helpers/read-stream.js');
  const rates = (process.env.RECEIVER_BENCH_RATES ?? '500,1000,2000,3000,4000,5000').split(',').map(Number);
  const seconds = Number(process.env.RECEIVER_BENCH_SECONDS ?? 5);
  // autocannon is closed-loop per connection: a connection sends its next request after the answer,
  // so an offered rate needs rate × latency connections. Enough for 80 ms answers (50..400), unless
  // RECEIVER_BENCH_CONNECTIONS fixes the number; the unbounded steps use 300.
  const fixedConnections = process.env.RECEIVER_BENCH_CONNECTIONS
    ? Number(process.env.RECEIVER_BENCH_CONNECTIONS)
    : undefined;
  const connectionsFor = (rate: number) =>
    fixedConnections ?? (rate > 0 ? Math.min(400, Math.max(50, Math.ceil(rate * 0.08))) : 300);
  const built = process.env.RECEIVER_BENCH_BUILT !== '0';
  const bundle = process.env.RECEIVER_BENCH_BUNDLE ?? path.join(REPO_ROOT, 'dist', 'local', 'receiver', 'index.mjs');
  if (built && !fs.existsSync(bundle))
    throw new Error(`${bundle} is missing: run make bench-receiver (it builds it) or set RECEIVER_BENCH_BUILT=0`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagetrail-bench-receiver-'));
  const stack = await startLocalStack({ shards: 2 });
  const { config } = stack;
  const children: ChildProcess[] = [];
  try {
    // the receiver
    const port = await freePort();
    const publicBaseUrl = `http://127.0.0.1:${port}`;
    const logFile = path.join(dir, 'receiver.log');
    const logFd = fs.openSync(logFile, 'a');
    const cpuProf = process.env.RECEIVER_BENCH_CPU_PROF
      ? ['--cpu-prof', `--cpu-prof-dir=${process.env.RECEIVER_BENCH_CPU_PROF}`]
      : [];
    const receiver = spawn(
      process.execPath,
      [
        ...cpuProf,
        ...(built ? [bundle] : ['--import', 'tsx', path.join(REPO_ROOT, 'producers', 'receiver', 'main.ts')]),
      ],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', logFd, logFd],
        env: {
          PATH: process.env.PATH,
          ...stackEnv(config),
          PUBLIC_BASE_URL: publicBaseUrl,
          PORT: String(port),
          HOST: '127.0.0.1',
          TWILIO_AUTH_TOKEN: SECRETS.twilioAuthToken,
          RESEND_WEBHOOK_SECRET: SECRETS.resendWebhookSecret,
          API_KEY: SECRETS.apiKey,
          ACK_LINK_SECRET: SECRETS.ackLinkSecret,
          LOG_LEVEL: process.env.RECEIVER_BENCH_LOG_LEVEL ?? 'info',
          ...(process.env.RECEIVER_BENCH_ENV
            ? (JSON.parse(process.env.RECEIVER_BENCH_ENV) as Record<string, string>)
            : {}),
        },
      },
    );
    children.push(receiver);
    await waitHealthy(`${publicBaseUrl}/healthz`, receiver);

    // the bare server
    const barePort = await freePort();
    const bare = spawn(process.execPath, ['--import', 'tsx', HERE, '--bare', String(barePort)], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    children.push(bare);
    await waitHealthy(`http://127.0.0.1:${barePort}/healthz`, bare);

    const load = (name: string, rate: number, secs: number, target: 'receiver' | 'bare' = 'receiver') =>
      runLoadChild({
        url: target === 'bare' ? `http://127.0.0.1:${barePort}` : publicBaseUrl,
        publicBaseUrl,
        rate,
        seconds: secs,
        connections: connectionsFor(rate),
        prepared: Math.ceil((rate > 0 ? rate : 8000) * secs * 1.05) + connectionsFor(rate),
        idPrefix: `${name}-`,
        target,
      });

    // CPU per 2xx'd request of the receiver and of this process (kinesalite, s3rver, dynalite): robust
    // figures even when other work shares the cores
    const steps: { name: string; rate: number; r: LoadResult; receiverCpuMs: number; enginesCpuMs: number }[] = [];
    const step = async (name: string, rate: number, secs: number) => {
      const [r0, e0] = [cpuMsOf(receiver.pid), ownCpuMs()];
      const r = await load(name, rate, secs);
      steps.push({ name, rate, r, receiverCpuMs: cpuMsOf(receiver.pid) - r0, enginesCpuMs: ownCpuMs() - e0 });
    };
    log(
      `load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}; ${os.cpus().length} cores; receiver ${built ? 'bundle' : 'tsx'}`,
    );
    // warm-up (JIT, connection pools, the stream's first writes): the first measured step would
    // otherwise pay for it — a running receiver has long been warm
    await step('warmup', 300, 2);
    await step('warmup', 1000, 5);
    for (const rate of rates) await step(`r${rate}`, rate, seconds);
    await step('max', 0, seconds);
    const bareResult = await load('bare', 0, seconds, 'bare');

    for (const s of steps) {
      const nonOk =
        Object.entries(s.r.statuses)
          .filter(([c]) => !c.startsWith('2'))
          .map(([c, n]) => `${c}:${n}`)
          .join(',') || '-';
      log(
        `${s.name.padEnd(7)} offered ${s.rate > 0 ? String(s.rate).padStart(5) : '  max'}/s ` +
          `(${connectionsFor(s.rate)} conn)  ok ${(s.r.ok / s.r.elapsedS).toFixed(0).padStart(5)}/s  ` +
          `p50 ${s.r.p50} ms  p99 ${s.r.p99} ms  max ${s.r.max} ms  ` +
          `non-2xx ${nonOk}  errors ${s.r.errors}  timeouts ${s.r.timeouts}  ` +
          `CPU/req: receiver ${((1000 * s.receiverCpuMs) / s.r.ok).toFixed(0)} µs, ` +
          `engines ${((1000 * s.enginesCpuMs) / s.r.ok).toFixed(0)} µs`,
      );
    }
    const bareRate = Object.values(bareResult.statuses).reduce((a, b) => a + b, 0) / bareResult.elapsedS;
    log(
      `bare    max/s (${connectionsFor(0)} conn)  ${bareRate.toFixed(0)}/s  ` +
        `p50 ${bareResult.p50} ms  p99 ${bareResult.p99} ms`,
    );

    // every 2xx'd callback must be on the stream
    const readStart = Date.now();
    const onStream = new Set<string>();
    for (const e of await readStream(stack.clients.kinesis, config.STREAM_NAME)) {
      const id = (e.record as { message_id?: string } | undefined)?.message_id;
      if (id) onStream.add(id);
    }
    const allOk = steps.flatMap((s) => s.r.okIds);
    const notOnStream = allOk.filter((id) => !onStream.has(id)).length;
    log(`read ${onStream.size} records back in ${Date.now() - readStart} ms`);

    const sum = (f: (r: LoadResult) => number) => steps.reduce((a, s) => a + f(s.r), 0);
    const fiveXx = sum((r) => Object.entries(r.statuses).reduce((a, [c, n]) => a + (c.startsWith('5') ? n : 0), 0));
    const otherNon2xx = sum((r) =>
      Object.entries(r.statuses).reduce((a, [c, n]) => a + (!c.startsWith('5') && !c.startsWith('2') ? n : 0), 0),
    );
    const best = Math.max(...steps.filter((s) => s.name !== 'warmup').map((s) => s.r.ok / s.r.elapsedS));
    const at1000 = steps.find((s) => s.rate === 1000 && s.name !== 'warmup');
    console.log(
      `CHECK five_xx=${fiveXx} other_non_2xx=${otherNon2xx} errors=${sum((r) => r.errors)} ` +
        `ok=${allOk.length} not_on_stream=${notOnStream}`,
    );
    console.log(
      [
        `RESULT receiver_ok_per_s=${best.toFixed(0)}`,
        `p99_ms_at_1000=${at1000 ? at1000.r.p99 : 'NaN'}`,
        `bare_hono_per_s=${bareRate.toFixed(0)}`,
        `fraction_of_bare=${(best / bareRate).toFixed(2)}`,
      ].join(' '),
    );
    if (notOnStream > 0) process.exitCode = 1;
  } finally {
    await Promise.allSettled(children.map(stopChild));
    await stack.stop();
    if (!process.env.RECEIVER_BENCH_KEEP) fs.rmSync(dir, { recursive: true, force: true });
    else log(`kept ${dir}`);
  }
}

const [mode, arg] = process.argv.slice(2);
if (mode === '--load') {
  runLoad(JSON.parse(arg) as LoadSpec).then(
    (r) => process.stdout.write(JSON.stringify(r)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
} else if (mode === '--bare') {
  await runBare(Number(arg));
} else {
  await main();
}
