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
import { PageLookupError, ProviderError } from '../../processors/paging/errors.js';
import type { KinesisBatchHandler } from '../../processors/runtime/kinesis-event.js';
import type { StreamRecordIn } from '../../schemas/envelope.js';
import { eventId } from '../../schemas/ids.js';
import { DEMO_STORIES, demoAlarmEvent, demoIncidentId } from '../../infra/local/demo-alarms.js';
import { KeepingScheduler } from '../helpers/paging-harness.js';

/**
 * The second route for SMS and voice (issue 21 item 3) through the paging handler, on the real DynamoDB engine
 * (incident items, ledger), with a fake of the two routes, a fake scheduler and an in-memory stream under a driven
 * clock: Twilio answering an error or timing out sends the page by AWS End User Messaging at once, exactly once
 * (replays, a crash mid-send); the dispatch records name the route and why.
 */
let stack: LocalStack;
let clock = 0;
const T0 = Date.parse('2026-12-01T10:00:00.000Z');
let t0 = T0;
const oncall = loadOnCallConfig('infra/local/oncall/demo.json');
const BILLING = DEMO_STORIES[1]; // db P1: bob (sms, email; 8 s, stop_on opened) → carol (whatsapp, sms; 20 s)

type Plan = 'ok' | 'error' | 'timeout' | 'crash_after_accept';

/** Twilio and AWS End User Messaging as the dispatcher presents them: `plan` decides per request. */
class FakeRoutes {
  reached: (PageRequest & { messageId: string; provider: string })[] = [];
  attempts: { provider: string; channel: string; dispatchId: string }[] = [];
  plan: (req: PageRequest, provider: string) => Plan = () => 'ok';
  finds = 0;
  async send(req: PageRequest): Promise<PageResult> {
    const provider = req.channel === 'email' ? 'resend' : req.route === 'aws' ? 'aws' : 'twilio';
    this.attempts.push({ provider, channel: req.channel, dispatchId: req.dispatchId });
    const what = this.plan(req, provider);
    if (what === 'error')
      // what the dispatcher answers when Twilio 5xx'd and a second route waits (fail fast, not created)
      return { ok: false, provider, error: new ProviderError(provider as 'twilio', '20500', 500, true, 'down') };
    if (what === 'timeout')
      return {
        ok: false,
        unknown: true,
        provider,
        error: new ProviderError(provider as 'twilio', 'timeout', undefined, true, 'no answer in time'),
      };
    const messageId = provider === 'aws' ? `aws-${this.reached.length + 1}` : `SM${this.reached.length + 1}`;
    this.reached.push({ ...req, messageId, provider });
    if (what === 'crash_after_accept') throw new Error('simulated crash after the provider accepted');
    return { ok: true, messageId, provider: provider as 'twilio' };
  }
  async find(req: PageRequest): Promise<string | undefined> {
    this.finds++;
    if (req.route === 'aws') throw new PageLookupError('aws', req.dispatchId, 'no_lookup', true, 'no list');
    return this.reached.find((r) => r.dispatchId === req.dispatchId)?.messageId;
  }
  pages(provider?: string) {
    return this.reached
      .filter((r) => !provider || r.provider === provider)
      .map((r) => `${r.content.personName.split(' ')[0].toLowerCase()}:${r.channel}@L${r.content.level}:${r.provider}`)
      .sort();
  }
}

let routes: FakeRoutes;
let scheduler: KeepingScheduler;
let stream: TestStream;
let handler: KinesisBatchHandler;

function build(opts: { sendBudgetMs?: number; oncall?: OnCallConfig; secondRoute?: ('sms' | 'voice')[] } = {}) {
  const { clients, config } = stack;
  const cfg = opts.oncall ?? oncall;
  const secondRoute = opts.secondRoute ?? ['sms', 'voice'];
  const engine = new EscalationEngine(cfg, { maxAlarmAgeMs: 3600_000, secondRoute });
  const effects = new EffectRunner({
    engine,
    oncall: cfg,
    ledger: new DispatchLedger(clients.dynamodb, config.LEDGER_TABLE),
    dispatcher: routes,
    producer: { putStreamRecords: async (rs) => void stream.push(...rs) },
    deadlines: scheduler,
    ackCodes: { allocate: async () => 'ABC234', addRecipients: async () => undefined },
    ackLink: () => 'https://alerts.example.com/ack',
    sendBudgetMs: opts.sendBudgetMs ?? 5000,
    maxSendMs: 2000,
    secondRoute,
    now: () => clock,
  });
  handler = createPagingHandler({
    store: new IncidentStore({ dynamodb: clients.dynamodb, table: config.INCIDENTS_TABLE }),
    engine,
    effects,
    now: () => clock,
  });
}

const pump = () => stream.pump(handler);
const alarm = (story = BILLING) =>
  ({ v: 1, kind: 'alarm', severity: story.severity, event: demoAlarmEvent(story, 'ALARM', t0, t0) }) as StreamRecordIn;
type Dispatch = Extract<StreamRecordIn, { kind: 'dispatch' }>;
type Escalation = Extract<StreamRecordIn, { kind: 'escalation' }>;
/** The dispatch records, once each (a redo after a crash puts the same event id again: the readers drop it). */
const dispatches = () => [
  ...new Map((stream.kinds('dispatch') as Dispatch[]).map((d) => [d.event_id, d] as const)).values(),
];
const smsOf = (person: string, level = 1) =>
  dispatches().filter((d) => d.person === person && d.channel === 'sms' && d.level === level);
const settleNow = async () => {
  clock += 3500; // past maxSendMs + 1 s: the settle wake-up is due
  stream.push(...scheduler.due());
  await pump();
};

beforeAll(async () => {
  stack = await startLocalStack({ shards: 1 });
});
afterAll(async () => stack?.stop());
beforeEach(() => {
  t0 += 86_400_000;
  clock = t0 + 1000;
  routes = new FakeRoutes();
  scheduler = new KeepingScheduler(() => clock);
  stream = new TestStream(() => clock);
  build();
});

describe('second route (AWS End User Messaging) for SMS and voice', () => {
  it('Twilio answers 5xx: the SMS goes by AWS at once, exactly once; replaying everything sends nothing', async () => {
    routes.plan = (req, provider) => (req.channel === 'sms' && provider === 'twilio' ? 'error' : 'ok');
    stream.push(alarm());
    await pump();
    expect(routes.pages()).toEqual(['bob:email@L1:resend', 'bob:sms@L1:aws']);
    const [twilio, aws] = smsOf('bob');
    expect(twilio).toMatchObject({ route: 'twilio', provider: 'twilio', outcome: 'failed', error_code: '20500' });
    expect(aws).toMatchObject({
      route: 'aws',
      provider: 'aws',
      outcome: 'sent',
      message_id: routes.reached.find((r) => r.provider === 'aws')?.messageId,
      rerouted: { from: 'twilio', cause: 'error' },
    });
    const incident = demoIncidentId(BILLING, t0);
    expect(aws.event_id).toBe(eventId('dispatch', `${incident}|L1|bob|sms|aws`));
    const failover = stream.kinds('escalation') as Escalation[];
    expect(failover).toMatchObject([{ reason: 'failover', from_channel: 'sms', to_channel: 'sms', to_route: 'aws' }]);

    const before = stream.records.length;
    expect((await handler(stream.event(stream.records.slice(0, before)))).batchItemFailures).toEqual([]);
    expect(routes.attempts.filter((a) => a.provider === 'aws')).toHaveLength(1);
    expect(stream.records.length).toBe(before);
  });

  it('Twilio times out and does not have the page: settled by AWS, not by Twilio again', async () => {
    let twilioSends = 0;
    routes.plan = (req, provider) =>
      req.channel === 'sms' && provider === 'twilio' && !twilioSends++ ? 'timeout' : 'ok';
    build({ sendBudgetMs: 50 });
    stream.push(alarm());
    await pump();
    expect(routes.pages()).toEqual(['bob:email@L1:resend']); // the SMS's outcome is unknown: left to settle
    await settleNow();
    expect(routes.pages()).toEqual(['bob:email@L1:resend', 'bob:sms@L1:aws']);
    expect(twilioSends).toBe(1); // looked up, never sent by Twilio again
    expect(smsOf('bob').map((d) => `${d.route}:${d.outcome}:${d.error_code ?? ''}`)).toEqual([
      'twilio:failed:timeout',
      'aws:sent:',
    ]);
    expect(smsOf('bob')[1].rerouted).toEqual({ from: 'twilio', cause: 'timeout' });
    await settleNow(); // nothing left to settle: no third send
    expect(routes.attempts.filter((a) => a.channel === 'sms')).toHaveLength(2);
  });

  it('a Twilio timeout Twilio did take after all is its page, and AWS is never asked', async () => {
    build({ sendBudgetMs: 50 });
    let hung = false;
    routes.plan = (req, provider) => {
      if (req.channel !== 'sms' || provider !== 'twilio' || hung) return 'ok';
      hung = true;
      return 'crash_after_accept'; // accepted by Twilio; the answer never came back to the handler
    };
    stream.push(alarm());
    const first = await handler(stream.event(stream.records.slice()));
    expect(first.batchItemFailures).toHaveLength(1);
    clock += 2500;
    await pump();
    await settleNow();
    expect(routes.pages()).toEqual(['bob:email@L1:resend', 'bob:sms@L1:twilio']);
    expect(routes.attempts.filter((a) => a.provider === 'aws')).toEqual([]);
    const taken = routes.reached.find((r) => r.channel === 'sms')!;
    expect(smsOf('bob')).toMatchObject([{ route: 'twilio', outcome: 'sent', message_id: taken.messageId }]);
  });

  it('a crash after AWS took the page: its delivery event settles it; AWS is not asked twice', async () => {
    let crashed = false;
    routes.plan = (req, provider) => {
      if (req.channel === 'sms' && provider === 'twilio') return 'error';
      if (provider === 'aws' && !crashed) {
        crashed = true;
        return 'crash_after_accept';
      }
      return 'ok';
    };
    stream.push(alarm());
    const first = await handler(stream.event(stream.records.slice()));
    expect(first.batchItemFailures).toHaveLength(1);
    const aws = routes.reached.find((r) => r.provider === 'aws')!;
    // the SNS delivery event (its context names the dispatch) comes back before the page is settled
    stream.push({
      v: 1,
      kind: 'receipt',
      event_id: eventId('receipt', 'aws', aws.messageId, 'TEXT_DELIVERED'),
      incident_id: aws.incidentId,
      alarm_arn: aws.alarmArn,
      event_time: new Date(clock).toISOString(),
      provider: 'aws',
      channel: 'sms',
      message_id: aws.messageId,
      dispatch_id: aws.dispatchId,
      status: 'delivered',
      provider_status: 'TEXT_DELIVERED',
    });
    clock += 2500;
    await pump();
    await settleNow();
    expect(routes.attempts.filter((a) => a.provider === 'aws')).toHaveLength(1);
    expect(smsOf('bob').map((d) => `${d.route}:${d.outcome}:${d.message_id}`)).toEqual([
      'twilio:failed:null',
      `aws:sent:${aws.messageId}`,
    ]);
  });

  it('a page silent until its delivery deadline goes by AWS at once, recorded as a failover on silence', async () => {
    const p1 = oncall.teams.db.escalation.P1!;
    const cfg = structuredClone(oncall);
    cfg.teams.db.escalation.P1 = {
      ...p1,
      levels: p1.levels.map((l) => ({ ...l, deadline_s: 600 })),
      delivery_s: { ...p1.delivery_s, sms: 30 },
    };
    build({ oncall: cfg });
    stream.push(alarm());
    await pump();
    clock += 31_000;
    stream.push(...scheduler.due());
    await pump();
    expect(routes.pages()).toEqual(['bob:email@L1:resend', 'bob:sms@L1:aws', 'bob:sms@L1:twilio']);
    const aws = smsOf('bob').find((d) => d.route === 'aws')!;
    expect(aws.rerouted).toEqual({ from: 'twilio', cause: 'no_receipt' });
    const [failover] = stream.kinds('escalation') as Escalation[];
    expect(failover).toMatchObject({ reason: 'failover', cause: 'no_receipt', to_channel: 'sms', to_route: 'aws' });
  });

  it('the next attempt on the channel keeps to the route that worked: level 2 pages bob by AWS at once', async () => {
    const p1 = oncall.teams.db.escalation.P1!;
    const cfg = structuredClone(oncall);
    cfg.teams.db.escalation.P1 = {
      ...p1,
      levels: [p1.levels[0], { ...p1.levels[1], targets: ['bob'], channels: ['sms'] }],
    };
    build({ oncall: cfg });
    routes.plan = (req, provider) => (req.channel === 'sms' && provider === 'twilio' ? 'error' : 'ok');
    stream.push(alarm());
    await pump();
    clock += 8000; // level 1 not confirmed (stop_on opened): level 2
    stream.push(...scheduler.due());
    await pump();
    expect(routes.attempts.filter((a) => a.channel === 'sms').map((a) => a.provider)).toEqual([
      'twilio',
      'aws',
      'aws', // level 2: by AWS first, Twilio not tried again
    ]);
    expect(smsOf('bob', 2)).toMatchObject([{ route: 'aws', outcome: 'sent' }]);
    expect(smsOf('bob', 2)[0].rerouted).toBeUndefined();
  });

  it('without a second route, a Twilio failure fails over to the next channel as before', async () => {
    build({ secondRoute: [] });
    routes.plan = (req, provider) => (req.channel === 'sms' && provider === 'twilio' ? 'error' : 'ok');
    stream.push(alarm());
    await pump();
    expect(routes.attempts.filter((a) => a.provider === 'aws')).toEqual([]);
    expect(smsOf('bob')).toMatchObject([{ route: 'twilio', outcome: 'failed' }]);
  });
});
