import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoOnCall, startClosedLoop, SECRETS, type ClosedLoop } from '../helpers/closed-loop.js';
import { childEnv, until } from '../helpers/clock.js';
import { readStream, type StreamEntry } from '../helpers/read-stream.js';
import type { QueryResult } from '../../analysis/query/result.js';
import { incidentRows } from '../../analysis/report/timeline.js';
import { loadLakeData } from '../../analysis/report/data.js';
import { loadOnCallConfig } from '../../schemas/oncall/config.js';
import { heartbeatToken } from '../../shared/heartbeat-token.js';

/**
 * Issue 22 item 4 end to end on the local engines (kinesalite, dynalite, the Scheduler emulator, the receiver, the
 * real paging and lake handlers, the provider simulator): a check with a test-sized period (1 s + 1 s grace) checks
 * in by `make send-alarm SOURCE=heartbeat CHECK=…`; its deadline comes back from the Scheduler with no newer check-in
 * and opens one incident (team db, P1: bob is paged); the next check-in (GET /heartbeat/<token>) resolves it; the lake,
 * `make incident` and the report show it with source `heartbeat`. Every wait is on a signal (the stream, the lake).
 */
const CHECK = 'e2e-backup';
const ARN = `arn:pagetrail:heartbeat:::${CHECK}`;
let loop: ClosedLoop;
let query: (sql: string) => Promise<QueryResult>;

const rows = (r: QueryResult) => r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i]])));
const stream = () => readStream(loop.stack.clients.kinesis, loop.stack.config.STREAM_NAME);
type Rec = { kind: string; incident_id: string; alarm_arn: string; state?: string; phase?: string; restates?: string };
const recs = (s: StreamEntry[]) => s.map((e) => e.record as Rec | undefined).filter((r): r is Rec => !!r);

beforeAll(async () => {
  const oncall = demoOnCall((o) => {
    o.heartbeats = {
      [CHECK]: { period_s: 1, grace_s: 1, team: 'db', severity: 'P1', name: 'E2E backup', description: 'the e2e job' },
    };
  });
  loop = await startClosedLoop({ shards: 2, oncall });
  loop.startMapping('lake');
  loop.startMapping('paging');
  query = (sql) => loop.lake(sql);
}, 60_000);

afterAll(async () => loop?.stop());

describe('a heartbeat check through the closed loop', () => {
  let incident = '';

  it('checks in (make send-alarm SOURCE=heartbeat), misses its deadline: one incident, paged', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'producers/receiver/send-alarm.ts', '--source', 'heartbeat', '--check', CHECK],
      { env: childEnv({ PUBLIC_BASE_URL: loop.receiverUrl, HEARTBEAT_SECRET: SECRETS.heartbeatSecret }) },
    );
    expect(stdout).toMatch(/^200 \{"ok":true,"check":"e2e-backup","checked_in":true/m);
    const s = await until(
      'the missed deadline paged',
      async () => {
        const all = recs(await stream());
        const due = all.find((r) => r.alarm_arn === ARN && r.phase === 'due');
        const opened = due && all.find((r) => r.incident_id === due.incident_id && r.restates !== undefined);
        return opened && all.some((r) => r.incident_id === due.incident_id && r.kind === 'dispatch') ? all : undefined;
      },
      30_000,
      100,
    );
    incident = s.find((r) => r.alarm_arn === ARN && r.phase === 'due')!.incident_id;
    // one incident of the check so far, opened once
    const opened = s.filter((r) => r.alarm_arn === ARN && r.restates !== undefined && r.state === 'ALARM');
    expect(opened.map((r) => r.incident_id)).toEqual([incident]);
  }, 40_000);

  it('the next check-in (GET /heartbeat/<token>) resolves it; a wrong token writes nothing', async () => {
    const token = heartbeatToken(SECRETS.heartbeatSecret, CHECK);
    const wrong = await fetch(`${loop.receiverUrl}/heartbeat/${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`);
    expect(wrong.status).toBe(404);
    const res = await fetch(`${loop.receiverUrl}/heartbeat/${token}`);
    expect(res.status).toBe(200);
    await until(
      'the check-in resolved the incident',
      async () =>
        recs(await stream()).find((r) => r.incident_id === incident && r.restates !== undefined && r.state === 'OK'),
      20_000,
      100,
    );
    const checkins = recs(await stream()).filter((r) => r.alarm_arn === ARN && r.phase === 'checkin');
    expect(checkins).toHaveLength(2); // the 404 wrote nothing
  }, 30_000);

  it('the lake, make incident and the report show it with source heartbeat', async () => {
    const inc = await until(
      'the incident resolved in the lake',
      async () => {
        const [row] = rows(await query(`SELECT * FROM incidents WHERE incident_id = '${incident}'`));
        return row?.resolved_at ? row : undefined;
      },
      30_000,
      300,
    );
    expect(inc).toMatchObject({ source: 'heartbeat', alarm_name: 'E2E backup', severity: 'P1' });
    expect(Number(inc.pages)).toBeGreaterThan(0);
    const found = await incidentRows(query, incident);
    expect(found?.incident.source).toBe('heartbeat');
    const data = await loadLakeData(query, {
      from: 0,
      to: Date.now() + 3600_000,
      oncall: loadOnCallConfig(loop.env.ONCALL_FILE!),
    });
    expect(data.incidents.find((i) => i.incident_id === incident)).toMatchObject({ team: 'db', source: 'heartbeat' });
  }, 40_000);
});
