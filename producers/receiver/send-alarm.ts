/**
 * Sends a CloudWatch "Alarm State Change" event file (one event or an array), or a built-in sample, as
 * EventBridge would:
 *
 *   node --env-file=.env.example --import=./infra/local/ports-preload.mjs --import tsx \
 *     producers/receiver/send-alarm.ts <event.json> [--url URL] [--direct]
 *   node ... send-alarm.ts --sample <name>|list [--url URL] [--direct]
 *   (Makefile: `make send-alarm FILE=event.json` or `make send-alarm SAMPLE=rds-cpu`)
 *
 * - --sample: an ALARM event of alarm-samples.ts (rds-cpu, rds-storage, ecs-cpu, ecs-memory, composite), stamped
 *   now with a fresh event id; `list` or an unknown name prints the samples (an unknown name exits 2).
 * - default: POST to <URL>/events/cloudwatch with `x-api-key: $API_KEY`, where URL is --url, else
 *   PUBLIC_BASE_URL, else http://127.0.0.1:$PORT (PORT default 8080). Prints the response.
 * - --direct: no receiver needed: the same validation, namespace filter and severity rules, then the
 *   records go straight to STREAM_NAME with the Kinesis producer.
 * - --source alertmanager|events-v2 (`make send-alarm SOURCE=…`): a sample of that source from schemas/fixtures/
 *   (fixtures/README.md), POSTed as the source sends it: Alertmanager's webhook to /events/alertmanager with
 *   `Authorization: Bearer <the first ALERTMANAGER_TOKENS token>` (--sample firing, the default | partial |
 *   resolved: one group, two alerts, the second sample with one resolved); an Events API v2 event to /v2/enqueue
 *   with the first routing key of EVENTS_V2_ROUTING_KEYS (--sample trigger, the default | acknowledge | resolve:
 *   PagerDuty's examples, all for dedup_key srv01/mysql). Not with --direct.
 * - --source sns [--sample alarm, the default | ok | amp]: a message published to the local SNS topic, i.e. POSTed to
 *   the provider simulator's `/__sim/sns/publish` (--sim-url, else SIMULATOR_URL, else http://127.0.0.1:
 *   $SIMULATOR_PORT, default 4580), which signs it with its local certificate and delivers it to the receiver's
 *   POST /events/sns: `alarm` is the rds-cpu sample's state change as its alarm action's SNS notification (stamped
 *   now), `ok` the same alarm back to OK, `amp` Amazon Managed Prometheus's JSON template output
 *   (schemas/fixtures/amp-sns-json-template-firing.txt). Prints the receiver's answer.
 * - --source heartbeat --check <id> [--sample checkin, the default | watchdog] (`make send-alarm SOURCE=heartbeat
 *   CHECK=<id>`): checks in: POST to <URL>/heartbeat/<token> with the check's token from HEARTBEAT_SECRET
 *   (shared/heartbeat-token.ts); `watchdog` posts kube-prometheus' firing Watchdog alert as Alertmanager sends it
 *   (schemas/fixtures/alertmanager-watchdog-firing.json). With --print-url it prints the check-in URL instead
 *   (`make heartbeat-url CHECK=<id>`).
 * Exit code 0 on success (an ignored alarm included), 1 on a rejected or failed send, 2 on usage errors.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../platform/config.js';
import { kinesisClient } from '../../platform/aws.js';
import { KinesisProducer } from '../../platform/stream/kinesis-producer.js';
import { AlarmRecord } from '../../schemas/alarm-record.js';
import { alarmRecordsFrom } from './alarm-intake.js';
import { snsAlarmMessage } from '../../schemas/cloudwatch-alarm-sns.js';
import { alarmSample, sampleEvent, sampleList } from './alarm-samples.js';
import { loadAlarmIntakeSettings } from './config.js';
import { heartbeatUrl } from '../../shared/heartbeat-token.js';

const USAGE =
  'usage: send-alarm.ts <event.json> | --sample <name>|list  [--url URL] [--direct]\n' +
  '       send-alarm.ts --source alertmanager [--sample firing|partial|resolved] [--url URL]\n' +
  '       send-alarm.ts --source events-v2 [--sample trigger|acknowledge|resolve] [--url URL]\n' +
  '       send-alarm.ts --source sns [--sample alarm|ok|amp] [--sim-url URL]\n' +
  '       send-alarm.ts --source heartbeat --check <id> [--sample checkin|watchdog] [--url URL] [--print-url]';

const SOURCE_SAMPLES: Record<string, readonly string[]> = {
  alertmanager: ['firing', 'partial', 'resolved'],
  'events-v2': ['trigger', 'acknowledge', 'resolve'],
  sns: ['alarm', 'ok', 'amp'],
  heartbeat: ['checkin', 'watchdog'],
};

/** The SNS sample's Message: an alarm action's notification of the rds-cpu sample (ALARM, or back to OK), or AMP's. */
function snsSampleMessage(name: string, at: number): string {
  if (name === 'amp')
    return readFileSync(
      new URL('../../schemas/fixtures/amp-sns-json-template-firing.txt', import.meta.url),
      'utf8',
    ).trim();
  const event = sampleEvent(alarmSample('rds-cpu')!, at, randomUUID());
  const msg = snsAlarmMessage(event);
  if (name === 'ok') {
    msg.OldStateValue = 'ALARM';
    msg.NewStateValue = 'OK';
    msg.NewStateReason = 'Threshold Crossed: 1 out of the last 1 datapoints was not greater than the threshold.';
  }
  return JSON.stringify(msg);
}

/** Publishes a message to the simulator's local SNS topic, which delivers it signed to POST /events/sns. */
async function publishSns(message: string, env: NodeJS.ProcessEnv, simUrl?: string): Promise<number> {
  const base = simUrl || env.SIMULATOR_URL || `http://127.0.0.1:${env.SIMULATOR_PORT || 4580}`;
  const endpoint = new URL('/__sim/sns/publish', base);
  let res: Response;
  try {
    res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message }),
    });
  } catch (err) {
    const cause = (err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    console.error(`cannot reach the provider simulator at ${endpoint} (${cause}): make up starts it`);
    return 1;
  }
  if (!res.ok) {
    console.error(`${res.status} ${await res.text()}`);
    return 1;
  }
  const out = (await res.json()) as { status: number; body: string | null };
  console.log(`${out.status} ${out.body ?? ''}`);
  return out.status >= 200 && out.status < 300 ? 0 : 1;
}

/** The source's sample as its sender would POST it: path, headers and body (undefined + a message: a usage error). */
function sourceRequest(
  source: string,
  sample: string | undefined,
  env: NodeJS.ProcessEnv,
): { path: string; headers: Record<string, string>; body: string } | string {
  const samples = SOURCE_SAMPLES[source];
  if (!samples) return `unknown SOURCE "${source}": alertmanager, events-v2, heartbeat or sns`;
  const name = sample || samples[0];
  if (!samples.includes(name)) return `no ${source} sample "${name}": ${samples.join(', ')}`;
  const fixture = (file: string) => readFileSync(new URL(`../../schemas/fixtures/${file}`, import.meta.url), 'utf8');
  if (source === 'alertmanager') {
    const token = (env.ALERTMANAGER_TOKENS ?? '').split(',')[0]?.trim();
    if (!token) return 'ALERTMANAGER_TOKENS is not set';
    return {
      path: '/events/alertmanager',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: fixture(`alertmanager-group-${name}.json`),
    };
  }
  let keys: Record<string, string>;
  try {
    keys = JSON.parse(env.EVENTS_V2_ROUTING_KEYS || '{}');
  } catch {
    return 'EVENTS_V2_ROUTING_KEYS is not a JSON object';
  }
  const key = Object.keys(keys)[0];
  if (!key) return 'EVENTS_V2_ROUTING_KEYS names no routing key';
  const event = JSON.parse(fixture(`events-v2-${name}.json`));
  event.routing_key = key;
  event.dedup_key = 'srv01/mysql'; // PagerDuty's trigger example's: the three samples are one incident
  return { path: '/v2/enqueue', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) };
}

async function postSource(
  req: { path: string; headers: Record<string, string>; body: string },
  env: NodeJS.ProcessEnv,
  url?: string,
): Promise<number> {
  const base = url || env.PUBLIC_BASE_URL || `http://127.0.0.1:${env.PORT || 8080}`;
  const endpoint = new URL(req.path, base);
  let res: Response;
  try {
    res = await fetch(endpoint, { method: 'POST', headers: req.headers, body: req.body });
  } catch (err) {
    const cause = (err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    console.error(`cannot reach ${endpoint} (${cause}): make up starts the receiver`);
    return 1;
  }
  console.log(`${res.status} ${await res.text()}`);
  return res.ok ? 0 : 1;
}

async function post(body: string, env: NodeJS.ProcessEnv, url?: string): Promise<number> {
  const base = url || env.PUBLIC_BASE_URL || `http://127.0.0.1:${env.PORT || 8080}`;
  const apiKey = env.API_KEY;
  if (!apiKey) {
    console.error('API_KEY is not set');
    return 2;
  }
  const endpoint = new URL('/events/cloudwatch', base);
  let res: Response;
  try {
    res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      body,
    });
  } catch (err) {
    const cause = (err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    console.error(
      `cannot reach the alarm endpoint ${endpoint} (${cause}): make up starts the receiver, or pass DIRECT=1`,
    );
    return 1;
  }
  console.log(`${res.status} ${await res.text()}`);
  return res.ok ? 0 : 1;
}

async function direct(body: string, env: NodeJS.ProcessEnv): Promise<number> {
  const { records, ignored } = alarmRecordsFrom(JSON.parse(body), loadAlarmIntakeSettings(env));
  for (const i of ignored) console.log(`ignored ${i.alarm}: ${i.reason}`);
  if (records.length === 0) return 0;
  const config = loadConfig(env);
  const kinesis = kinesisClient(config);
  try {
    const results = await new KinesisProducer({ kinesis, streamName: config.STREAM_NAME }).putStreamRecords(records);
    records.forEach((r, i) => {
      const a = AlarmRecord.parse(r);
      console.log(
        `${a.alarm_name} ${a.state} ${a.severity} → ` +
          `${results[i].shardId} ${results[i].sequenceNumber} (${a.event_id})`,
      );
    });
    return 0;
  } finally {
    kinesis.destroy();
  }
}

async function run(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let args: {
    values: {
      direct?: boolean;
      url?: string;
      sample?: string;
      source?: string;
      'sim-url'?: string;
      check?: string;
      'print-url'?: boolean;
    };
    positionals: string[];
  };
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        direct: { type: 'boolean' },
        url: { type: 'string' },
        sample: { type: 'string' },
        source: { type: 'string' },
        'sim-url': { type: 'string' },
        check: { type: 'string' },
        'print-url': { type: 'boolean' },
      },
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const source = args.values.source?.trim();
  if (source && source !== 'cloudwatch') {
    if (args.values.direct) {
      console.error(`--direct sends CloudWatch events only; ${source} samples go through the receiver\n${USAGE}`);
      return 2;
    }
    if (source === 'sns') {
      const name = args.values.sample?.trim() || SOURCE_SAMPLES.sns[0];
      if (!SOURCE_SAMPLES.sns.includes(name)) {
        console.error(`no sns sample "${name}": ${SOURCE_SAMPLES.sns.join(', ')}\n${USAGE}`);
        return 2;
      }
      console.log(`sns sample ${name} → the simulator's SNS topic → /events/sns`);
      return publishSns(snsSampleMessage(name, Date.now()), env, args.values['sim-url']);
    }
    if (source === 'heartbeat') return heartbeat(args.values, env);
    const req = sourceRequest(source, args.values.sample?.trim(), env);
    if (typeof req === 'string') {
      console.error(`${req}\n${USAGE}`);
      return 2;
    }
    console.log(`${source} sample ${args.values.sample?.trim() || SOURCE_SAMPLES[source][0]} → ${req.path}`);
    return postSource(req, env, args.values.url);
  }
  const [file] = args.positionals;
  const sampleName = args.values.sample?.trim();
  if (sampleName !== undefined) {
    const sample = alarmSample(sampleName);
    if (!sample) {
      const known = sampleName === 'list' || sampleName === '';
      const head = `${known ? '' : `no sample "${sampleName}"; `}samples (make send-alarm SAMPLE=<name>):`;
      (known ? console.log : console.error)(`${head}\n${sampleList().join('\n')}`);
      return known ? 0 : 2;
    }
    console.log(`sample ${sample.name}: ${sample.alarmName}, from ${sample.source}`);
    return send(JSON.stringify(sampleEvent(sample, Date.now(), randomUUID())), args.values, env);
  }
  if (!file || args.positionals.length > 1) {
    console.error(`${USAGE}\nsamples:\n${sampleList().join('\n')}`);
    return 2;
  }
  return send(readFileSync(file, 'utf8'), args.values, env);
}

/** A check-in of `--check` (its URL from HEARTBEAT_SECRET), or with --print-url the URL alone. */
async function heartbeat(
  opts: { check?: string; sample?: string; url?: string; 'print-url'?: boolean },
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const check = opts.check?.trim();
  const secret = env.HEARTBEAT_SECRET;
  const name = opts.sample?.trim() || SOURCE_SAMPLES.heartbeat[0];
  const problem = !check
    ? 'CHECK (--check) names no check of the on-call file'
    : !/^[A-Za-z0-9_-]{1,64}$/.test(check)
      ? `"${check}" is not a check id (letters, digits, _ and -)`
      : !secret
        ? 'HEARTBEAT_SECRET is not set'
        : !SOURCE_SAMPLES.heartbeat.includes(name)
          ? `no heartbeat sample "${name}": ${SOURCE_SAMPLES.heartbeat.join(', ')}`
          : undefined;
  if (problem) {
    console.error(`${problem}\n${USAGE}`);
    return 2;
  }
  const base = opts.url || env.PUBLIC_BASE_URL || `http://127.0.0.1:${env.PORT || 8080}`;
  const url = heartbeatUrl(base, secret!, check!);
  if (opts['print-url']) {
    console.log(url);
    return 0;
  }
  const body =
    name === 'watchdog'
      ? readFileSync(new URL('../../schemas/fixtures/alertmanager-watchdog-firing.json', import.meta.url), 'utf8')
      : '';
  console.log(`heartbeat ${name} of ${check} → /heartbeat/${check}.…`);
  return postSource({ path: new URL(url).pathname, headers: { 'content-type': 'application/json' }, body }, env, base);
}

function send(body: string, opts: { direct?: boolean; url?: string }, env: NodeJS.ProcessEnv): Promise<number> {
  return opts.direct ? direct(body, env) : post(body, env, opts.url);
}

run(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (err) => {
    console.error((err as Error).message);
    process.exit(1);
  },
);
