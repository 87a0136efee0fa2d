import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClosedLoop, SECRETS, type ClosedLoop } from '../helpers/closed-loop.js';
import { until } from '../helpers/clock.js';
import { readStream, type StreamEntry } from '../helpers/read-stream.js';
import type { QueryResult } from '../../analysis/query/result.js';
import { alarmSample, sampleEvent } from '../../producers/receiver/alarm-samples.js';
import { parseTimestamp } from '../../schemas/time.js';
import { IncidentStore } from '../../processors/paging/incident-store.js';

/**
 * Issue 22 item 1 end to end on the local engines: a CloudWatch alarm's SNS notification, published to the provider
 * simulator's local SNS topic by `make send-alarm SOURCE=sns` and delivered signed with the simulator's own
 * certificate to the receiver's POST /events/sns, pages once through the real paging handler; the same state change
 * arriving by EventBridge as well (POST /events/cloudwatch) pages nobody again; its OK by SNS resolves the incident.
 * The lake has one incident for the alarm.
 */
let loop: ClosedLoop;
let query: (sql: string) => Promise<QueryResult>;
const rows = (r: QueryResult) => r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i]])));

beforeAll(async () => {
  loop = await startClosedLoop({ shards: 2 });
  loop.startMapping('lake');
  loop.startMapping('paging');
  query = (sql) => loop.lake(sql);
}, 60_000);

afterAll(async () => loop?.stop());

const stream = () => readStream(loop.stack.clients.kinesis, loop.stack.config.STREAM_NAME);
const ofIncident = (s: StreamEntry[], id: string) => s.filter((e) => e.record?.incident_id === id);
const pagesOf = (s: StreamEntry[], id: string) =>
  ofIncident(s, id).filter((e) => e.kind === 'dispatch' && !(e.record as { notice?: string }).notice);
const ALARM = 'orders-db-cpu-high'; // the rds-cpu sample's

/** `make send-alarm SOURCE=sns SAMPLE=…` against this loop's simulator: the receiver's answer, parsed. */
async function sendSns(sample: 'alarm' | 'ok'): Promise<{ written: { event_id: string; incident_id: string }[] }> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'producers/receiver/send-alarm.ts', '--source', 'sns', '--sample', sample],
    { env: { ...process.env, SIMULATOR_URL: loop.sim.url } }, // the environment as is: a faked clock included
  );
  const answer = /^200 (\{.*\})$/m.exec(stdout);
  expect(answer, stdout).not.toBeNull();
  return JSON.parse(answer![1]);
}

describe('a CloudWatch alarm by SNS through the closed loop', () => {
  let incident = '';
  let pages = 0;

  it('pages once (make send-alarm SOURCE=sns: the simulator signs, the receiver verifies)', async () => {
    const { written } = await sendSns('alarm');
    expect(written).toHaveLength(1);
    incident = written[0].incident_id;
    const s = await until(
      'the alarm paged',
      async () => {
        const all = await stream();
        return pagesOf(all, incident).length > 0 ? all : undefined;
      },
      30_000,
      200,
    );
    const rec = s.find((e) => e.eventId === written[0].event_id)?.record as { via?: string; source?: string };
    expect(rec).toMatchObject({ source: 'cloudwatch', via: 'sns' });
    pages = pagesOf(s, incident).length;
  }, 40_000);

  it('the same state change by EventBridge too: the same ids, no second page; the OK by SNS resolves', async () => {
    const s = await stream();
    const bySns = s.find((e) => e.record?.kind === 'alarm' && e.record.incident_id === incident)!.record as {
      event_id: string;
      event: { detail: { state: { timestamp: string } } };
    };
    const at = parseTimestamp(bySns.event.detail.state.timestamp);
    const event = sampleEvent(alarmSample('rds-cpu')!, at, randomUUID());
    const res = await fetch(`${loop.receiverUrl}/events/cloudwatch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': SECRETS.apiKey },
      body: JSON.stringify(event),
    });
    expect(res.status).toBe(200);
    const { written } = (await res.json()) as { written: { event_id: string; incident_id: string }[] };
    expect(written[0]).toMatchObject({ event_id: bySns.event_id, incident_id: incident });

    const ok = await sendSns('ok');
    const store = new IncidentStore({
      dynamodb: loop.stack.clients.dynamodb,
      table: loop.stack.config.INCIDENTS_TABLE,
    });
    const resolved = await until(
      'the incident resolved by the OK',
      async () => (await store.get(incident))?.state.resolvedAt,
      30_000,
      200,
    );
    const okRecord = (await stream()).find((e) => e.eventId === ok.written[0].event_id)?.record;
    expect(okRecord).toMatchObject({ state: 'OK', previous_state: 'ALARM', via: 'sns' });
    expect(resolved).toBe(okRecord!.event_time);
    // the OK's own id (SNS gives no time for the old state) is an alias of the incident it resolved
    expect(await store.find(ok.written[0].incident_id)).toEqual({ aliasOf: incident });
    // the OK was applied after the EventBridge record (same alarm, same shard): no page came of either
    expect(pagesOf(await stream(), incident)).toHaveLength(pages);
    const inc = await until(
      'the incident in the lake',
      async () => {
        const [row] = rows(await query(`SELECT * FROM incidents WHERE incident_id = '${incident}'`));
        return row && Number(row.pages) === pages && row.resolved_at !== null ? row : undefined;
      },
      30_000,
      500,
    );
    expect(inc).toMatchObject({ source: 'cloudwatch', alarm_name: ALARM });
    expect(inc.opened_at).not.toBeNull();
    // the OK by SNS is the incident's in the lake too (processors/lake/join.ts): resolved, and no second incident
    expect(new Date(String(inc.resolved_at)).getTime()).toBe(okRecord!.event_time);
    const phantom = rows(await query(`SELECT * FROM incidents WHERE incident_id = '${ok.written[0].incident_id}'`));
    expect(phantom).toEqual([]);
  }, 60_000);
});
