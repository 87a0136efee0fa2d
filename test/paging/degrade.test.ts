import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CreateScheduleGroupCommand, GetScheduleCommand, type SchedulerClient } from '@aws-sdk/client-scheduler';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { TestStream } from '../helpers/test-stream.js';
import { schedulerClient } from '../../platform/aws.js';
import { startHealthServer } from '../../platform/health.js';
import { twilioClient } from '../../platform/providers/twilio.js';
import { resendClient } from '../../platform/providers/resend.js';
import { freePort } from '../../infra/local/engines.js';
import { startSchedulerEmulator, type SchedulerEmulator } from '../../infra/local/scheduler/server.js';
import { DEMO_STORIES, demoAlarmEvent } from '../../infra/local/demo-alarms.js';
import { loadOnCallConfig } from '../../schemas/oncall/config.js';
import type { StreamRecordIn } from '../../schemas/envelope.js';
import { eventId } from '../../schemas/ids.js';
import { DispatchLedger } from '../../processors/paging/ledger.js';
import { IncidentStore } from '../../processors/paging/incident-store.js';
import { EscalationEngine } from '../../processors/paging/escalation.js';
import { EffectRunner, type EffectRunnerOptions } from '../../processors/paging/effects.js';
import { createPagingHandler } from '../../processors/paging/handler.js';
import { EventBridgeDeadlines } from '../../processors/paging/deadlines.js';
import { Dispatcher, type PageRequest, type PageResult } from '../../processors/paging/dispatcher.js';
import { DependencyHealth, withDependencies } from '../../processors/paging/dependency-health.js';
import type { KinesisBatchHandler } from '../../processors/runtime/kinesis-event.js';

/**
 * Degrade, don't stop (issue 17 row 3). The paging handler on the real DynamoDB engine and the real
 * Scheduler stand-in (stopped and started again on its port: the SDK gets ECONNREFUSED meanwhile), under a
 * driven clock: a Scheduler outage delays only deadlines — first pages go out in the same invocation, the
 * deadline is created once the Scheduler is back, or put on the stream at once when it is already due (its
 * lateness recorded) — and a provider that hangs or refuses shows on the health status until it answers.
 */
let stack: LocalStack;
let emulator: SchedulerEmulator | undefined;
let schedulerPort: number;
let schedulerDir: string;
let client: SchedulerClient;
const GROUP = 'degrade-test';
const DAY = 86_400_000;
const oncall = loadOnCallConfig('infra/local/oncall/demo.json');
const BILLING = DEMO_STORIES[1]; // db P1: bob (sms, email; 8 s) → carol (whatsapp, sms; 20 s)
const REPORTS = DEMO_STORIES[3]; // db P3: erin email, 60 s
const ORDERS = DEMO_STORIES[0]; // app P1: alice (sms, email)

let clock = 0;
/** Ahead of the machine's clock: a schedule created here never fires during the test. */
let t0 = Math.ceil(Date.now() / 1000) * 1000 + DAY;
let stream: TestStream;
let delivered = 0;
let handler: KinesisBatchHandler;
let health: DependencyHealth;
let reached: PageRequest[];

const alarm = (story: (typeof DEMO_STORIES)[number]) =>
  ({ v: 1, kind: 'alarm', severity: story.severity, event: demoAlarmEvent(story, 'ALARM', t0, t0) }) as StreamRecordIn;
const pages = () =>
  reached.map((r) => `${r.content.personName.split(' ')[0].toLowerCase()}:${r.channel}@L${r.content.level}`);
type Deadline = Extract<StreamRecordIn, { kind: 'deadline' }>;
const deadlines = (purpose: 'level' | 'settle') =>
  stream.kinds('deadline').filter((r) => ((r as Deadline).purpose ?? 'level') === purpose) as Deadline[];

/** One invocation with every record not yet delivered (what Lambda would read next). */
async function step() {
  const batch = stream.records.slice(delivered);
  delivered = stream.records.length;
  return handler(stream.event(batch));
}

async function startScheduler(): Promise<void> {
  emulator = await startSchedulerEmulator({
    port: schedulerPort,
    dataDir: schedulerDir,
    kinesis: { send: async () => ({}) } as never, // nothing fires within the test (schedules are a day ahead)
  });
}
async function stopScheduler(): Promise<void> {
  await emulator?.close();
  emulator = undefined;
}
const scheduleExists = (name: string) =>
  client.send(new GetScheduleCommand({ Name: name, GroupName: GROUP })).then(
    () => true,
    (err: Error) => (err.name === 'ResourceNotFoundException' ? false : Promise.reject(err)),
  );

function build(dispatcher: EffectRunnerOptions['dispatcher'], over: Partial<EffectRunnerOptions> = {}) {
  const { clients, config } = stack;
  const engine = new EscalationEngine(oncall, { maxAlarmAgeMs: 3600_000 });
  health = new DependencyHealth({ now: () => clock });
  const effects = new EffectRunner({
    engine,
    oncall,
    ledger: new DispatchLedger(clients.dynamodb, config.LEDGER_TABLE),
    dispatcher,
    producer: { putStreamRecords: async (rs) => stream.push(...rs) },
    deadlines: new EventBridgeDeadlines({
      client,
      groupName: GROUP,
      streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/degrade',
      roleArn: 'arn:aws:iam::000000000000:role/scheduler',
      timeoutMs: 2000,
    }),
    ackCodes: { allocate: async () => 'ABC234', addRecipients: async () => undefined },
    ackLink: () => 'https://alerts.example.com/ack',
    sendBudgetMs: 5000,
    maxSendMs: 2000,
    health,
    now: () => clock,
    ...over,
  });
  handler = createPagingHandler({
    store: new IncidentStore({ dynamodb: clients.dynamodb, table: config.INCIDENTS_TABLE }),
    engine,
    effects,
    now: () => clock,
  });
}

/** A provider that takes every page. */
const accepting = {
  async send(req: PageRequest): Promise<PageResult> {
    reached.push(req);
    return { ok: true, messageId: `SM${String(reached.length).padStart(32, '0')}`, provider: 'twilio' };
  },
  async find() {
    return undefined;
  },
};

beforeAll(async () => {
  stack = await startLocalStack({ shards: 1 });
  schedulerPort = await freePort();
  schedulerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagetrail-degrade-'));
  await startScheduler();
  client = schedulerClient({ AWS_REGION: 'us-east-1', SCHEDULER_ENDPOINT: `http://127.0.0.1:${schedulerPort}` });
  await client.send(new CreateScheduleGroupCommand({ Name: GROUP }));
});
afterAll(async () => {
  await stopScheduler();
  client?.destroy();
  fs.rmSync(schedulerDir, { recursive: true, force: true });
  await stack?.stop();
});
beforeEach(async () => {
  t0 += DAY; // own incidents, ledger steps and schedule names per test
  clock = t0 + 1000;
  stream = new TestStream(() => clock);
  delivered = 0;
  reached = [];
  if (!emulator) await startScheduler();
});

describe('a Scheduler outage delays only deadlines', () => {
  it('first pages go out in the same invocation; the deadline is created once the Scheduler is back', async () => {
    build(accepting);
    await stopScheduler();
    stream.push(alarm(BILLING), alarm(REPORTS));
    expect((await step()).batchItemFailures).toEqual([]); // no failed batch: nothing waits for a retry
    expect(pages().sort()).toEqual(['bob:email@L1', 'bob:sms@L1', 'erin:email@L1']);
    expect(health.get('scheduler')?.reason).toMatch(/^scheduler unreachable: ECONNREFUSED/);
    expect(deadlines('level')).toEqual([]); // not due: kept in the outbox
    expect(deadlines('settle')).toHaveLength(2); // one wake-up per incident

    // still down: every record succeeds, each incident has one wake-up on its way (never two)
    clock += 1000;
    expect((await step()).batchItemFailures).toEqual([]);
    expect(deadlines('settle')).toHaveLength(4);
    expect(health.status()).toMatchObject({ status: 'degraded', reasons: [expect.stringMatching(/ECONNREFUSED/)] });

    // a new incident during the outage pages at once too
    clock += 1000;
    stream.push(alarm(ORDERS));
    expect((await step()).batchItemFailures).toEqual([]);
    expect(pages()).toContain('alice:sms@L1');

    await startScheduler();
    clock += 4000; // past the backoff; before the 8 s deadline
    expect((await step()).batchItemFailures).toEqual([]);
    const billing = (await handlerState(BILLING)).outbox;
    expect(billing).toEqual([]);
    const name = (await lastSchedule(BILLING))!;
    expect(await scheduleExists(name)).toBe(true);
    expect(health.get('scheduler')).toBeUndefined();
    expect(health.status().status).toBe('ok');
    // the wake-ups stop: what they bring back puts nothing new
    clock += 1000;
    await step();
    const settled = stream.records.length;
    clock += 1000;
    await step();
    expect(stream.records.length).toBe(settled);
    expect(deadlines('level')).toEqual([]); // created on the Scheduler, not put on the stream
  });

  it('a deadline due during the outage is put on the stream at once, late; the escalation happens', async () => {
    build(accepting);
    await stopScheduler();
    stream.push(alarm(BILLING));
    expect((await step()).batchItemFailures).toEqual([]);
    expect(pages().sort()).toEqual(['bob:email@L1', 'bob:sms@L1']);

    // the Scheduler comes back 3 s after the level's deadline (the wake-up is read only then)
    const due = (await handlerState(BILLING)).deadlineAt;
    clock = due + 3000;
    await startScheduler();
    expect((await step()).batchItemFailures).toEqual([]);
    const [deadline] = deadlines('level');
    expect(deadline).toMatchObject({ purpose: 'level', level: 1, late_ms: 3000 });
    expect(Date.parse(deadline.event_time as string)).toBe(due);

    expect((await step()).batchItemFailures).toEqual([]); // the deadline record read back: escalate
    expect(pages().sort()).toEqual(['bob:email@L1', 'bob:sms@L1', 'carol:sms@L2', 'carol:whatsapp@L2']);
    expect(stream.kinds('escalation').map((r) => (r as { reason: string }).reason)).toEqual(['deadline']);
    // level 2's deadline goes to the Scheduler, which is back
    expect(await scheduleExists((await lastSchedule(BILLING))!)).toBe(true);
  });

  it('the escalation is on time while the Scheduler stays down (the wake-ups put the due deadline)', async () => {
    build(accepting);
    await stopScheduler();
    stream.push(alarm(BILLING));
    await step();
    const due = (await handlerState(BILLING)).deadlineAt;
    for (let i = 0; i < 20 && deadlines('level').length === 0; i++) {
      clock += 1000;
      expect((await step()).batchItemFailures).toEqual([]);
    }
    const [deadline] = deadlines('level');
    expect(Date.parse(deadline.event_time as string)).toBe(due);
    expect(clock - due).toBeLessThanOrEqual(1000);
    await step();
    expect(pages()).toContain('carol:whatsapp@L2');
    expect(health.get('scheduler')).toBeDefined(); // still down: still said
  });
});

describe('the Scheduler hanging, an incident acknowledged while its deadline waits', () => {
  it('a Scheduler that never answers costs the handler the schedule budget, not the page', async () => {
    build(accepting, { scheduleBudgetMs: 200 });
    await stopScheduler();
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => void sockets.push(socket)); // accepts, never answers
    await new Promise<void>((r) => silent.listen(schedulerPort, '127.0.0.1', r));
    try {
      stream.push(alarm(BILLING));
      const started = performance.now();
      expect((await step()).batchItemFailures).toEqual([]);
      expect(performance.now() - started).toBeLessThan(1500); // the SDK's own timeout is 2 s
      expect(pages().sort()).toEqual(['bob:email@L1', 'bob:sms@L1']);
      expect(health.get('scheduler')?.reason).toBe('scheduler hanging: no answer within 200 ms');
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('an ack drops the waiting deadline: the wake-ups end', async () => {
    build(accepting);
    await stopScheduler();
    stream.push(alarm(BILLING));
    await step();
    const state = await handlerState(BILLING);
    stream.push({
      v: 1,
      kind: 'ack',
      event_id: eventId('ack', state.incidentId),
      incident_id: state.incidentId,
      alarm_arn: state.alarmArn,
      event_time: new Date(clock).toISOString(),
      channel: 'sms',
      via: 'sms_reply',
      person: 'bob',
    });
    clock += 1000;
    expect((await step()).batchItemFailures).toEqual([]);
    expect((await handlerState(BILLING)).outbox).toEqual([]);
    clock += 1000;
    await step();
    const settled = stream.records.length;
    clock += 1000;
    await step();
    expect(stream.records.length).toBe(settled); // nothing more on the stream for it
    expect(deadlines('level')).toEqual([]);
  });
});

/** The incident's stored state. */
async function handlerState(story: (typeof DEMO_STORIES)[number]) {
  const store = new IncidentStore({ dynamodb: stack.clients.dynamodb, table: stack.config.INCIDENTS_TABLE });
  const { demoIncidentId } = await import('../../infra/local/demo-alarms.js');
  return (await store.get(demoIncidentId(story, t0)))!.state;
}

/** The schedule name of the incident's current level deadline. */
async function lastSchedule(story: (typeof DEMO_STORIES)[number]): Promise<string | undefined> {
  const { deadlineScheduleName } = await import('../../processors/paging/deadlines.js');
  const s = await handlerState(story);
  return deadlineScheduleName(`${s.incidentId}|r${s.round}|L${s.level}`);
}

describe('a provider that hangs or refuses shows on /healthz until it answers', () => {
  type Mode = 'ok' | 'hang' | 'refuse';
  let twilioMode: Mode;
  let resendMode: Mode;
  let server: http.Server;
  let base: string;
  const held: http.ServerResponse[] = [];
  let n = 0;

  const serve: http.RequestListener = (req, res) => {
    const mode = req.url?.startsWith('/emails') ? resendMode : twilioMode;
    req.resume();
    if (mode === 'hang') return void held.push(res);
    if (mode === 'refuse') {
      // what each API answers when it is unavailable
      const body = req.url?.startsWith('/emails')
        ? { statusCode: 503, name: 'internal_server_error', message: 'Service Unavailable' }
        : { code: 20503, message: 'Service Unavailable', status: 503 };
      return void res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    }
    n++;
    if (req.url?.startsWith('/emails'))
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: `em-${n}` }));
    res
      .writeHead(201, { 'content-type': 'application/json' })
      .end(JSON.stringify({ sid: `SM${String(n).padStart(32, '0')}`, status: 'queued' }));
  };
  const listen = (srv: http.Server, port = 0) => new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
  const close = (srv: http.Server) => {
    srv.closeAllConnections();
    return new Promise((r) => srv.close(r));
  };

  beforeAll(async () => {
    server = http.createServer(serve);
    await listen(server);
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // the SDKs load their modules on first use: once here, so a level's pages going out together (the SMS
    // beside the email) never put one SDK's cold start on the other's send budget
    twilioMode = 'ok';
    resendMode = 'ok';
    const warm = twilioClient({ accountSid: `AC${'0'.repeat(32)}`, authToken: 'token', apiBaseUrl: base });
    await warm.messages.create({ to: '+15550000000', from: '+15550000001', body: 'warm-up' });
    await resendClient({ apiKey: 're_test', baseUrl: base }).emails.send({
      from: 'a@example.com',
      to: 'b@example.com',
      subject: 'warm-up',
      text: 'warm-up',
    });
  });
  afterAll(async () => {
    for (const res of held) res.destroy();
    await close(server);
  });
  afterEach(() => {
    for (const res of held.splice(0)) res.destroy();
  });

  function buildReal(twilioBase = base) {
    const dispatcher = new Dispatcher({
      twilio: twilioClient({
        accountSid: `AC${'0'.repeat(32)}`,
        authToken: 'token',
        apiBaseUrl: twilioBase,
        timeoutMs: 1500,
      }),
      resend: resendClient({ apiKey: 're_test', baseUrl: base, timeoutMs: 300 }),
      oncall,
      publicBaseUrl: 'https://alerts.example.com',
      maxAttempts: 1,
      timeoutMs: 1500,
      findTimeoutMs: 1500,
      budgetMs: 3000,
    });
    const spy = {
      send: (req: PageRequest) => (reached.push(req), dispatcher.send(req)),
      find: (req: PageRequest, since: number) => dispatcher.find(req, since),
    };
    // a budget wide enough that a loaded machine never makes the answered email look hung
    build(spy, { sendBudgetMs: 600 });
  }

  /** GET /healthz of a health server composed as paging's main.ts composes it. */
  async function healthz(): Promise<{ code: number; body: { status: string; reasons: string[] } }> {
    const mapping = { status: 'ok' as const, reasons: [], shards: {}, invocations: 0 };
    const srv = await startHealthServer(0, () => {
      const s = withDependencies(mapping, health);
      return { ...s, healthy: s.status !== 'degraded' };
    });
    try {
      const res = await fetch(`http://127.0.0.1:${(srv.address() as AddressInfo).port}/healthz`);
      return { code: res.status, body: (await res.json()) as { status: string; reasons: string[] } };
    } finally {
      await new Promise((r) => srv.close(r));
    }
  }

  it('a hung provider: degraded with "hanging", cleared by the next answered send', async () => {
    twilioMode = 'hang';
    resendMode = 'ok';
    buildReal();
    stream.push(alarm(BILLING));
    expect((await step()).batchItemFailures).toEqual([]);
    const h = await healthz();
    expect(h.code).toBe(503);
    expect(h.body.status).toBe('degraded');
    expect(h.body.reasons).toEqual(['twilio hanging: a send took over the 600 ms send budget']);
    expect(health.get('resend')).toBeUndefined(); // the email went out

    twilioMode = 'ok';
    clock += 1000;
    stream.push(alarm(ORDERS)); // alice by sms: answered
    await step();
    expect(health.get('twilio')).toBeUndefined();
    expect((await healthz()).code).toBe(200);
  });

  it('a refusing provider (503, connection refused): degraded with "refusing", cleared by recovery', async () => {
    twilioMode = 'ok';
    resendMode = 'refuse';
    const closed = await freePort(); // nothing listens: ECONNREFUSED
    buildReal(`http://127.0.0.1:${closed}`);
    stream.push(alarm(BILLING));
    expect((await step()).batchItemFailures).toEqual([]);
    const h = await healthz();
    expect(h.code).toBe(503);
    expect(h.body.reasons.sort()).toEqual(['resend refusing: 503', 'twilio refusing: ECONNREFUSED']);
    expect(health.status().failures).toMatchObject({ twilio: expect.any(Number), resend: expect.any(Number) });

    // both answer again (Twilio listens on its port): the next pages clear them
    resendMode = 'ok';
    const twilio = http.createServer(serve);
    await listen(twilio, closed);
    try {
      clock += 1000;
      stream.push(alarm(ORDERS)); // alice by sms and email
      expect((await step()).batchItemFailures).toEqual([]);
      expect(health.status()).toMatchObject({ status: 'ok', reasons: [] });
      expect((await healthz()).code).toBe(200);
    } finally {
      await close(twilio);
    }
  });
});
