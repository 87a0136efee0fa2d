import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MiddlewareStack } from '@smithy/types';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { TestStream } from '../helpers/test-stream.js';
import { AckCodes, ackCodeFor } from '../../shared/ack-codes.js';
import { DispatchLedger } from '../../processors/paging/ledger.js';
import { IncidentStore } from '../../processors/paging/incident-store.js';
import { EscalationEngine } from '../../processors/paging/escalation.js';
import { EffectRunner } from '../../processors/paging/effects.js';
import { createPagingHandler } from '../../processors/paging/handler.js';
import type { DeadlineScheduler } from '../../processors/paging/deadlines.js';
import type { PageRequest, PageResult } from '../../processors/paging/dispatcher.js';
import type { KinesisBatchHandler } from '../../processors/runtime/kinesis-event.js';
import type { StreamRecordIn } from '../../schemas/envelope.js';
import { loadOnCallConfig } from '../../schemas/oncall/config.js';
import { DEMO_STORIES, demoAlarmEvent, demoIncidentId } from '../../infra/local/demo-alarms.js';

/**
 * One write before a page (issue 19 item 1): a new alarm's first pages wait for two DynamoDB round
 * trips — the reads (incident item and alarm pointer, together) and one write round trip (the decision
 * with its pages' claims, and the ack code beside it) — and the pages of one level go out together.
 * Counted, not timed: a middleware on the SDK client gives every request its sequential depth (1 + the
 * deepest request that had ended when it started); the provider takes a snapshot at its first send.
 */
let stack: LocalStack;
// the default flapping window (the demo's file turns it off): a new alarm reads its pointer too
const oncall = { ...loadOnCallConfig('infra/local/oncall/demo.json'), flapping: { window_s: 300 } };
const BILLING = DEMO_STORIES[1]; // db P1: bob (sms, email) at level 1
const T0 = Date.parse('2026-11-28T10:00:00.000Z');
let t0 = T0;
let clock = 0;

/** Every DynamoDB request the client sends, with its sequential depth. */
const requests: { command: string; depth: number }[] = [];
let deepestEnded = 0;

/** The requests made before the first send, and their sequential depth (round trips). */
let beforeFirstSend: { requests: string[]; roundTrips: number } | undefined;

class CountingProvider {
  reached: PageRequest[] = [];
  inFlight = 0;
  maxInFlight = 0;
  /** Sends wait until this many are in flight (or a second passes: the test then fails on maxInFlight). */
  together = 1;
  private waiters: (() => void)[] = [];
  async send(req: PageRequest): Promise<PageResult> {
    beforeFirstSend ??= {
      requests: requests.map((r) => `${r.command}@${r.depth}`),
      roundTrips: Math.max(0, ...requests.map((r) => r.depth)),
    };
    this.reached.push(req);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    if (this.inFlight >= this.together) for (const w of this.waiters.splice(0)) w();
    else {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.waiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
    this.inFlight--;
    const provider = req.channel === 'email' ? 'resend' : 'twilio';
    return { ok: true, messageId: `SM${String(this.reached.length).padStart(32, '0')}`, provider };
  }
  async find(): Promise<string | undefined> {
    return undefined;
  }
}

const scheduler: DeadlineScheduler = {
  schedule: async () => {
    schedules++;
    return 'created' as const;
  },
  cancel: async () => undefined,
};

class FlakyStore extends IncidentStore {
  override async put(...args: Parameters<IncidentStore['put']>): Promise<number> {
    if (failNextPut) {
      failNextPut = false;
      throw Object.assign(new Error('unreachable'), { name: 'TimeoutError' });
    }
    return super.put(...args);
  }
}

let provider: CountingProvider;
let stream: TestStream;
let handler: KinesisBatchHandler;
/** The stream writes (records per PutRecords) and Scheduler calls the handler made. */
let puts: number[] = [];
let schedules = 0;
/** Makes the incident store's next `put` fail (a throttled or unreachable DynamoDB). */
let failNextPut = false;

beforeAll(async () => {
  stack = await startLocalStack({ shards: 1 });
  (stack.clients.dynamodb.middlewareStack as MiddlewareStack<object, object>).add(
    (next, context) => async (args) => {
      const entry = { command: String((context as { commandName?: string }).commandName), depth: deepestEnded + 1 };
      requests.push(entry);
      try {
        return await next(args);
      } finally {
        deepestEnded = Math.max(deepestEnded, entry.depth);
      }
    },
    { step: 'initialize', name: 'countRoundTrips' },
  );
});
afterAll(async () => stack?.stop());
beforeEach(() => {
  t0 += 86_400_000; // a new incident per test
  clock = t0 + 1000;
  provider = new CountingProvider();
  stream = new TestStream(() => clock);
  const { clients, config } = stack;
  const engine = new EscalationEngine(oncall, { maxAlarmAgeMs: 3600_000 });
  const effects = new EffectRunner({
    engine,
    oncall,
    ledger: new DispatchLedger(clients.dynamodb, config.LEDGER_TABLE),
    dispatcher: provider,
    producer: {
      putStreamRecords: async (rs) => {
        puts.push(rs.length);
        stream.push(...rs);
      },
    },
    deadlines: scheduler,
    ackCodes: new AckCodes({ dynamodb: clients.dynamodb, table: config.LEDGER_TABLE, now: () => clock }),
    ackLink: () => 'https://alerts.example.com/ack',
    sendBudgetMs: 5000,
    maxSendMs: 2000,
    now: () => clock,
  });
  handler = createPagingHandler({
    store: new FlakyStore({ dynamodb: clients.dynamodb, table: config.INCIDENTS_TABLE }),
    engine,
    effects,
    now: () => clock,
  });
  requests.length = 0;
  deepestEnded = 0;
  puts = [];
  schedules = 0;
  failNextPut = false;
  beforeFirstSend = undefined;
});

const alarm = () =>
  ({
    v: 1,
    kind: 'alarm',
    severity: BILLING.severity,
    event: demoAlarmEvent(BILLING, 'ALARM', t0, t0),
  }) as StreamRecordIn;

describe('a new alarm: one write before its first page', () => {
  it('waits for at most 2 sequential DynamoDB round trips before the first send', async () => {
    stream.push(alarm());
    expect((await handler(stream.event(stream.records))).batchItemFailures).toEqual([]);
    expect(provider.reached.map((r) => r.channel).sort()).toEqual(['email', 'sms']);
    expect(beforeFirstSend, 'requests before the first send').toBeDefined();
    const { roundTrips, requests: before } = beforeFirstSend!;
    console.info(
      `RESULT first_page_dynamodb_requests=${before.length} round_trips=${roundTrips} (${before.join(' ')})`,
    );
    expect(roundTrips, `requests before the first send: ${before.join(' ')}`).toBeLessThanOrEqual(2);
    // the ack code the SMS carries was claimed in that round trip, with the number it pages
    const incident = demoIncidentId(BILLING, t0);
    const codes = new AckCodes({
      dynamodb: stack.clients.dynamodb,
      table: stack.config.LEDGER_TABLE,
      now: () => clock,
    });
    const sms = provider.reached.find((r) => r.channel === 'sms')!;
    expect(sms.content.ackCode).toBe(ackCodeFor(incident));
    const resolved = await codes.resolve(sms.content.ackCode!);
    expect(resolved).toMatchObject({ incidentId: incident });
    expect(resolved?.recipients).toEqual([{ address: sms.address, person: 'bob' }]);
  });

  it('two invocations race on a new alarm: one write wins, each page goes out once, the code lists it', async () => {
    stream.push(alarm());
    const [a, b] = await Promise.all([handler(stream.event(stream.records)), handler(stream.event(stream.records))]);
    // the loser's decision failed its condition: its record is retried, and finds everything done
    expect([a, b].filter((r) => r.batchItemFailures.length > 0).length).toBeLessThanOrEqual(1);
    expect((await handler(stream.event(stream.records))).batchItemFailures).toEqual([]);
    expect(provider.reached.map((r) => r.channel).sort()).toEqual(['email', 'sms']);
    const sms = provider.reached.find((r) => r.channel === 'sms')!;
    const codes = new AckCodes({
      dynamodb: stack.clients.dynamodb,
      table: stack.config.LEDGER_TABLE,
      now: () => clock,
    });
    const resolved = await codes.resolve(sms.content.ackCode!);
    expect(resolved).toMatchObject({ incidentId: demoIncidentId(BILLING, t0) });
    expect(resolved?.recipients).toContainEqual({ address: sms.address, person: 'bob' });
    expect(new Set(stream.kinds('dispatch').map((d) => (d as { event_id: string }).event_id)).size).toBe(2);
  });

  it('sends the pages of one level together', async () => {
    provider.together = 2;
    stream.push(alarm());
    expect((await handler(stream.event(stream.records))).batchItemFailures).toEqual([]);
    expect(provider.reached).toHaveLength(2);
    expect(provider.maxInFlight).toBe(2);
  });
});

/** The DynamoDB requests since `from` (an index into `requests`), by command. */
const dynamoCalls = (from = 0) => {
  const by: Record<string, number> = {};
  for (const r of requests.slice(from)) by[r.command] = (by[r.command] ?? 0) + 1;
  return by;
};

const receipt = (d: StreamRecordIn, status: 'sent' | 'delivered' | 'opened', at: number): StreamRecordIn => {
  const dispatch = d as Extract<StreamRecordIn, { kind: 'dispatch' }>;
  return {
    v: 1,
    kind: 'receipt',
    event_id: `rcpt_${dispatch.message_id}_${status}`,
    incident_id: dispatch.incident_id,
    alarm_arn: dispatch.alarm_arn,
    event_time: new Date(at).toISOString(),
    provider: dispatch.provider,
    channel: dispatch.channel,
    message_id: dispatch.message_id!,
    dispatch_id: dispatch.event_id,
    status,
    provider_status: status,
  } as StreamRecordIn;
};

describe('fewer calls per record (issue 19 item 2)', () => {
  it('a new alarm paging two people-channels: 9 calls (5 DynamoDB, 1 PutRecords, 1 Scheduler, 2 sends)', async () => {
    stream.push(alarm());
    expect((await handler(stream.event(stream.records))).batchItemFailures).toEqual([]);
    // the reads in one BatchGetItem; the decision, the ack code and the pointer in one round trip; the state after
    // the sends; no ledger write for pages claimed by the decision; both dispatch records in one PutRecords
    expect(dynamoCalls()).toEqual({ BatchGetItemCommand: 1, PutItemCommand: 4 });
    expect(puts).toEqual([2]);
    expect(schedules).toBe(1);
    expect(provider.reached).toHaveLength(2);
  });

  it('its records read back and four receipts in one batch: one read, one write; dispatches cost nothing', async () => {
    stream.push(alarm());
    expect((await handler(stream.event(stream.records))).batchItemFailures).toEqual([]);
    const [sms, email] = stream.kinds('dispatch');
    const from = requests.length;
    clock += 2000;
    const batch = [
      ...stream.records.slice(1),
      receipt(sms, 'sent', clock),
      receipt(email, 'delivered', clock),
      receipt(sms, 'delivered', clock),
      receipt(email, 'opened', clock),
    ];
    expect((await handler(stream.event(batch))).batchItemFailures).toEqual([]);
    expect(dynamoCalls(from)).toEqual({ GetItemCommand: 1, PutItemCommand: 1 });
    const store = new IncidentStore({ dynamodb: stack.clients.dynamodb, table: stack.config.INCIDENTS_TABLE });
    const { state } = (await store.get(demoIncidentId(BILLING, t0)))!;
    expect(
      Object.values(state.pages)
        .map((p) => `${p.channel}:${p.status}`)
        .sort(),
    ).toEqual(['email:opened', 'sms:delivered']);
  });

  it('a put-off write that fails: retried from the first record it held, and then saved', async () => {
    stream.push(alarm());
    expect((await handler(stream.event(stream.records))).batchItemFailures).toEqual([]);
    const [sms, email] = stream.kinds('dispatch');
    clock += 2000;
    failNextPut = true;
    const batch = [receipt(sms, 'delivered', clock), receipt(email, 'delivered', clock)];
    const event = stream.event(batch);
    const first = event.Records[0].kinesis.sequenceNumber;
    expect((await handler(event)).batchItemFailures).toEqual([{ itemIdentifier: first }]);
    expect((await handler(stream.event(batch))).batchItemFailures).toEqual([]);
    const store = new IncidentStore({ dynamodb: stack.clients.dynamodb, table: stack.config.INCIDENTS_TABLE });
    const { state } = (await store.get(demoIncidentId(BILLING, t0)))!;
    expect(Object.values(state.pages).map((p) => p.status)).toEqual(['delivered', 'delivered']);
    expect(provider.reached).toHaveLength(2);
  });
});
