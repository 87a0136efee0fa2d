import type { QueryResult } from '../../analysis/query/result.js';
import { auditQuery, SEED_QUERY } from '../../analysis/query/named-queries.js';
import {
  DEMO_GROUP_STORY,
  DEMO_STORIES,
  demoAlarmEvent,
  demoGroupNotification,
  demoIncidentId,
  type GroupStage,
} from './demo-alarms.js';

/**
 * The demo scenario, end to end, against a running system: post the stories' CloudWatch alarms to the alarm endpoint
 * and the Alertmanager group's firing notification to the Alertmanager endpoint, let the loop page, fail over,
 * escalate and take acks, post the group's partial then resolved notification as its story goes on (GroupPlay), wait
 * until the lake shows every story told, then answer the seed query and the per-incident verdicts. Used by `make demo`
 * (background services) and by the end-to-end test (the same services in-process).
 */
export { SEED_QUERY } from '../../analysis/query/named-queries.js';

/** The per-incident audit of this run's incidents: the named query `incident-audit`, filtered. */
export const verdictQuery = (ids: string[]) => auditQuery({ incidentIds: ids });

export interface DemoRunOptions {
  /** Where the alarm endpoints listen (POST /events/cloudwatch, POST /events/alertmanager). */
  receiverUrl: string;
  apiKey: string;
  /** A token of the receiver's ALERTMANAGER_TOKENS: the group story's notifications carry it as a Bearer token. */
  alertmanagerToken: string;
  /** SQL on the lake. */
  query: (sql: string) => Promise<QueryResult>;
  timeoutMs?: number;
  pollMs?: number;
  log?: (line: string) => void;
  /**
   * After the last alarm state the demo posts (the first incident's OK; the group resolved before it): wait until the
   * lake holds every row of what was played (demo-settle.ts), so the answers below, and anything read after the demo,
   * are complete.
   */
  settle?: (incidents: { incidentIds: string[]; resolved: string[] }) => Promise<void>;
}

export interface DemoRunResult {
  /** One per story, in the stories' order: the CloudWatch alarms (DEMO_STORIES), then the Alertmanager group. */
  incidents: { incidentId: string; alarmName: string; story: string }[];
  /** What the lake showed of the group's incident once the partial notification was in it (before the last). */
  groupAfterPartial: { firing: number; resolved: boolean };
  seed: QueryResult;
  verdicts: QueryResult;
  seconds: number;
}

export async function runDemo(opts: DemoRunOptions): Promise<DemoRunResult> {
  const log = opts.log ?? (() => {});
  const started = Date.now();
  const t0 = Math.floor(started / 1000) * 1000;
  const incidents = DEMO_STORIES.map((s, i) => ({ s, at: t0 + i * 100, incidentId: demoIncidentId(s, t0 + i * 100) }));

  for (const { s, at, incidentId } of incidents) {
    const res = await fetch(new URL('/events/cloudwatch', opts.receiverUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': opts.apiKey },
      body: JSON.stringify(demoAlarmEvent(s, 'ALARM', at, at)),
    });
    if (!res.ok) throw new Error(`alarm endpoint answered ${res.status} for ${s.alarmName}: ${await res.text()}`);
    log(`  ALARM ${s.alarmName.padEnd(24)} ${incidentId}  ${s.story}`);
  }
  // the last story: the Alertmanager group fires, then (as its story goes on, below) resolves in two steps
  const group = new GroupPlay(opts, t0, log);
  const firing = await group.post('firing');
  log(
    `  FIRING ${DEMO_GROUP_STORY.alarmName.padEnd(24)} ${firing.firing} alerts, team ${DEMO_GROUP_STORY.team}, ` +
      `to POST /events/alertmanager  ${DEMO_GROUP_STORY.story}`,
  );

  const total = incidents.length + 1;
  const where = incidents.map(({ s, incidentId }) => `(incident_id = '${incidentId}' AND ${s.done})`).join(' OR ');
  const deadline = started + (opts.timeoutMs ?? 90_000);
  let told = 0;
  for (;;) {
    const res = await opts.query(`SELECT count(*) FROM incidents WHERE ${where}`);
    const n = Number(res.rows[0]?.[0] ?? 0) + ((await group.advance()) ? 1 : 0);
    if (n !== told) log(`  lake: ${n}/${total} stories complete (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    told = n;
    if (n === total) break;
    if (Date.now() > deadline)
      throw new Error(
        `only ${n} of ${total} stories reached the lake within ${(opts.timeoutMs ?? 90_000) / 1000} s ` +
          `(${group.where()}; see make status and .data/logs)`,
      );
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 1500));
  }

  // The first incident resolves: its alarm goes back to OK.
  const first = incidents[0];
  await fetch(new URL('/events/cloudwatch', opts.receiverUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': opts.apiKey },
    body: JSON.stringify(demoAlarmEvent(first.s, 'OK', Date.now(), first.at)),
  });

  const groupIncident = group.incidentId!;
  const ids = [...incidents.map((i) => i.incidentId), groupIncident];
  await opts.settle?.({ incidentIds: ids, resolved: [first.incidentId, groupIncident] });
  const seed = await opts.query(SEED_QUERY);
  seed.rows = seed.rows.filter((r) => ids.includes(String(r[0])));
  return {
    incidents: [
      ...incidents.map(({ s, incidentId }) => ({ incidentId, alarmName: s.alarmName, story: s.story })),
      { incidentId: groupIncident, alarmName: DEMO_GROUP_STORY.alarmName, story: DEMO_GROUP_STORY.story },
    ],
    groupAfterPartial: group.afterPartial!,
    seed,
    verdicts: await opts.query(verdictQuery(ids)),
    seconds: (Date.now() - started) / 1000,
  };
}

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

/**
 * The Alertmanager group's story, one step per poll of the lake: its firing notification opened an incident (the one
 * the paging engine restated it under) that paged someone → the partial notification (one alert resolved); the lake
 * shows the incident took it and is still open → the resolved notification; told once the incident is resolved and
 * its people told (DEMO_GROUP_STORY.done). Each notification is POSTed as Alertmanager sends it: the webhook body with
 * `Authorization: Bearer <token>`.
 */
class GroupPlay {
  private stage: GroupStage = 'firing';
  private readonly eventIds: Partial<Record<GroupStage, string>> = {};
  private readonly endedAt: number[] = [];
  private told = false;
  incidentId?: string;
  afterPartial?: { firing: number; resolved: boolean };

  constructor(
    private readonly opts: DemoRunOptions,
    private readonly startedAt: number,
    private readonly log: (line: string) => void,
  ) {}

  async post(stage: GroupStage): Promise<{ event_id: string; state: string; firing: number }> {
    if (stage !== 'firing') this.endedAt.push(Date.now());
    const res = await fetch(new URL('/events/alertmanager', this.opts.receiverUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.opts.alertmanagerToken}` },
      body: JSON.stringify(demoGroupNotification(stage, this.startedAt, this.endedAt)),
    });
    if (!res.ok)
      throw new Error(
        `the Alertmanager endpoint answered ${res.status} to the group's ${stage} notification: ${await res.text()}`,
      );
    const answer = (await res.json()) as { event_id: string; state: string; firing: number };
    this.eventIds[stage] = answer.event_id;
    this.stage = stage;
    return answer;
  }

  /** The incident's alarm row restating the notification of `stage` (its incident, its `firing`), if in the lake. */
  private async restated(stage: GroupStage): Promise<{ incidentId: string; firing: number } | undefined> {
    const like = sqlString(`%"restates":"${this.eventIds[stage]}"%`);
    const res = await this.opts.query(
      `SELECT incident_id, detail FROM events WHERE kind = 'alarm' AND detail LIKE ${like} LIMIT 1`,
    );
    const row = res.rows[0];
    if (!row) return undefined;
    const detail = JSON.parse(String(row[1])) as { firing?: number };
    return { incidentId: String(row[0]), firing: Number(detail.firing ?? 0) };
  }

  /** One step of the story if its signal is in the lake; true once the story is told. */
  async advance(): Promise<boolean> {
    const name = DEMO_GROUP_STORY.alarmName;
    if (this.incidentId === undefined) {
      this.incidentId = (await this.restated('firing'))?.incidentId;
      if (this.incidentId === undefined) return false;
      this.log(`  ${name}: the group is incident ${this.incidentId} (source alertmanager)`);
    }
    const res = await this.opts.query(
      `SELECT (first_paged_at IS NOT NULL)::INTEGER, (resolved_at IS NOT NULL)::INTEGER, ` +
        `(${DEMO_GROUP_STORY.done})::INTEGER FROM incidents WHERE incident_id = ${sqlString(this.incidentId)}`,
    );
    const [paged, resolved, done] = (res.rows[0] ?? []).map((v) => Number(v) === 1);
    if (this.stage === 'firing' && paged) {
      const partial = await this.post('partial');
      this.log(`  RESOLVED 1 of the group's alerts (${partial.firing} still firing): the partial notification`);
    } else if (this.stage === 'partial') {
      const after = await this.restated('partial');
      if (!after) return false;
      this.afterPartial = { firing: after.firing, resolved };
      this.log(
        `  ${name}: ${resolved ? 'resolved by the partial notification (it should not be)' : 'still open'} ` +
          `with ${after.firing} alert firing; the resolved notification (every alert resolved) follows`,
      );
      await this.post('resolved');
    } else if (this.stage === 'resolved' && done) {
      if (this.told) return true;
      this.told = true;
      this.log(`  ${name}: every alert resolved: the incident resolved, and the people paged were told`);
      return true;
    }
    return false;
  }

  /** Where the story is, for a timeout's message. */
  where(): string {
    const at = this.incidentId ? `incident ${this.incidentId}` : 'its incident not yet in the lake';
    return `the Alertmanager group: ${at}, last notification ${this.stage}`;
  }
}
