import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClosedLoop, SECRETS, type ClosedLoop } from '../helpers/closed-loop.js';
import { until } from '../helpers/clock.js';
import { readStream, type StreamEntry } from '../helpers/read-stream.js';
import type { QueryResult } from '../../analysis/query/result.js';
import { incidentRows } from '../../analysis/report/timeline.js';
import { loadLakeData } from '../../analysis/report/data.js';
import { loadOnCallConfig } from '../../schemas/oncall/config.js';

/**
 * Issue 22 items 2, 3, 5 end to end on the local engines: an Alertmanager group (schemas/fixtures/: two alerts, team
 * payments, severity critical) posted to the receiver pages once through the real paging handler and the provider
 * simulator; one alert resolves (still open, no page), then the other (resolved). An Events API v2 trigger, its
 * acknowledge and its resolve make one incident (team db). The lake has one incident each, with its source, opened
 * and resolved, and no incident made of the receiver's intake records.
 */
let loop: ClosedLoop;
let query: (sql: string) => Promise<QueryResult>;

const fixture = (name: string) => readFileSync(new URL(`../../schemas/fixtures/${name}`, import.meta.url), 'utf8');
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
/** The incident the paging engine put an intake record on: its restatement's id. */
const incidentOf = (s: StreamEntry[], eventId: string) =>
  s.find((e) => e.record?.kind === 'alarm' && (e.record as { restates?: string }).restates === eventId)?.record
    ?.incident_id;

/** `make send-alarm SOURCE=… SAMPLE=…` against this loop's receiver: its output, the receiver's answer. */
async function sendAlarm(source: string, sample: string): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'producers/receiver/send-alarm.ts', '--source', source, '--sample', sample],
    {
      env: {
        PATH: process.env.PATH,
        PUBLIC_BASE_URL: loop.receiverUrl,
        ALERTMANAGER_TOKENS: SECRETS.alertmanagerToken,
        EVENTS_V2_ROUTING_KEYS: JSON.stringify({ [SECRETS.eventsV2RoutingKey]: 'db' }),
      },
    },
  );
  return stdout;
}

async function alertmanager(name: 'firing' | 'partial' | 'resolved') {
  const res = await fetch(`${loop.receiverUrl}/events/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRETS.alertmanagerToken}` },
    body: fixture(`alertmanager-group-${name}.json`),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { event_id: string; state: string; firing: number };
}

async function enqueue(action: 'trigger' | 'acknowledge' | 'resolve') {
  const e = JSON.parse(fixture(`events-v2-${action}.json`));
  e.routing_key = SECRETS.eventsV2RoutingKey;
  e.dedup_key = 'srv01/mysql';
  const res = await fetch(`${loop.receiverUrl}/v2/enqueue`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(e),
  });
  expect(res.status).toBe(202);
  expect(await res.json()).toEqual({ status: 'success', message: 'Event processed', dedup_key: 'srv01/mysql' });
}

describe('an Alertmanager group through the closed loop', () => {
  let incident = '';
  let pages = 0;

  it('pages once for the group (posted by make send-alarm SOURCE=alertmanager)', async () => {
    const out = await sendAlarm('alertmanager', 'firing');
    const answer = /^200 (\{.*\})$/m.exec(out);
    expect(answer, out).not.toBeNull();
    const { event_id, state, firing } = JSON.parse(answer![1]) as { event_id: string; state: string; firing: number };
    expect([state, firing]).toEqual(['ALARM', 2]);
    const s = await until(
      'the group paged',
      async () => {
        const all = await stream();
        const id = incidentOf(all, event_id);
        return id && ofIncident(all, id).some((e) => e.kind === 'dispatch') ? all : undefined;
      },
      30_000,
      200,
    );
    incident = incidentOf(s, event_id)!;
    pages = ofIncident(s, incident).filter((e) => e.kind === 'dispatch').length;
    expect(pages).toBeGreaterThan(0);
  }, 40_000);

  it('one alert resolves: the same incident, still open, no page; then the other: resolved', async () => {
    const partial = await alertmanager('partial');
    expect([partial.state, partial.firing]).toEqual(['ALARM', 1]);
    await until('the partial resolve restated', async () => incidentOf(await stream(), partial.event_id), 20_000, 200);
    const resolved = await alertmanager('resolved');
    expect(resolved.state).toBe('OK');
    const s = await until(
      'the group resolved',
      async () => {
        const all = await stream();
        return incidentOf(all, resolved.event_id) ? all : undefined;
      },
      20_000,
      200,
    );
    expect(incidentOf(s, partial.event_id)).toBe(incident);
    expect(incidentOf(s, resolved.event_id)).toBe(incident);
    const dispatches = ofIncident(s, incident).filter(
      (e) => e.kind === 'dispatch' && !(e.record as { notice?: string }).notice,
    );
    expect(dispatches).toHaveLength(pages); // no second page
  }, 45_000);

  it('the lake holds one incident with its source, opened and resolved; the report reads it', async () => {
    const inc = await until(
      'the incident resolved in the lake',
      async () => {
        const [row] = rows(await query(`SELECT * FROM incidents WHERE incident_id = '${incident}'`));
        return row?.resolved_at ? row : undefined;
      },
      30_000,
      500,
    );
    expect(inc).toMatchObject({ source: 'alertmanager', alarm_name: 'CheckoutErrorRate', severity: 'P1' });
    expect(inc.opened_at).not.toBeNull();
    expect(Number(inc.pages)).toBeGreaterThan(0);
    // the receiver's intake records are evidence, not incidents: the group is one incident
    const named = rows(await query(`SELECT incident_id FROM incidents WHERE alarm_name = 'CheckoutErrorRate'`));
    expect(named.map((r) => r.incident_id)).toEqual([incident]);
    const intake = rows(
      await query(`SELECT status, detail FROM events WHERE kind = 'alarm' AND source = 'alertmanager' ORDER BY status`),
    );
    expect(intake.map((r) => r.status)).toEqual(['alarm', 'alarm', 'firing', 'firing', 'ok', 'resolved']);
    expect(JSON.parse(String(intake.find((r) => r.status === 'resolved')!.detail)).groupKey).toContain('checkout');
    // make incident: by the alarm's name, its latest incident
    const found = await incidentRows(query, 'CheckoutErrorRate');
    expect(found?.incident.incident_id).toBe(incident);
    expect(found?.incident.source).toBe('alertmanager');
    // the report: its team is the one paged (the team label), its source shown
    const data = await loadLakeData(query, {
      from: 0,
      to: Date.now() + 3600_000,
      oncall: loadOnCallConfig('infra/local/oncall/demo.json'),
    });
    expect(data.incidents.find((i) => i.incident_id === incident)).toMatchObject({
      team: 'payments',
      source: 'alertmanager',
    });
  }, 40_000);
});

describe('Events API v2 through the closed loop', () => {
  it('trigger pages (db P1), acknowledge acks via events-v2, resolve resolves: one incident', async () => {
    // the trigger as make send-alarm SOURCE=events-v2 posts it
    expect(await sendAlarm('events-v2', 'trigger')).toContain(
      '202 {"status":"success","message":"Event processed","dedup_key":"srv01/mysql"}',
    );
    const paged = await until(
      'the trigger paged',
      async () => {
        const all = await stream();
        const alarm = all.find((e) => e.record?.kind === 'alarm' && e.record.alarm_arn.includes(':events-v2:::db/'));
        const id = alarm?.record?.incident_id;
        return id && ofIncident(all, id).some((e) => e.kind === 'dispatch') ? id : undefined;
      },
      30_000,
      200,
    );
    await enqueue('acknowledge');
    await until('the ack', async () => ofIncident(await stream(), paged).find((e) => e.kind === 'ack'), 20_000, 200);
    await enqueue('resolve');
    const inc = await until(
      'the incident resolved in the lake',
      async () => {
        const [row] = rows(await query(`SELECT * FROM incidents WHERE incident_id = '${paged}'`));
        return row?.resolved_at && row?.acknowledged_at ? row : undefined;
      },
      40_000,
      500,
    );
    expect(inc).toMatchObject({ source: 'events-v2', severity: 'P1' });
    const acks = rows(await query(`SELECT reason FROM events WHERE kind = 'ack' AND incident_id = '${paged}'`));
    expect(acks.map((a) => a.reason)).toContain('events-v2');
  }, 90_000);
});
