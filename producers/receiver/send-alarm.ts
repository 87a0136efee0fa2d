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
import { alarmSample, sampleEvent, sampleList } from './alarm-samples.js';
import { loadAlarmIntakeSettings } from './config.js';

const USAGE = 'usage: send-alarm.ts <event.json> | --sample <name>|list  [--url URL] [--direct]';

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
  let args: { values: { direct?: boolean; url?: string; sample?: string }; positionals: string[] };
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { direct: { type: 'boolean' }, url: { type: 'string' }, sample: { type: 'string' } },
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
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
