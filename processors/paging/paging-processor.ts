import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { StreamRecord, decodeRecord, type StreamRecordIn } from '../../schemas/envelope.js';
import { eventId } from '../../schemas/ids.js';
import type { Logger } from '../../infra/logger.js';
import { silentLogger } from '../../infra/logger.js';
import type { CheckpointStore } from '../consumer/checkpoint-store.js';
import { StreamConsumer, type ConsumerStart } from '../consumer/stream-consumer.js';
import type { ReadRecord } from '../consumer/shard-reader.js';
import { EscalationEngine, type Action, type EngineOptions, type EscalateAction, type IncidentState, type PageAction } from './escalation.js';
import type { DispatchLedger } from './ledger.js';
import type { Dispatcher } from './dispatcher.js';
import { runbookFor, type OnCallConfig } from './oncall-config.js';
import { ackCodeFor } from './ack-codes.js';

/**
 * The paging processor: reads the stream (its own checkpoint group), runs the escalation policy, and
 * carries out its actions — pages through the official SDKs, escalations — writing every dispatch and
 * escalation onto the stream. Each step is claimed in the dispatch ledger first, so a restart, a
 * re-read of the stream or a replay never pages twice. The open incidents of a shard are saved with
 * its checkpoint, after the batch's actions are durable.
 */
export interface PagingProcessorOptions {
  kinesis: KinesisClient;
  streamName: string;
  checkpoints: CheckpointStore;
  /** Checkpoint group. Default 'paging'. */
  group?: string;
  producer: { putStreamRecords(records: readonly StreamRecordIn[]): Promise<unknown> };
  ledger: Pick<DispatchLedger, 'claim' | 'complete'>;
  dispatcher: Pick<Dispatcher, 'send'>;
  ackCodes: { register(code: string, ref: { incidentId: string; alarmArn: string; expiresAt: number }): Promise<unknown> };
  /** The signed acknowledge link for a person's email. */
  ackLink: (ref: { incidentId: string; alarmArn: string; person: string }) => string;
  oncall: OnCallConfig;
  engine?: EngineOptions;
  /** How often deadlines are checked. Default 1000 ms. */
  tickMs?: number;
  /** Where a shard without a checkpoint starts. Default TRIM_HORIZON (old alarms are not paged: engine.maxAlarmAgeMs). */
  initialPosition?: 'TRIM_HORIZON' | 'LATEST';
  /** Open incidents are forgotten this long after they were acked or resolved. Default 1 h. */
  retainClosedMs?: number;
  now?: () => number;
  logger?: Logger;
}

interface ShardPaging {
  states: Map<string, IncidentState>;
  version: number;
  lastSeq?: string;
  chain: Promise<void>;
}

export class PagingProcessor {
  private readonly engine: EscalationEngine;
  private readonly shards = new Map<string, ShardPaging>();
  private readonly registered = new Set<string>();
  private readonly log: Logger;
  private readonly group: string;
  private readonly now: () => number;
  private consumer?: StreamConsumer;
  private timer?: NodeJS.Timeout;
  private failure?: unknown;

  constructor(private readonly opts: PagingProcessorOptions) {
    this.engine = new EscalationEngine(opts.oncall, opts.engine);
    this.log = opts.logger ?? silentLogger;
    this.group = opts.group ?? 'paging';
    this.now = opts.now ?? Date.now;
  }

  async run(): Promise<void> {
    this.consumer = new StreamConsumer({
      kinesis: this.opts.kinesis,
      streamName: this.opts.streamName,
      logger: this.log,
      startFor: (shardId) => this.startFor(shardId),
      reader: { idleDelayMs: 250 },
      handler: { onRecords: (shardId, records) => this.serial(shardId, () => this.onRecords(shardId, records)) },
    });
    this.timer = setInterval(() => void this.tick(), this.opts.tickMs ?? 1000);
    try {
      await this.consumer.run();
    } finally {
      clearInterval(this.timer);
    }
    if (this.failure) throw this.failure;
  }

  /** Stops reading and ticking; waits for in-flight actions and checkpoints. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.consumer?.stop();
    await Promise.all([...this.shards.values()].map((s) => s.chain));
  }

  /** Open incidents (for status and tests). */
  incidents(): IncidentState[] {
    return [...this.shards.values()].flatMap((s) => [...s.states.values()]);
  }

  /** Runs the deadline check now (the timer calls it every tickMs). */
  async tick(): Promise<void> {
    await Promise.all(
      [...this.shards.keys()].map((shardId) =>
        this.serial(shardId, async () => {
          const shard = this.shards.get(shardId)!;
          const actions = this.engine.onTick(shard.states, this.now());
          if (actions.length === 0) return;
          await this.execute(shard, actions);
          await this.checkpoint(shardId, shard);
        }),
      ),
    );
  }

  private serial(shardId: string, fn: () => Promise<void>): Promise<void> {
    const shard = this.shards.get(shardId);
    if (!shard) return fn();
    const next = shard.chain.then(fn);
    shard.chain = next.catch((err) => {
      this.failure ??= err;
      this.log.error({ err, shardId }, 'paging step failed; stopping (the next start resumes from the checkpoint, the ledger prevents double pages)');
      void this.consumer?.stop();
    });
    return next;
  }

  private async startFor(shardId: string): Promise<ConsumerStart> {
    const cp = await this.opts.checkpoints.get(this.group, shardId);
    const saved = (cp?.data as { incidents?: IncidentState[] } | undefined)?.incidents ?? [];
    this.shards.set(shardId, { states: new Map(saved.map((s) => [s.incidentId, s])), version: cp?.version ?? 0, lastSeq: cp?.sequenceNumber, chain: Promise.resolve() });
    this.log.info({ shardId, checkpoint: cp?.sequenceNumber, openIncidents: saved.length }, 'paging shard start');
    if (cp?.ended) return { type: 'SHARD_END' };
    if (cp?.sequenceNumber) return { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: cp.sequenceNumber };
    return this.opts.initialPosition === 'LATEST' ? { type: 'LATEST' } : { type: 'TRIM_HORIZON' };
  }

  private async onRecords(shardId: string, records: readonly ReadRecord[]): Promise<void> {
    const shard = this.shards.get(shardId)!;
    for (const raw of records) {
      let record: StreamRecord;
      try {
        record = decodeRecord(raw.data);
      } catch (err) {
        this.log.warn({ shardId, sequenceNumber: raw.sequenceNumber, reason: (err as Error).message }, 'skipping an invalid record (the lake keeps it under the error prefix)');
        continue;
      }
      await this.execute(shard, this.engine.onRecord(shard.states, record, this.now()));
      shard.lastSeq = raw.sequenceNumber;
    }
    await this.checkpoint(shardId, shard);
  }

  private async checkpoint(shardId: string, shard: ShardPaging): Promise<void> {
    const now = this.now();
    const retain = this.opts.retainClosedMs ?? 3600_000;
    for (const [id, s] of shard.states) {
      const closedAt = Math.max(s.ackedAt ?? -Infinity, s.resolvedAt ?? -Infinity);
      if (closedAt !== -Infinity && now - closedAt > retain) shard.states.delete(id);
    }
    const saved = await this.opts.checkpoints.put(
      this.group,
      shardId,
      { sequenceNumber: shard.lastSeq, data: { incidents: [...shard.states.values()] } },
      shard.version > 0 ? shard.version : undefined,
    );
    shard.version = saved.version;
  }

  /** Carries out actions in order; records they produce go back through the engine (failovers). */
  private async execute(shard: ShardPaging, actions: Action[]): Promise<void> {
    const queue = [...actions];
    for (let a = queue.shift(); a; a = queue.shift()) {
      if (a.type === 'note') {
        this.log.info({ incidentId: a.incidentId }, a.message);
        continue;
      }
      const state = shard.states.get(a.incidentId);
      if (!state) continue;
      const record = a.type === 'page' ? await this.page(state, a) : await this.escalate(state, a);
      if (record) queue.push(...this.engine.onRecord(shard.states, StreamRecord.parse(record), this.now()));
    }
  }

  /** One step, at most once: claim → act → remember the result → put its record on the stream. */
  private async step(stepKey: string, act: () => Promise<StreamRecordIn>): Promise<StreamRecordIn | undefined> {
    const claim = await this.opts.ledger.claim(stepKey, this.now());
    let record: StreamRecordIn;
    if (claim.claimed) {
      record = await act();
      await this.opts.ledger.complete(stepKey, { record: JSON.stringify(record) });
    } else if (claim.result) {
      record = JSON.parse(claim.result.record) as StreamRecordIn; // done before: report it again (same event id)
    } else {
      this.log.warn({ stepKey, claimedAt: claim.claimedAt }, 'step was claimed but never completed (a crash mid-send): not sent again');
      return undefined;
    }
    await this.opts.producer.putStreamRecords([record]);
    return record;
  }

  private async page(state: IncidentState, a: PageAction): Promise<StreamRecordIn | undefined> {
    if (!this.registered.has(state.incidentId)) {
      await this.opts.ackCodes.register(ackCodeFor(state.incidentId), { incidentId: state.incidentId, alarmArn: state.alarmArn, expiresAt: this.now() + 7 * 86_400_000 });
      this.registered.add(state.incidentId);
    }
    const dispatchId = eventId('dispatch', a.stepKey);
    return this.step(a.stepKey, async () => {
      const person = this.opts.oncall.people[a.person];
      const result = await this.opts.dispatcher.send({
        incidentId: state.incidentId,
        alarmArn: state.alarmArn,
        dispatchId,
        channel: a.channel,
        address: a.address,
        content: {
          incidentId: state.incidentId,
          alarmName: state.alarmName,
          severity: state.severity,
          namespace: state.namespace,
          metric: state.metric,
          reason: state.reason,
          personName: person?.name ?? a.person,
          level: a.level,
          ackCode: ackCodeFor(state.incidentId),
          ackUrl: this.opts.ackLink({ incidentId: state.incidentId, alarmArn: state.alarmArn, person: a.person }),
          runbookUrl: runbookFor(this.opts.oncall, state.alarmName),
          openedAt: state.openedAt,
        },
      });
      this.log.info({ incidentId: state.incidentId, level: a.level, person: a.person, channel: a.channel, reason: a.reason, ok: result.ok, ...(result.ok ? { messageId: result.messageId } : { error: result.error.message }) }, 'page');
      return {
        v: 1,
        kind: 'dispatch',
        event_id: dispatchId,
        incident_id: state.incidentId,
        alarm_arn: state.alarmArn,
        event_time: new Date(this.now()).toISOString(),
        message_id: result.ok ? result.messageId : null,
        channel: a.channel,
        provider: result.provider,
        recipient: a.address,
        person: a.person,
        level: a.level,
        alarm_name: state.alarmName,
        severity: state.severity,
        outcome: result.ok ? 'sent' : 'failed',
        ...(result.ok ? {} : { error_code: result.error.code, error_message: result.error.message }),
        escalate_at: new Date(a.escalateAt).toISOString(),
      };
    });
  }

  private async escalate(state: IncidentState, a: EscalateAction): Promise<StreamRecordIn | undefined> {
    return this.step(a.stepKey, async () => {
      this.log.info({ incidentId: state.incidentId, reason: a.reason, from: a.fromLevel, to: a.toLevel, fromChannel: a.fromChannel, toChannel: a.toChannel }, 'escalation');
      return {
        v: 1,
        kind: 'escalation',
        event_id: eventId('escalation', a.stepKey),
        incident_id: state.incidentId,
        alarm_arn: state.alarmArn,
        event_time: new Date(a.at).toISOString(),
        reason: a.reason,
        from_level: a.fromLevel,
        to_level: a.toLevel,
        ...(a.fromChannel ? { from_channel: a.fromChannel } : {}),
        ...(a.toChannel ? { to_channel: a.toChannel } : {}),
        ...(a.messageId ? { message_id: a.messageId } : {}),
        ...(a.person ? { person: a.person } : {}),
      };
    });
  }
}
