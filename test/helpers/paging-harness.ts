import type { LocalStack } from './local-stack.js';
import type { TestStream } from './test-stream.js';
import { DispatchLedger } from '../../processors/paging/ledger.js';
import { IncidentStore } from '../../processors/paging/incident-store.js';
import { EscalationEngine } from '../../processors/paging/escalation.js';
import { EffectRunner, type EffectRunnerOptions } from '../../processors/paging/effects.js';
import { createPagingHandler, type PagingHandlerOptions } from '../../processors/paging/handler.js';
import type { DeadlineRequest, DeadlineScheduler } from '../../processors/paging/deadlines.js';
import type { PageRequest, PageResult } from '../../processors/paging/dispatcher.js';
import type { KinesisBatchHandler } from '../../processors/runtime/kinesis-event.js';
import type { OnCallConfig } from '../../schemas/oncall/config.js';
import type { StreamRecordIn } from '../../schemas/envelope.js';

export interface PagingHarness {
  handler: KinesisBatchHandler;
  store: IncidentStore;
  engine: EscalationEngine;
  /** Every page the provider took, in order. */
  reached: PageRequest[];
  /** Every deadline the Scheduler was asked for (with the default scheduler). */
  scheduled: DeadlineRequest[];
  /** What the engine puts on the stream (the stream's push, unless `producer` was given). */
  producer: { putStreamRecords(records: readonly StreamRecordIn[]): Promise<void> };
}

/**
 * The real paging handler on the local stack's DynamoDB, with fakes where a provider or AWS would answer: a
 * provider that takes every page (message ids SM…1, SM…2; Resend for email, Twilio otherwise), a Scheduler that
 * keeps what it is asked, ack codes `ABC234`. Records the engine writes go to `stream`; time is `now`.
 */
export function pagingHarness(o: {
  stack: LocalStack;
  oncall: OnCallConfig;
  stream: TestStream;
  now: () => number;
  scheduler?: DeadlineScheduler;
  producer?: PagingHarness['producer'];
  heartbeats?: PagingHandlerOptions['heartbeats'];
  effects?: Partial<EffectRunnerOptions>;
}): PagingHarness {
  const reached: PageRequest[] = [];
  const scheduled: DeadlineRequest[] = [];
  const engine = new EscalationEngine(o.oncall, { maxAlarmAgeMs: 3600_000 });
  const producer = o.producer ?? { putStreamRecords: async (rs) => void o.stream.push(...rs) };
  const effects = new EffectRunner({
    engine,
    oncall: o.oncall,
    ledger: new DispatchLedger(o.stack.clients.dynamodb, o.stack.config.LEDGER_TABLE),
    dispatcher: {
      send: async (req: PageRequest): Promise<PageResult> => {
        reached.push(req);
        return {
          ok: true,
          messageId: `SM${String(reached.length).padStart(32, '0')}`,
          provider: req.channel === 'email' ? 'resend' : 'twilio',
        };
      },
      find: async () => undefined,
    },
    producer,
    deadlines: o.scheduler ?? {
      schedule: async (r: DeadlineRequest) => {
        scheduled.push(r);
        return 'created' as const;
      },
      cancel: async () => undefined,
    },
    ackCodes: { allocate: async () => 'ABC234', addRecipients: async () => undefined },
    ackLink: () => 'https://alerts.example.com/ack',
    sendBudgetMs: 5000,
    maxSendMs: 2000,
    now: o.now,
    ...o.effects,
  });
  const store = new IncidentStore({ dynamodb: o.stack.clients.dynamodb, table: o.stack.config.INCIDENTS_TABLE });
  const handler = createPagingHandler({ store, engine, effects, heartbeats: o.heartbeats, now: o.now });
  return { handler, store, engine, reached, scheduled, producer };
}

/**
 * A Scheduler that keeps the schedules it is asked for (by name: asked twice, made once) until `due` hands over those
 * whose time has come at `now` and forgets them (ActionAfterCompletion DELETE).
 */
export class KeepingScheduler implements DeadlineScheduler {
  readonly schedules = new Map<string, DeadlineRequest>();
  constructor(private readonly now: () => number) {}
  async schedule(req: DeadlineRequest) {
    if (this.schedules.has(req.name)) return 'exists' as const;
    this.schedules.set(req.name, req);
    return 'created' as const;
  }
  async cancel(name: string) {
    this.schedules.delete(name);
  }
  /** The records of the schedules due now, removed. */
  due(): StreamRecordIn[] {
    const out: StreamRecordIn[] = [];
    for (const [name, s] of this.schedules) {
      if (s.at > this.now()) continue;
      out.push(s.record);
      this.schedules.delete(name);
    }
    return out;
  }
}
