import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { TestStream } from '../helpers/test-stream.js';
import { pagingHarness } from '../helpers/paging-harness.js';
import type { IncidentStore } from '../../processors/paging/incident-store.js';
import { OnCallConfig } from '../../schemas/oncall/config.js';
import { DynamoHeartbeatStore, HeartbeatKeeper } from '../../processors/paging/heartbeats.js';
import type { DeadlineRequest, DeadlineScheduler } from '../../processors/paging/deadlines.js';
import type { PageRequest } from '../../processors/paging/dispatcher.js';
import type { KinesisBatchHandler } from '../../processors/runtime/kinesis-event.js';
import { StreamRecord, type StreamRecordIn } from '../../schemas/envelope.js';
import { heartbeatCheckin } from '../../producers/receiver/heartbeat-route.js';

/**
 * Heartbeat checks through the real paging handler on dynalite (issue 22 item 4): a check-in arms the "next due"
 * deadline (period + grace after it) and opens nothing; the deadline finding no newer check-in opens one incident
 * (the check's team, severity and policy; source heartbeat; its reason in words), however often it is delivered; the
 * next check-in resolves it; a check-in racing the deadline is decided by which reached the stream first; a storm of
 * check-ins makes one schedule. The Scheduler is a fake that keeps what it was asked; the test "fires" a deadline by
 * putting its record on the stream when the test's clock reaches its time. Check-ins are what the receiver writes
 * (heartbeat-route.ts). The on-call file: the demo's, with a check for team db (P1: bob on sms + email).
 */
let stack: LocalStack;
let store: IncidentStore;
let handler: KinesisBatchHandler;
let reached: PageRequest[];
let scheduled: DeadlineRequest[];
let stream: TestStream;
let clock = 0;
let n = 0;
/** How many more times the fake Scheduler refuses (a Scheduler outage). */
let refusals = 0;
let check = '';
const T0 = Date.parse('2026-12-07T22:00:00.000Z');
const PERIOD_S = 600;
const GRACE_S = 60;
const DUE_MS = (PERIOD_S + GRACE_S) * 1000;

const parsed = () => stream.records.map((r) => StreamRecord.parse(r));
type Alarm = Extract<StreamRecord, { kind: 'alarm' }>;
const heartbeatAlarms = () =>
  parsed().filter((r): r is Alarm => r.kind === 'alarm' && r.source === 'heartbeat' && r.restates !== undefined);
const checkin = () => heartbeatCheckin(check, clock);
const pump = () => stream.pump(handler);
const pages = () => reached.filter((r) => !r.content.notice);
/** The deadline the Scheduler was asked for last, put on the stream (as the Scheduler would at its time). */
function fire(req: DeadlineRequest = scheduled.at(-1)!): StreamRecordIn {
  expect(clock).toBeGreaterThanOrEqual(req.at);
  stream.push(req.record);
  return req.record;
}

beforeAll(async () => {
  stack = await startLocalStack({ shards: 1 });
});
afterAll(async () => stack?.stop());
beforeEach(() => {
  n++;
  check = `backup-${n}`;
  clock = T0;
  scheduled = [];
  stream = new TestStream(() => clock);
  const file = JSON.parse(readFileSync('infra/local/oncall/demo.json', 'utf8'));
  file.heartbeats = {
    [check]: { period_s: PERIOD_S, grace_s: GRACE_S, team: 'db', severity: 'P1', name: 'Nightly backup' },
    [`watchdog-${n}`]: { preset: 'watchdog', team: 'app', severity: 'P2' },
  };
  const oncall = OnCallConfig.parse(file);
  const names = new Set<string>();
  refusals = 0;
  const scheduler: DeadlineScheduler = {
    schedule: async (req) => {
      if (refusals > 0) {
        refusals--;
        throw new Error('ServiceUnavailableException: the Scheduler is down');
      }
      if (names.has(req.name)) return 'exists';
      names.add(req.name);
      scheduled.push(req);
      return 'created';
    },
    cancel: async () => undefined,
  };
  const producer = { putStreamRecords: async (rs: readonly StreamRecordIn[]) => void stream.push(...rs) };
  const heartbeats = new HeartbeatKeeper({
    cfg: oncall,
    store: new DynamoHeartbeatStore(stack.clients.dynamodb, stack.config.INCIDENTS_TABLE),
    deadlines: scheduler,
    producer,
    now: () => clock,
    rearmIntervalMs: 0,
  });
  ({ handler, store, reached } = pagingHarness({ stack, oncall, stream, producer, heartbeats, now: () => clock }));
});

describe('a heartbeat check', () => {
  it('checking in opens nothing and arms its next deadline period + grace later', async () => {
    stream.push(checkin());
    await pump();
    expect(reached).toEqual([]);
    expect(scheduled).toHaveLength(1);
    expect(scheduled[0].at).toBe(T0 + DUE_MS);
    expect(StreamRecord.parse(scheduled[0].record)).toMatchObject({
      source: 'heartbeat',
      phase: 'due',
      state: 'ALARM',
      key: check,
      event_time: T0 + DUE_MS,
    });
    expect(heartbeatAlarms()).toEqual([]);
  });

  it('Scheduler outage: the check-in goes back on the stream until its deadline is armed; a miss pages', async () => {
    refusals = 3;
    const first = checkin();
    stream.push(first);
    await pump();
    // refused three times: the same check-in read again each time (same event id), then armed once
    const again = parsed().filter((r) => r.kind === 'alarm' && r.source === 'heartbeat' && r.phase === 'checkin');
    expect(again.map((r) => r.event_id)).toEqual(Array(4).fill(StreamRecord.parse(first).event_id));
    expect(scheduled).toHaveLength(1);
    expect(scheduled[0].at).toBe(T0 + DUE_MS);
    expect(reached).toEqual([]);
    // the job died meanwhile: no further check-in; the deadline fires and pages
    clock = T0 + DUE_MS + 30_000;
    fire();
    await pump();
    expect(pages().length).toBeGreaterThan(0);
  });

  it('missed: one incident (the check team, severity, reason in words), also when redelivered', async () => {
    stream.push(checkin());
    await pump();
    clock = T0 + DUE_MS + 30_000; // the Scheduler fires within a minute of the time
    const due = fire();
    await pump();
    const incident = StreamRecord.parse(due).incident_id;
    const stored = (await store.get(incident))!.state;
    expect(stored).toMatchObject({ team: 'db', severity: 'P1', alarmName: 'Nightly backup' });
    expect(stored.reason).toBe(
      `no check-in from Nightly backup since ${new Date(T0).toISOString()}, expected every 10 min (grace 60 s)`,
    );
    expect(pages().length).toBeGreaterThan(0);
    // db P1, level 1: bob on sms and email
    expect(new Set(pages().map((p) => `${p.channel} ${p.address}`))).toEqual(
      new Set(['sms +15551230002', 'email bob@example.com']),
    );
    const paged = pages().length;

    // the Scheduler delivers it again (at least once), and the stream redelivers it: no second incident, no page
    clock += 5_000;
    stream.push(due);
    await pump();
    await handler(stream.event([due]));
    expect(pages()).toHaveLength(paged);
    expect(heartbeatAlarms().map((r) => [r.incident_id, r.state])).toEqual([[incident, 'ALARM']]);
    // nothing re-armed while it is missed: nothing to watch until it checks in
    expect(scheduled).toHaveLength(1);
  });

  it('the next check-in (late, after the grace) resolves the incident and arms the next deadline', async () => {
    stream.push(checkin());
    await pump();
    clock = T0 + DUE_MS;
    const incident = StreamRecord.parse(fire()).incident_id;
    await pump();
    clock += 17 * 60_000;
    const t1 = clock;
    stream.push(checkin());
    await pump();
    expect((await store.get(incident))!.state.resolvedAt).toBe(t1);
    expect(heartbeatAlarms().map((r) => [r.incident_id, r.state])).toEqual([
      [incident, 'ALARM'],
      [incident, 'OK'],
    ]);
    expect(scheduled.map((s) => s.at)).toEqual([T0 + DUE_MS, clock + DUE_MS]);
    // that deadline met by a check-in in time: nothing more
    const pagedBefore = pages().length;
    clock += 5 * 60_000;
    const t2 = clock;
    stream.push(checkin());
    await pump();
    clock = scheduled[1].at;
    fire(scheduled[1]);
    await pump();
    expect(pages()).toHaveLength(pagedBefore);
    // the stale one re-armed from the check-in after it
    expect(scheduled.map((s) => s.at)).toEqual([T0 + DUE_MS, t1 + DUE_MS, t2 + DUE_MS]);
  });

  it('a check-in racing its deadline: whichever reached the stream first decides, every time', async () => {
    stream.push(checkin());
    await pump();
    // the check-in first (received a moment before the deadline fired): the deadline is stale, re-armed from it
    clock = T0 + DUE_MS - 1;
    const late = checkin();
    clock = T0 + DUE_MS;
    const due = scheduled[0].record;
    stream.push(late, due);
    await pump();
    await handler(stream.event([late, due])); // a replay of the same order decides the same
    expect(pages()).toEqual([]);
    expect(heartbeatAlarms()).toEqual([]);
    expect(scheduled.map((s) => s.at)).toEqual([T0 + DUE_MS, T0 + DUE_MS - 1 + DUE_MS]);

    // the deadline first, then a check-in: the incident opens, and the check-in resolves it
    clock = scheduled[1].at;
    const due2 = scheduled[1].record;
    const racing = checkin();
    stream.push(due2, racing);
    await pump();
    await handler(stream.event([due2, racing]));
    const incident = StreamRecord.parse(due2).incident_id;
    expect(heartbeatAlarms().map((r) => [r.incident_id, r.state])).toEqual([
      [incident, 'ALARM'],
      [incident, 'OK'],
    ]);
    expect((await store.get(incident))!.state.resolvedAt).toBe(clock);
  });

  it('a storm of check-ins: one schedule, no incident', async () => {
    for (let i = 0; i < 200; i++) {
      clock = T0 + i * 1000;
      stream.push(checkin());
    }
    await pump();
    expect(scheduled).toHaveLength(1);
    // the deadline armed by the first check-in is stale: re-armed once, from the last
    clock = scheduled[0].at;
    fire();
    await pump();
    expect(scheduled.map((s) => s.at)).toEqual([T0 + DUE_MS, T0 + 199_000 + DUE_MS]);
    expect(reached).toEqual([]);
  });

  it('Watchdog preset: notifications check in; when they stop, "Alertmanager Watchdog" opens', async () => {
    check = `watchdog-${n}`;
    const body = readFileSync('schemas/fixtures/alertmanager-watchdog-firing.json', 'utf8');
    // Alertmanager repeats the firing Watchdog every minute (repeat_interval 1m)
    for (let i = 0; i < 5; i++) {
      clock = T0 + i * 60_000;
      stream.push(heartbeatCheckin(check, clock, body));
    }
    await pump();
    expect(scheduled.map((s) => s.at)).toEqual([T0 + 600_000]); // the preset: 5 min period + 5 min grace
    clock = T0 + 600_000;
    fire();
    await pump();
    // re-armed from the last notification; then Alertmanager is silent
    expect(scheduled.map((s) => s.at)).toEqual([T0 + 600_000, T0 + 240_000 + 600_000]);
    clock = scheduled[1].at;
    const incident = StreamRecord.parse(fire()).incident_id;
    await pump();
    expect((await store.get(incident))!.state).toMatchObject({
      alarmName: 'Alertmanager Watchdog',
      team: 'app',
      severity: 'P2',
      reason:
        `no check-in from Alertmanager Watchdog since ${new Date(T0 + 240_000).toISOString()}, ` +
        'expected every 5 min (grace 300 s)',
    });
    expect(pages().length).toBeGreaterThan(0);
  });

  it('a check the on-call file does not have: dropped, nothing armed', async () => {
    check = `gone-${n}`;
    stream.push(checkin());
    await pump();
    expect(scheduled).toEqual([]);
    expect(reached).toEqual([]);
  });
});
