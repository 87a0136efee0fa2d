/**
 * Sends a CloudWatch "Alarm State Change" event file (one event or an array) as EventBridge would:
 *
 *   node --env-file=.env.example --import tsx producers/receiver/send-alarm.ts <event.json> [--url URL] [--direct]
 *   (Makefile: `$(TSX) producers/receiver/send-alarm.ts "$(FILE)"`)
 *
 * - default: POST to <URL>/events/cloudwatch with `x-api-key: $API_KEY`, where URL is --url, else
 *   PUBLIC_BASE_URL, else http://127.0.0.1:$PORT (PORT default 8080). Prints the response.
 * - --direct: no receiver needed: the same validation, namespace filter and severity rules, then the
 *   records go straight to STREAM_NAME with the Kinesis producer.
 * Exit code 0 on success (an ignored alarm included), 1 on a rejected or failed send, 2 on usage errors.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../platform/config.js';
import { kinesisClient } from '../../platform/aws.js';
import { KinesisProducer } from '../../platform/stream/kinesis-producer.js';
import { AlarmRecord } from '../../schemas/alarm-record.js';
import { alarmRecordsFrom } from './alarm-intake.js';
import { loadAlarmIntakeSettings } from './config.js';

const USAGE = 'usage: send-alarm.ts <event.json> [--url URL] [--direct]';

async function post(body: string, env: NodeJS.ProcessEnv, url?: string): Promise<number> {
  const base = url || env.PUBLIC_BASE_URL || `http://127.0.0.1:${env.PORT || 8080}`;
  const apiKey = env.API_KEY;
  if (!apiKey) {
    console.error('API_KEY is not set');
    return 2;
  }
  const res = await fetch(new URL('/events/cloudwatch', base), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
    body,
  });
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
  let args: { values: { direct?: boolean; url?: string }; positionals: string[] };
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { direct: { type: 'boolean' }, url: { type: 'string' } },
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const [file] = args.positionals;
  if (!file || args.positionals.length > 1) {
    console.error(USAGE);
    return 2;
  }
  const body = readFileSync(file, 'utf8');
  return args.values.direct ? direct(body, env) : post(body, env, args.values.url);
}

run(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (err) => {
    console.error((err as Error).message);
    process.exit(1);
  },
);
