import { decodeRecord, type StreamRecord } from '../../schemas/envelope.js';
import { parseTimestamp } from '../../schemas/time.js';
import { compareSequenceNumbers } from '../../schemas/sequence-number.js';
import type { Logger } from '../../platform/logger.js';
import { silentLogger } from '../../platform/logger.js';
import { crashpoint } from '../runtime/crashpoint.js';
import { fromKinesisStreamRecord, type KinesisBatchHandler } from '../runtime/kinesis-event.js';
import type { EffectRunner, Prepared } from './effects.js';
import { claimPages } from './incident-state.js';
import type { EscalationEngine } from './escalation.js';
import type { IncidentStore, OpenIncidentPointer, StoredIncident } from './incident-store.js';

/**
 * The paging handler (Lambda Kinesis event contract): one batch of one shard in, the records that
 * failed out (ReportBatchItemFailures: the lowest failed sequence number; the mapping retries from it).
 *
 * Records are grouped by alarm (the partition key every record carries); alarms run concurrently (a
 * slow one never holds up another), each alarm's records in shard order. For each record:
 *   0. find its incident: the record's own, or — for an alarm record whose previous state is ALARM
 *      (an ALARM → ALARM re-evaluation gets an incident id of its own, and so does the OK after it) —
 *      the incident the alarm has open (the store's pointer, opened no later than the record's
 *      previous state), remembered as an alias of the record's own id so a replay goes the same way;
 *      likewise an ALARM after an OK within the flapping window: the incident that OK resolved;
 *   1. read the incident's item (state + version), the alarm's pointer beside it when it may be needed;
 *   2. apply the record (escalation.ts): the decision and its effects land in the state's outbox;
 *   3. save the state (version condition) with the outbox's pages claimed in it (`claimPages`) — the
 *      decision and its claims are durable before any effect, in one write; a new incident's ack code
 *      (with the addresses it pages) is claimed in the same round trip (effects.ts `claimAckCode`);
 *   4. carry out the outbox (effects.ts: a level's pages at once), then save again beside the alarm's
 *      pointer. A new incident's first pages wait for two round trips: the read, and the write.
 * A crash or error anywhere leaves the record unacknowledged: its redelivery (or any later record of
 * the incident) finds the outbox and finishes it; a record already applied is recognised by its event
 * id and changes nothing. A dependency only deadlines need never fails a record: a deadline the
 * Scheduler cannot take waits in the outbox (effects.ts), since a failed record would hold up every
 * later record of its shard — the next new incidents' first pages too. An invalid record can never
 * succeed: it is skipped here (the lake handler, reading the same stream, keeps it under `errors/` with
 * the reason), so a shard never stalls on it.
 */
export interface PagingHandlerOptions {
  store: Pick<IncidentStore, 'get' | 'put' | 'find' | 'alias' | 'openIncidentOf' | 'markOpen' | 'markResolved'>;
  engine: EscalationEngine;
  /**
   * `claimAckCode` puts a new incident's ack code in its one write round trip; without it, the first page allocates.
   */
  effects: Pick<EffectRunner, 'run'> & Partial<Pick<EffectRunner, 'claimAckCode'>>;
  /** Alarms (with their incidents) of one batch handled at once. Default 32. */
  concurrency?: number;
  now?: () => number;
  logger?: Logger;
}

interface Item {
  seq: string;
  record: StreamRecord;
}

/** An ALARM whose previous state was not ALARM: a new episode, or the alarm flapping back. */
const isNewAlarm = (record: StreamRecord): record is Extract<StreamRecord, { kind: 'alarm' }> =>
  record.kind === 'alarm' && record.state === 'ALARM' && record.event.detail.previousState?.value !== 'ALARM';

export function createPagingHandler(opts: PagingHandlerOptions): KinesisBatchHandler {
  const log = opts.logger ?? silentLogger;
  const now = opts.now ?? Date.now;
  const concurrency = opts.concurrency ?? 32;

  /**
   * The incident a record applies to, and its item if any (`known`: the items this batch already read
   * or wrote, by incident id; saves reads).
   */
  async function incidentOf(
    record: StreamRecord,
    known: Map<string, StoredIncident>,
  ): Promise<{ id: string; stored?: StoredIncident }> {
    const own = record.incident_id;
    if (known.has(own)) return { id: own, stored: known.get(own) };
    // A new ALARM (after an OK) may continue the incident that OK resolved (flapping): its pointer is
    // read alongside the incident's own item, not after it, so a new incident's first page waits for
    // one read, not two. Unused when the incident is known (a redelivery): one read spent.
    const pointer =
      isNewAlarm(record) && opts.engine.flapWindowMs() > 0 ? opts.store.openIncidentOf(record.alarm_arn) : undefined;
    pointer?.catch(() => undefined); // awaited below, or not needed: never an unhandled rejection
    const found = await opts.store.find(own);
    if (found && 'aliasOf' in found) {
      const id = found.aliasOf;
      return { id, stored: known.get(id) ?? (await opts.store.get(id)) };
    }
    if (found) return { id: own, stored: found };
    if (record.kind !== 'alarm') return { id: own };
    const previous = record.event.detail.previousState;
    if (previous?.value !== 'ALARM') return pointer ? flappedBack(record, own, known, await pointer) : { id: own };
    // A re-evaluation (ALARM → ALARM), or the OK after one: the alarm's open incident, if it opened
    // no later than this record's previous state (a stale record never lands on a newer episode).
    const open = await opts.store.openIncidentOf(record.alarm_arn);
    if (!open || open.incidentId === own || open.openedAt > parseTimestamp(previous.timestamp)) return { id: own };
    const stored = known.get(open.incidentId) ?? (await opts.store.get(open.incidentId));
    if (!stored || stored.state.resolvedAt !== undefined) return { id: own };
    await opts.store.alias(own, stored.state);
    log.info(
      { incidentId: open.incidentId, alias: own, state: record.state },
      'alarm record of the open incident (re-evaluation)',
    );
    return { id: open.incidentId, stored };
  }

  /** An ALARM after an OK: the incident that OK resolved, if the alarm flapped back within the window. */
  async function flappedBack(
    record: Extract<StreamRecord, { kind: 'alarm' }>,
    own: string,
    known: Map<string, StoredIncident>,
    latest: OpenIncidentPointer | undefined,
  ): Promise<{ id: string; stored?: StoredIncident }> {
    if (!latest || latest.incidentId === own || latest.resolvedAt === undefined) return { id: own };
    const stored = known.get(latest.incidentId) ?? (await opts.store.get(latest.incidentId));
    if (!stored || !opts.engine.flapsBack(stored.state, record.event_time)) return { id: own };
    await opts.store.alias(own, stored.state);
    log.info(
      {
        incidentId: latest.incidentId,
        alias: own,
        afterOkS: Math.round((record.event_time - stored.state.resolvedAt!) / 1000),
      },
      'alarm flapped back to ALARM: continues the incident it resolved',
    );
    return { id: latest.incidentId, stored };
  }

  /** One record, applied to its incident. */
  async function handle(record: StreamRecord, known: Map<string, StoredIncident>): Promise<void> {
    const { id, stored } = await incidentOf(record, known);
    let version = stored?.version;
    const { state, note, changed, level } = opts.engine.apply(stored?.state, record, now());
    if (note) {
      // a receipt's note is a failover (undelivered, bounced, failed); a deadline's may be an exhausted
      // policy: warnings; the engine raises others itself (an unrouted alarm: warn, or error if nobody was paged)
      const key =
        record.kind === 'receipt' && state
          ? (record.dispatch_id && state.dispatches[record.dispatch_id]) || state.messages[record.message_id]
          : undefined;
      const page = key ? state?.pages[key] : undefined;
      const fields =
        record.kind === 'receipt'
          ? {
              incidentId: id,
              kind: record.kind,
              person: page?.person,
              channel: record.channel,
              messageId: record.message_id,
              status: record.status,
              providerStatus: record.provider_status,
              errorCode: record.error_code,
            }
          : { incidentId: id, kind: record.kind };
      if (level === 'error') log.error(fields, note);
      else if (level === 'warn' || record.kind === 'receipt' || note.includes('exhausted')) log.warn(fields, note);
      else log.info(fields, note);
    }
    if (!state) return;
    const prepared: Prepared = {};
    if (changed) {
      // the one write before a send: the decision with its pages' claims (one conditional put) and, for a
      // new incident, beside it in the same round trip, its ack code with the addresses it pages
      prepared.claimed = claimPages(state, now());
      const decided = opts.store.put(state, version); // reads the state now: the ack code is not part of it
      const ack = version === undefined && prepared.claimed.size > 0 ? opts.effects.claimAckCode?.(state) : undefined;
      [version, prepared.recorded] = await Promise.all([decided, ack]);
      crashpoint('after-decision');
    }
    known.set(state.incidentId, { state, version: version! });
    const ran = state.outbox.length > 0 || state.wakeup === record.event_id;
    if (ran) await opts.effects.run(state, { eventId: record.event_id, at: record.event_time }, prepared);
    // everything else follows the sends, in one round trip: the state after them, and the alarm's pointer
    // (open while open, marked resolved once resolved; written by every ALARM record, a redelivery too)
    const saved = ran ? opts.store.put(state, version) : undefined;
    const pointer =
      record.kind !== 'alarm'
        ? undefined
        : state.resolvedAt !== undefined
          ? opts.store.markResolved(state.alarmArn, state.incidentId, state.resolvedAt)
          : record.state === 'ALARM'
            ? opts.store.markOpen(state)
            : undefined;
    const [after] = await Promise.all([saved, pointer]);
    if (after !== undefined) known.set(state.incidentId, { state, version: after });
  }

  return async (event) => {
    const byAlarm = new Map<string, Item[]>();
    for (const r of event.Records) {
      const sr = fromKinesisStreamRecord(r);
      let record: StreamRecord;
      try {
        record = decodeRecord(sr.data);
      } catch (err) {
        log.warn(
          { shardId: sr.shardId, sequenceNumber: sr.sequenceNumber, reason: (err as Error).message },
          'invalid record skipped (the lake keeps it under errors/)',
        );
        continue;
      }
      const items = byAlarm.get(record.alarm_arn);
      if (items) items.push({ seq: sr.sequenceNumber, record });
      else byAlarm.set(record.alarm_arn, [{ seq: sr.sequenceNumber, record }]);
    }

    const failed: string[] = [];
    const queue = [...byAlarm.values()];
    const worker = async () => {
      for (let items = queue.shift(); items; items = queue.shift()) {
        const known = new Map<string, StoredIncident>();
        for (const it of items) {
          try {
            await handle(it.record, known);
          } catch (err) {
            log.warn(
              { err, incidentId: it.record.incident_id, kind: it.record.kind, sequenceNumber: it.seq },
              'paging step failed; the record is retried',
            );
            failed.push(it.seq); // the alarm's later records wait for the retry (order per alarm)
            break;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
    if (failed.length === 0) return { batchItemFailures: [] };
    failed.sort(compareSequenceNumbers);
    return { batchItemFailures: [{ itemIdentifier: failed[0] }] };
  };
}
