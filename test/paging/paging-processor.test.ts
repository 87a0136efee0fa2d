import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { KinesisProducer } from '../../producers/kinesis-producer.js';
import { CheckpointStore } from '../../processors/consumer/checkpoint-store.js';
import { DispatchLedger } from '../../processors/paging/ledger.js';
import { loadOnCallConfig } from '../../processors/paging/oncall-config.js';
import { PagingProcessor } from '../../processors/paging/paging-processor.js';
import type { PageRequest, PageResult } from '../../processors/paging/dispatcher.js';
import { ProviderError } from '../../processors/paging/errors.js';
import { StreamRecord, type StreamRecordIn } from '../../schemas/envelope.js';
import { eventId } from '../../schemas/ids.js';
import { DEMO_STORIES, demoAlarmArn, demoAlarmEvent, demoIncidentId } from '../../infra/local/demo-alarms.js';

/**
 * The paging processor on the real engines with a fake provider and a driven clock: pages at once,
 * escalates at the deadline, stops on an ack, resumes after a restart from its checkpoint without
 * paging again, and never resends a step whose send crashed.
 */
let stack: LocalStack;
let producer: KinesisProducer;
let clock = 0;
const sent: PageRequest[] = [];
let failNext: ((req: PageRequest) => PageResult | 'crash' | undefined) | undefined;

const oncall = loadOnCallConfig('infra/local/oncall/demo.json');
const BILLING = DEMO_STORIES[1]; // db team P1: bob (sms, email; 8 s, stop_on opened) → carol (whatsapp, sms)

function processor() {
  const { clients, config } = stack;
  return new PagingProcessor({
    kinesis: clients.kinesis,
    streamName: config.STREAM_NAME,
    checkpoints: new CheckpointStore({ dynamodb: clients.dynamodb, table: config.CHECKPOINT_TABLE }),
    producer,
    ledger: new DispatchLedger(clients.dynamodb, config.LEDGER_TABLE),
    dispatcher: {
      send: async (req: PageRequest): Promise<PageResult> => {
        const f = failNext?.(req);
        if (f === 'crash') throw new Error('simulated crash mid-send');
        if (f) return f;
        sent.push(req);
        return { ok: true, messageId: `SM${String(sent.length).padStart(32, '0')}`, provider: req.channel === 'email' ? 'resend' : 'twilio' };
      },
    },
    ackCodes: { register: async () => undefined },
    ackLink: () => 'https://alerts.example.com/ack',
    oncall,
    tickMs: 3_600_000, // the test drives tick() itself
    now: () => clock,
  });
}

const pages = () => sent.map((r) => `${r.content.personName.split(' ')[0].toLowerCase()}:${r.channel}@L${r.content.level}`);
const until = async (cond: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
};

beforeAll(async () => {
  stack = await startLocalStack({ shards: 1 });
  producer = new KinesisProducer({ kinesis: stack.clients.kinesis, streamName: stack.config.STREAM_NAME });
});
afterAll(async () => stack?.stop());

describe('PagingProcessor', () => {
  const t0 = Date.parse('2026-11-28T10:00:00.000Z');
  const incident = demoIncidentId(BILLING, t0);
  const put = (r: StreamRecordIn) => producer.putStreamRecords([r]);

  it('pages level 1, escalates at the deadline, stops on an ack; a restart pages nobody again', async () => {
    clock = t0 + 1000;
    let p = processor();
    let run = p.run();
    await put({ v: 1, kind: 'alarm', severity: 'P1', event: demoAlarmEvent(BILLING, 'ALARM', t0, t0) });
    await until(() => sent.length === 2);
    expect(pages()).toEqual(['bob:sms@L1', 'bob:email@L1']);
    expect(sent[0]).toMatchObject({ incidentId: incident, alarmArn: demoAlarmArn(BILLING.alarmName), dispatchId: eventId('dispatch', `${incident}|L1|bob|sms`) });

    clock = t0 + 1000 + 7_999;
    await p.tick();
    expect(sent).toHaveLength(2); // not yet
    clock = t0 + 1000 + 8_000;
    await p.tick();
    await until(() => sent.length === 4);
    expect(pages().slice(2)).toEqual(['carol:whatsapp@L2', 'carol:sms@L2']);

    // Restart between the escalation and the ack: the state comes back from the checkpoint.
    await p.stop();
    await run;
    p = processor();
    run = p.run();
    await until(() => p.incidents().length === 1);
    expect(p.incidents()[0]).toMatchObject({ incidentId: incident, level: 2 });

    await put({ v: 1, kind: 'ack', event_id: eventId('ack', 'test', incident), incident_id: incident, alarm_arn: demoAlarmArn(BILLING.alarmName), event_time: new Date(clock).toISOString(), channel: 'whatsapp', via: 'whatsapp_reply', person: 'carol' });
    await until(() => p.incidents()[0]?.ackedAt !== undefined);
    clock += 3600_000;
    await p.tick();
    expect(sent).toHaveLength(4);
    await p.stop();
    await run;
  });

  it('records a refused page as a failed dispatch and fails over at once', async () => {
    const story = DEMO_STORIES[3]; // db team P3: erin email → failover sms
    const t1 = t0 + 60_000;
    clock = t1 + 500;
    failNext = (req) => (req.channel === 'email' ? { ok: false, provider: 'resend', error: new ProviderError('resend', 'validation_error', 422, false, 'invalid to') } : undefined);
    const before = sent.length;
    const p = processor();
    const run = p.run();
    await put({ v: 1, kind: 'alarm', severity: 'P3', event: demoAlarmEvent(story, 'ALARM', t1, t1) });
    await until(() => sent.length === before + 1);
    expect(pages().slice(before)).toEqual(['erin:sms@L1']);
    await p.stop();
    await run;
    failNext = undefined;
    // The failed dispatch and the failover are on the stream, for the lake.
    const kinds = await streamKinds(demoIncidentId(story, t1));
    expect(kinds).toEqual(expect.arrayContaining(['dispatch:failed', 'escalation:failover', 'dispatch:sent']));
  });

  it('never resends a step whose send crashed (at most once); the deadline covers it', async () => {
    const story = DEMO_STORIES[0]; // app team P1: alice sms + email
    const t2 = t0 + 120_000;
    clock = t2 + 500;
    failNext = (req) => (req.channel === 'sms' ? 'crash' : undefined);
    const p = processor();
    const run = p.run();
    await put({ v: 1, kind: 'alarm', severity: 'P1', event: demoAlarmEvent(story, 'ALARM', t2, t2) });
    await expect(run).rejects.toThrow(/simulated crash/);
    failNext = undefined;
    const before = sent.length;
    const again = processor(); // resumes before the alarm: the sms step is claimed, not completed
    const run2 = again.run();
    await until(() => again.incidents().some((s) => s.incidentId === demoIncidentId(story, t2)));
    await until(() => sent.length > before);
    await new Promise((r) => setTimeout(r, 300));
    expect(pages().slice(before)).toEqual(['alice:email@L1']);
    await again.stop();
    await run2;
  });
});

async function streamKinds(incidentId: string): Promise<string[]> {
  const { GetShardIteratorCommand, GetRecordsCommand, ListShardsCommand } = await import('@aws-sdk/client-kinesis');
  const { kinesis } = stack.clients;
  const shards = await kinesis.send(new ListShardsCommand({ StreamName: stack.config.STREAM_NAME }));
  const out: string[] = [];
  for (const s of shards.Shards ?? []) {
    let it = (await kinesis.send(new GetShardIteratorCommand({ StreamName: stack.config.STREAM_NAME, ShardId: s.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    for (let i = 0; i < 5 && it; i++) {
      const res = await kinesis.send(new GetRecordsCommand({ ShardIterator: it }));
      for (const r of res.Records ?? []) {
        const rec = StreamRecord.parse(JSON.parse(new TextDecoder().decode(r.Data)));
        if (rec.incident_id !== incidentId) continue;
        out.push(rec.kind === 'dispatch' ? `dispatch:${rec.outcome}` : rec.kind === 'escalation' ? `escalation:${rec.reason}` : rec.kind);
      }
      if ((res.Records ?? []).length === 0) break;
      it = res.NextShardIterator;
    }
  }
  return out;
}
