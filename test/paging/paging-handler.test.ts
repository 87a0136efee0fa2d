import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { TestStream } from '../helpers/test-stream.js';
import { DispatchLedger } from '../../processors/paging/ledger.js';
import { IncidentStore } from '../../processors/paging/incident-store.js';
import { loadOnCallConfig, type OnCallConfig } from '../../schemas/oncall/config.js';
import { EscalationEngine } from '../../processors/paging/escalation.js';
import { EffectRunner } from '../../processors/paging/effects.js';
import { createPagingHandler } from '../../processors/paging/handler.js';
import type { PageRequest, PageResult } from '../../processors/paging/dispatcher.js';
import { ProviderError } from '../../processors/paging/errors.js';
import { toKinesisStreamRecord, type KinesisBatchHandler } from '../../processors/runtime/kinesis-event.js';
import type { StreamRecordIn } from '../../schemas/envelope.js';
import { eventId } from '../../schemas/ids.js';
import { DEMO_STORIES, demoAlarmArn, demoAlarmEvent, demoIncidentId } from '../../infra/local/demo-alarms.js';
import { KeepingScheduler } from '../helpers/paging-harness.js';

/**
 * The paging handler on the real DynamoDB engine (incident items, ledger, ack codes) with a fake
 * provider, a fake scheduler and an in-memory stream, under a driven clock: every decision and every
 * effect is checked, including what happens when a delivery fails half-way and is delivered again.
 */
let stack: LocalStack;
let clock = 0;
const T0 = Date.parse('2026-11-28T10:00:00.000Z');
/** Each test's alarms enter ALARM at their own time: their own incidents, ledger steps and items. */
let t0 = T0;
const oncall = loadOnCallConfig('infra/local/oncall/demo.json');
const BILLING = DEMO_STORIES[1]; // db P1: bob (sms, email; 8 s, stop_on opened) → carol (whatsapp, sms; 20 s)
const REPORTS = DEMO_STORIES[3]; // db P3: erin email → failover sms

/** A provider that records what reached it; `plan` decides per request. */
class FakeProvider {
  reached: (PageRequest & { messageId: string })[] = [];
  plan: (req: PageRequest) => 'ok' | 'refuse' | 'hang' | 'throw' = () => 'ok';
  private hung: (() => void)[] = [];
  async send(req: PageRequest): Promise<PageResult> {
    const provider = req.channel === 'email' ? 'resend' : 'twilio';
    const what = this.plan(req);
    if (what === 'throw') throw new Error('simulated crash mid-send');
    if (what === 'refuse')
      return { ok: false, provider, error: new ProviderError(provider, '21211', 400, false, 'invalid To') };
    const messageId = `SM${String(this.reached.length + 1).padStart(32, '0')}`;
    this.reached.push({ ...req, messageId });
    if (what === 'hang') await new Promise<void>((r) => this.hung.push(r));
    return { ok: true, messageId, provider };
  }
  finds = 0;
  async find(req: PageRequest): Promise<string | undefined> {
    this.finds++;
    return this.reached.find((r) => r.dispatchId === req.dispatchId)?.messageId;
  }
  release() {
    for (const r of this.hung.splice(0)) r();
  }
  /** Who was paged how, sorted: the pages of a level go out at once, in no set order. */
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
let failPut: ((r: StreamRecordIn) => boolean) | undefined;

function build(opts: { sendBudgetMs?: number; oncall?: OnCallConfig } = {}) {
  const { clients, config } = stack;
  const cfg = opts.oncall ?? oncall;
  const engine = new EscalationEngine(cfg, { maxAlarmAgeMs: 3600_000 });
  const effects = new EffectRunner({
    engine,
    oncall: cfg,
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
    sendBudgetMs: opts.sendBudgetMs ?? 5000,
    maxSendMs: 2000,
    now: () => clock,
  });
  handler = createPagingHandler({
    store: new IncidentStore({ dynamodb: clients.dynamodb, table: config.INCIDENTS_TABLE }),
    engine,
    effects,
    now: () => clock,
  });
}

const event = (records: StreamRecordIn[]) => stream.event(records);
const pump = () => stream.pump(handler);
const alarm = (story = BILLING) =>
  ({ v: 1, kind: 'alarm', severity: story.severity, event: demoAlarmEvent(story, 'ALARM', t0, t0) }) as StreamRecordIn;
const kinds = (k: StreamRecordIn['kind']) => stream.kinds(k);
/** The provider hangs on the first SMS (the claim stays open, left to settle) and accepts every other send. */
function hangFirstSend(): void {
  let first = true;
  provider.plan = (req) => {
    if (!first || req.channel !== 'sms') return 'ok';
    first = false;
    return 'hang';
  };
}

beforeAll(async () => {
  stack = await startLocalStack({ shards: 1 });
});
afterAll(async () => stack?.stop());
beforeEach(async () => {
  // a fresh incident per test: shift the clock so incident ids (alarm ARN + time) differ
  t0 += 86_400_000;
  clock = t0 + 1000;
  provider = new FakeProvider();
  scheduler = new KeepingScheduler(() => clock);
  stream = new TestStream(() => clock);
  failPut = undefined;
  build();
});

describe('paging handler', () => {
  it(
    'pages level 1, escalates when its deadline record arrives, stops on an ack; redelivering everything sends ' +
      'nothing',
    async () => {
      const incident = demoIncidentId(BILLING, t0);
      stream.push(alarm());
      await pump();
      expect(provider.pages()).toEqual(['bob:email@L1', 'bob:sms@L1']);
      expect(provider.reached.find((r) => r.channel === 'sms')).toMatchObject({
        incidentId: incident,
        alarmArn: demoAlarmArn(BILLING.alarmName),
        dispatchId: eventId('dispatch', `${incident}|L1|bob|sms`),
      });
      expect([...scheduler.schedules.values()].map((s) => s.at - clock)).toEqual([8000]);
      expect(kinds('dispatch')).toHaveLength(2);

      clock += 8000;
      stream.push(...scheduler.due());
      await pump();
      expect(provider.pages()).toEqual(['bob:email@L1', 'bob:sms@L1', 'carol:sms@L2', 'carol:whatsapp@L2']);
      expect(kinds('escalation').map((r) => (r as { reason: string }).reason)).toEqual(['deadline']);

      stream.push({
        v: 1,
        kind: 'ack',
        event_id: eventId('ack', incident),
        incident_id: incident,
        alarm_arn: demoAlarmArn(BILLING.alarmName),
        event_time: new Date(clock + 1000).toISOString(),
        channel: 'whatsapp',
        via: 'whatsapp_reply',
        person: 'carol',
      });
      await pump();
      clock += 20_000;
      stream.push(...scheduler.due());
      await pump();
      expect(provider.reached).toHaveLength(4);

      // the whole stream again (a replay, a retry of everything): no page, no record, no schedule
      const before = stream.records.length;
      const res = await handler(event(stream.records.slice(0, before)));
      expect(res.batchItemFailures).toEqual([]);
      expect(provider.reached).toHaveLength(4);
      expect(stream.records.length).toBe(before);
    },
  );

  it('an escalation whose record failed beside its pages: the retry puts it, each page stays sent once', async () => {
    stream.push(alarm());
    await pump();
    clock += 8000;
    const due = scheduler.due();
    failPut = (r) => r.kind === 'escalation'; // the escalation record is lost; the level's pages go out beside it
    const failed = await handler(event(due));
    expect(failed.batchItemFailures).toHaveLength(1);
    expect(provider.pages()).toEqual(['bob:email@L1', 'bob:sms@L1', 'carol:sms@L2', 'carol:whatsapp@L2']);
    failPut = undefined;
    const retried = await handler(event(due)); // the mapping retries the record: its pages are claimed, not resent
    expect(retried.batchItemFailures).toEqual([]);
    await pump();
    clock += 3000; // past any settle wake-up
    stream.push(...scheduler.due());
    await pump();
    expect(provider.pages()).toEqual(['bob:email@L1', 'bob:sms@L1', 'carol:sms@L2', 'carol:whatsapp@L2']);
    expect(kinds('escalation').map((r) => (r as { reason: string }).reason)).toEqual(['deadline']);
    expect(new Set(kinds('dispatch').map((d) => (d as { event_id: string }).event_id)).size).toBe(4);
  });

  it(
    'a step claimed but never completed is settled through the provider: ' + 'sent once, whatever the crash hit',
    async () => {
      // crash after the provider accepted the send: claim open, provider has it
      hangFirstSend();
      build({ sendBudgetMs: 50 });
      stream.push(alarm());
      await pump();
      expect(provider.reached).toHaveLength(2); // sms hung (left to settle), email sent
      const settle = [...scheduler.schedules.values()].find(
        (s) => (s.record as { purpose?: string }).purpose === 'settle',
      )!;
      expect(settle).toBeDefined();
      provider.release();
      clock = settle.at;
      stream.push(...scheduler.due());
      await pump();
      expect(provider.reached).toHaveLength(2); // found by its reference: not sent again
      expect(
        kinds('dispatch')
          .map((d) => (d as { message_id: string }).message_id)
          .sort(),
      ).toEqual(provider.reached.map((r) => r.messageId).sort());
    },
  );

  it(
    'a hung send whose receipt came back first still gets its dispatch record, ' + "with the receipt's message id",
    async () => {
      hangFirstSend();
      build({ sendBudgetMs: 50 });
      stream.push(alarm());
      await pump();
      const hung = provider.reached.find((r) => r.channel === 'sms')!;
      // the provider's status callback (it names its dispatch) arrives before the send is settled
      stream.push({
        v: 1,
        kind: 'receipt',
        event_id: eventId('receipt', hung.messageId, 'delivered'),
        incident_id: hung.incidentId,
        alarm_arn: hung.alarmArn,
        event_time: new Date(clock).toISOString(),
        provider: 'twilio',
        channel: 'sms',
        message_id: hung.messageId,
        dispatch_id: hung.dispatchId,
        status: 'delivered',
        provider_status: 'delivered',
      });
      await pump();
      expect(kinds('dispatch').map((d) => (d as { event_id: string }).event_id)).not.toContain(hung.dispatchId);
      const settle = [...scheduler.schedules.values()].find(
        (x) => (x.record as { purpose?: string }).purpose === 'settle',
      )!;
      clock = settle.at;
      stream.push(...scheduler.due());
      await pump();
      const d = kinds('dispatch').find((x) => (x as { event_id: string }).event_id === hung.dispatchId) as
        | { message_id: string }
        | undefined;
      expect(d?.message_id).toBe(hung.messageId);
      expect(provider.finds).toBe(0);
      expect(provider.reached).toHaveLength(2);
    },
  );

  it('a claimed step the provider never got is sent on settlement (the last level is never lost)', async () => {
    stream.push(alarm());
    await pump();
    clock += 8000;
    const due = scheduler.due();
    let calls = 0;
    provider.plan = (req) => (req.content.level === 2 && req.channel === 'whatsapp' && calls++ === 0 ? 'throw' : 'ok');
    expect((await handler(event(due))).batchItemFailures).toHaveLength(1);
    // redelivered at once: the call that threw has ended, so nothing of level 2's claims is in flight: both are
    // looked up at the provider without waiting out maxSendMs — the SMS (sent before the throw) is found and not sent
    // again, the WhatsApp page is not there and is sent
    const finds = provider.finds;
    await handler(event(due));
    expect(provider.finds).toBe(finds + 2);
    expect(provider.pages().filter((p) => p.startsWith('carol:'))).toEqual(['carol:sms@L2', 'carol:whatsapp@L2']);
    clock += 3000;
    stream.push(...scheduler.due());
    await pump();
    expect(provider.pages().filter((p) => p.startsWith('carol:whatsapp'))).toHaveLength(1);
  });

  it('a refused page fails over at once; a refusal is a dispatch record with the code', async () => {
    provider.plan = (req) => (req.channel === 'email' ? 'refuse' : 'ok');
    stream.push(alarm(REPORTS));
    await pump();
    expect(provider.pages()).toEqual(['erin:sms@L1']);
    const dispatches = kinds('dispatch') as Extract<StreamRecordIn, { kind: 'dispatch' }>[];
    expect(dispatches.map((d) => `${d.channel}:${d.outcome}:${d.error_code ?? ''}`)).toEqual([
      'email:failed:21211',
      'sms:sent:',
    ]);
    expect(kinds('escalation').map((r) => (r as { reason: string }).reason)).toEqual(['failover']);
  });

  it('a page the carrier accepts and never reports fails over at its delivery deadline, before the level', async () => {
    // db P3: erin by email, level deadline 600 s; the email's delivery deadline 30 s
    const p3 = oncall.teams.db.escalation.P3!;
    const cfg = structuredClone(oncall);
    cfg.teams.db.escalation.P3 = {
      ...p3,
      levels: [{ ...p3.levels[0], deadline_s: 600 }],
      delivery_s: { ...p3.delivery_s, email: 30 },
    };
    build({ oncall: cfg });
    stream.push(alarm(REPORTS));
    await pump();
    expect(provider.pages()).toEqual(['erin:email@L1']);
    const names = [...scheduler.schedules.values()].map((x) => (x.record as { purpose: string }).purpose).sort();
    expect(names).toEqual(['delivery', 'level']);
    clock += 29_000; // not yet
    stream.push(...scheduler.due());
    await pump();
    expect(provider.pages()).toEqual(['erin:email@L1']);
    clock += 2000; // silence for 30 s: the delivery deadline fires, the level's (600 s) does not
    stream.push(...scheduler.due());
    await pump();
    expect(provider.pages()).toEqual(['erin:email@L1', 'erin:sms@L1']);
    const escalations = kinds('escalation') as Extract<StreamRecordIn, { kind: 'escalation' }>[];
    expect(escalations).toMatchObject([{ reason: 'failover', cause: 'no_receipt', from_channel: 'email' }]);
    expect(escalations[0].silence_ms).toBeGreaterThanOrEqual(30_000);
    expect([...scheduler.schedules.values()].map((x) => (x.record as { purpose: string }).purpose)).toContain('level');
  });

  it('one failing incident reports its lowest record and does not hold up another', async () => {
    provider.plan = (req) => (req.incidentId === demoIncidentId(REPORTS, t0) ? 'throw' : 'ok');
    const batch = event([alarm(REPORTS), alarm(BILLING)]);
    const res = await handler(batch);
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: batch.Records[0].kinesis.sequenceNumber }]);
    expect(provider.pages()).toEqual(['bob:email@L1', 'bob:sms@L1']);
  });

  it('an invalid record is skipped, the batch succeeds', async () => {
    const bad = toKinesisStreamRecord(
      {
        shardId: 'shardId-000000000000',
        sequenceNumber: '1',
        partitionKey: 'x',
        data: new TextEncoder().encode('{"v":1,"kind":"nope"}'),
        arrivalTime: clock,
      },
      { streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/test', region: 'us-east-1' },
    );
    expect(await handler({ Records: [bad] })).toEqual({ batchItemFailures: [] });
  });
});
