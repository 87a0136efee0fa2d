import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { TestStream } from '../helpers/test-stream.js';
import { DispatchLedger } from '../../processors/paging/ledger.js';
import { IncidentStore } from '../../processors/paging/incident-store.js';
import { loadOnCallConfig } from '../../schemas/oncall/config.js';
import { EscalationEngine } from '../../processors/paging/escalation.js';
import { EffectRunner } from '../../processors/paging/effects.js';
import { createPagingHandler } from '../../processors/paging/handler.js';
import type { PageRequest, PageResult } from '../../processors/paging/dispatcher.js';
import type { KinesisBatchHandler } from '../../processors/runtime/kinesis-event.js';
import type { StreamRecordIn } from '../../schemas/envelope.js';
import { DEMO_STORIES, demoAlarmEvent, demoIncidentId } from '../../infra/local/demo-alarms.js';
import { IncidentStateView } from '../../shared/incident-view.js';
import {
  acknowledge,
  escalate,
  reassign,
  resolve,
  snooze,
  type ActionDeps,
} from '../../producers/receiver/api/actions.js';
import type { Principal } from '../../producers/receiver/auth/principal.js';
import { KeepingScheduler } from '../helpers/paging-harness.js';

/**
 * Escalate, reassign and snooze by hand (incident API, console) through the paging handler on the real DynamoDB
 * engine, a fake provider and scheduler and an in-memory stream, under a driven clock: the record the API function
 * writes goes on the stream, the handler decides once, and a record redelivered, or a crash between the decision and
 * its effects (a send that throws, a stream write lost), changes nothing more: every page reaches the provider once.
 * The demo's db P1 policy: bob (sms, email; 8 s, stop_on opened) → carol (whatsapp, sms; 20 s), no repeat, no
 * fallback.
 */
let stack: LocalStack;
let clock = 0;
const T0 = Date.parse('2026-11-28T10:00:00.000Z');
let t0 = T0;
const oncall = loadOnCallConfig('infra/local/oncall/demo.json');
const BILLING = DEMO_STORIES[1];

class FakeProvider {
  reached: (PageRequest & { messageId: string })[] = [];
  plan: (req: PageRequest) => 'ok' | 'throw' = () => 'ok';
  async send(req: PageRequest): Promise<PageResult> {
    const provider = req.channel === 'email' ? 'resend' : 'twilio';
    if (this.plan(req) === 'throw') throw new Error('simulated crash mid-send');
    const messageId = `SM${String(this.reached.length + 1).padStart(32, '0')}`;
    this.reached.push({ ...req, messageId });
    return { ok: true, messageId, provider };
  }
  async find(req: PageRequest): Promise<string | undefined> {
    return this.reached.find((r) => r.dispatchId === req.dispatchId)?.messageId;
  }
  pages() {
    return this.reached
      .map((r) => `${r.content.personName.split(' ')[0].toLowerCase()}:${r.channel}@L${r.content.level}`)
      .sort();
  }
}

let provider: FakeProvider;
let scheduler: KeepingScheduler;
let stream: TestStream;
let handler: KinesisBatchHandler;
let store: IncidentStore;
let failPut: ((r: StreamRecordIn) => boolean) | undefined;

function build() {
  const { clients, config } = stack;
  const engine = new EscalationEngine(oncall, { maxAlarmAgeMs: 3600_000 });
  store = new IncidentStore({ dynamodb: clients.dynamodb, table: config.INCIDENTS_TABLE });
  const effects = new EffectRunner({
    engine,
    oncall,
    ledger: new DispatchLedger(clients.dynamodb, config.LEDGER_TABLE),
    dispatcher: provider,
    producer: {
      putStreamRecords: async (rs) => {
        if (rs.some((r) => failPut?.(r))) throw new Error('simulated crash: stream write lost');
        stream.push(...rs);
      },
    },
    deadlines: scheduler,
    ackCodes: { allocate: async () => 'ABC234', addRecipients: async () => undefined },
    ackLink: () => 'https://alerts.example.com/ack',
    sendBudgetMs: 5000,
    maxSendMs: 2000,
    now: () => clock,
  });
  handler = createPagingHandler({ store, engine, effects, now: () => clock });
}

const pump = () => stream.pump(handler);
const alarm = () =>
  ({ v: 1, kind: 'alarm', severity: 'P1', event: demoAlarmEvent(BILLING, 'ALARM', t0, t0) }) as StreamRecordIn;
const reasons = () => stream.kinds('escalation').map((r) => (r as { reason: string }).reason);
const carol: Principal = { kind: 'person', person: 'carol', role: 'responder', teams: ['db'], sessionId: 's' };

/** The action functions' deps: the incident read from the paging state, the record written to the test stream. */
function apiDeps(): ActionDeps & { written: StreamRecordIn[] } {
  const written: StreamRecordIn[] = [];
  return {
    written,
    producer: { putStreamRecords: async (rs) => void written.push(...rs) },
    incidents: {
      get: async (id) => {
        const found = await store.get(id);
        return found ? IncidentStateView.parse(JSON.parse(JSON.stringify(found.state))) : undefined;
      },
      list: async () => ({ incidents: [] }),
    },
    now: () => clock,
    oncall: () => oncall,
  };
}

/** Runs an API action, puts its record on the stream, pumps; returns the record. */
type Written = StreamRecordIn & { event_id: string; event_time: string };
async function act(run: (deps: ActionDeps) => Promise<unknown>): Promise<Written> {
  const deps = apiDeps();
  await run(deps);
  expect(deps.written).toHaveLength(1);
  stream.push(...deps.written);
  await pump();
  return deps.written[0] as Written;
}

/** Delivers `records` again (a redelivery): nothing new may reach the provider or the stream. */
async function redeliverChangesNothing(records: StreamRecordIn[]): Promise<void> {
  const pages = provider.reached.length;
  const before = stream.records.length;
  const res = await handler(stream.event(records));
  expect(res.batchItemFailures).toEqual([]);
  expect(provider.reached).toHaveLength(pages);
  expect(stream.records.length).toBe(before);
}

beforeAll(async () => {
  stack = await startLocalStack({ shards: 1 });
});
afterAll(async () => stack?.stop());
beforeEach(() => {
  t0 += 86_400_000;
  clock = t0 + 1000;
  provider = new FakeProvider();
  scheduler = new KeepingScheduler(() => clock);
  stream = new TestStream(() => clock);
  failPut = undefined;
  build();
});

describe('escalate by hand', () => {
  it('pages the next level now, records it manual by the person, once; the old deadline is stale', async () => {
    const incident = demoIncidentId(BILLING, t0);
    stream.push(alarm());
    await pump();
    expect(provider.pages()).toEqual(['bob:email@L1', 'bob:sms@L1']);
    clock += 2000;
    const record = await act((deps) => escalate(deps, carol, incident, 'console'));
    expect(provider.pages()).toEqual(['bob:email@L1', 'bob:sms@L1', 'carol:sms@L2', 'carol:whatsapp@L2']);
    expect(stream.kinds('escalation')).toMatchObject([{ reason: 'manual', from_level: 1, to_level: 2, by: 'carol' }]);
    // level 2's deadline is armed from now (20 s), as a deadline's escalation would
    const l2 = [...scheduler.schedules.values()].filter((s) => (s.record as { level: number }).level === 2);
    expect(l2.map((s) => s.at - clock)).toEqual([20_000]);
    await redeliverChangesNothing([record]);
    // the same person pressing Escalate again (the API reads level 2 now) is a new escalation: past the last level
    clock += 1000;
    await act((deps) => escalate(deps, carol, incident, 'api'));
    expect(reasons()).toEqual(['manual', 'exhausted']);
    expect(stream.kinds('escalation')[1]).toMatchObject({ by: 'carol' });
    // bob's level-1 deadline comes due: stale, nothing
    clock = t0 + 60_000;
    stream.push(...scheduler.due());
    await pump();
    expect(provider.reached).toHaveLength(4);
    // exhausted: the API refuses in words
    await expect(escalate(apiDeps(), carol, incident, 'api')).rejects.toThrow(/escalation policy ran out/);
  });

  it('a crash between the decision and its effects (record lost, a send throwing): each effect once', async () => {
    const incident = demoIncidentId(BILLING, t0);
    stream.push(alarm());
    await pump();
    const deps = apiDeps();
    await escalate(deps, carol, incident, 'api');
    failPut = (r) => r.kind === 'escalation';
    let threw = false;
    provider.plan = (req) => {
      if (req.channel !== 'whatsapp' || threw) return 'ok';
      threw = true;
      return 'throw';
    };
    const failed = await handler(stream.event(deps.written));
    expect(failed.batchItemFailures).toHaveLength(1);
    failPut = undefined;
    const retried = await handler(stream.event(deps.written)); // the mapping retries the record
    expect(retried.batchItemFailures).toEqual([]);
    await pump();
    clock += 5000; // past any settle wake-up
    stream.push(...scheduler.due());
    await pump();
    expect(provider.pages()).toEqual(['bob:email@L1', 'bob:sms@L1', 'carol:sms@L2', 'carol:whatsapp@L2']);
    expect(reasons()).toEqual(['manual']);
    expect(new Set(stream.kinds('dispatch').map((d) => (d as { event_id: string }).event_id)).size).toBe(4);
  });

  it('an acknowledged incident is reopened at the next level; the next ack is a new record', async () => {
    const incident = demoIncidentId(BILLING, t0);
    stream.push(alarm());
    await pump();
    const bob: Principal = { ...carol, person: 'bob' };
    await act((deps) => acknowledge(deps, bob, incident, 'api'));
    await act((deps) => escalate(deps, bob, incident, 'api'));
    expect(provider.pages()).toContain('carol:whatsapp@L2');
    const ack = await act((deps) => acknowledge(deps, carol, incident, 'console'));
    expect((await store.get(incident))!.state).toMatchObject({ ackedBy: 'carol', reopens: 1 });
    expect(ack.event_id).not.toBe((stream.kinds('ack')[0] as Written).event_id);
  });
});

describe('snooze by hand', () => {
  it('open: no page until it ends, then what was left of the level deadline runs; redelivery: once', async () => {
    const incident = demoIncidentId(BILLING, t0);
    stream.push(alarm());
    await pump();
    clock += 3000;
    const { deadlineAt } = (await store.get(incident))!.state;
    const record = await act((deps) => snooze(deps, carol, incident, 'api', 10));
    await redeliverChangesNothing([record]);
    const until = Date.parse(record.event_time) + 600_000;
    const left = deadlineAt - Date.parse(record.event_time); // what was left of bob's 8 s
    expect(left).toBeGreaterThan(2000);
    // bob's original deadline comes due: moved by hand, ignored
    clock = t0 + 9000;
    stream.push(...scheduler.due());
    await pump();
    expect(provider.reached).toHaveLength(2);
    expect(reasons()).toEqual([]);
    clock = until + left - 1000;
    stream.push(...scheduler.due());
    await pump();
    expect(provider.reached).toHaveLength(2); // what was left runs after the snooze: not yet
    clock = until + left;
    stream.push(...scheduler.due());
    await pump();
    expect(reasons()).toEqual(['deadline']);
    expect(provider.pages()).toEqual(['bob:email@L1', 'bob:sms@L1', 'carol:sms@L2', 'carol:whatsapp@L2']);
  });

  it('open: an ack meanwhile wins (nothing at the end)', async () => {
    const incident = demoIncidentId(BILLING, t0);
    stream.push(alarm());
    await pump();
    await act((deps) => snooze(deps, carol, incident, 'api', 5));
    await act((deps) => acknowledge(deps, { ...carol, person: 'bob' }, incident, 'api'));
    clock += 3600_000;
    stream.push(...scheduler.due());
    await pump();
    expect(provider.reached).toHaveLength(2);
    expect(reasons()).toEqual([]);
  });

  it('acknowledged: at its end the ack is lifted and the level paged again, once', async () => {
    const incident = demoIncidentId(BILLING, t0);
    stream.push(alarm());
    await pump();
    const bob: Principal = { ...carol, person: 'bob' };
    await act((deps) => acknowledge(deps, bob, incident, 'api'));
    await act((deps) => snooze(deps, bob, incident, 'console', 5));
    clock += 299_000;
    stream.push(...scheduler.due());
    await pump();
    expect(provider.reached).toHaveLength(2);
    clock += 1000;
    const due = scheduler.due();
    stream.push(...due);
    await pump();
    expect(reasons()).toEqual(['resume']);
    expect(stream.kinds('escalation')[0]).toMatchObject({ by: 'bob', from_level: 1, to_level: 1 });
    expect(provider.pages()).toEqual(['bob:email@L1', 'bob:email@L1', 'bob:sms@L1', 'bob:sms@L1']);
    const state = (await store.get(incident))!.state;
    expect(state.ackedAt).toBeUndefined();
    await redeliverChangesNothing(due);
    // the level runs again: its deadline (8 s) escalates to carol
    clock += 8000;
    stream.push(...scheduler.due());
    await pump();
    expect(reasons()).toEqual(['resume', 'deadline']);
  });
});

describe('snooze by hand: a resolve meanwhile wins', () => {
  it('acknowledged, snoozed, then resolved by hand: nothing at the end', async () => {
    const incident = demoIncidentId(BILLING, t0);
    stream.push(alarm());
    await pump();
    const bob: Principal = { ...carol, person: 'bob' };
    await act((deps) => acknowledge(deps, bob, incident, 'api'));
    await act((deps) => snooze(deps, bob, incident, 'api', 5));
    await act((deps) => resolve(deps, bob, incident, 'api'));
    clock += 3600_000;
    stream.push(...scheduler.due());
    await pump();
    expect(provider.reached).toHaveLength(2);
    expect(reasons()).toEqual([]);
    expect((await store.get(incident))!.state).toMatchObject({ ackedBy: 'bob' });
  });
});

describe('reassign by hand', () => {
  it('pages the person now on the level channels, makes them the responder, restarts the deadline', async () => {
    const incident = demoIncidentId(BILLING, t0);
    stream.push(alarm());
    await pump();
    clock += 5000;
    const record = await act((deps) => reassign(deps, carol, incident, 'console', 'erin'));
    expect(provider.pages()).toEqual(['bob:email@L1', 'bob:sms@L1', 'erin:email@L1', 'erin:sms@L1']);
    expect(stream.kinds('escalation')).toMatchObject([{ reason: 'reassign', person: 'erin', by: 'carol' }]);
    expect((await store.get(incident))!.state).toMatchObject({ responder: 'erin', deadlineAt: clock + 8000 });
    await redeliverChangesNothing([record]);
    // bob's deadline (3 s later) is stale; the restarted one escalates per policy
    clock += 3000;
    stream.push(...scheduler.due());
    await pump();
    expect(reasons()).toEqual(['reassign']);
    clock += 5000;
    stream.push(...scheduler.due());
    await pump();
    expect(reasons()).toEqual(['reassign', 'deadline']);
    expect(provider.pages()).toContain('carol:whatsapp@L2');
  });

  it('refuses a stranger (400 naming person) and a resolved incident (409)', async () => {
    const incident = demoIncidentId(BILLING, t0);
    stream.push(alarm());
    await pump();
    await expect(reassign(apiDeps(), carol, incident, 'api', 'mallory')).rejects.toMatchObject({
      issues: [{ path: 'person' }],
    });
    stream.push({ v: 1, kind: 'alarm', severity: 'P1', event: demoAlarmEvent(BILLING, 'OK', t0 + 2000, t0) });
    await pump();
    await expect(reassign(apiDeps(), carol, incident, 'api', 'erin')).rejects.toThrow(/was resolved at/);
    await expect(snooze(apiDeps(), carol, incident, 'api', 5)).rejects.toThrow(/was resolved at/);
  });
});
