import { decodeRecordOrTick, type RecordOrTick, type StreamRecord } from '../../schemas/envelope.js';
import { parseTimestamp } from '../../schemas/time.js';
import { compareSequenceNumbers } from '../../schemas/sequence-number.js';
import type { Logger } from '../../platform/logger.js';
import { silentLogger } from '../../platform/logger.js';
import { crashpoint } from '../runtime/crashpoint.js';
import { fromKinesisStreamRecord, type KinesisBatchHandler } from '../runtime/kinesis-event.js';
import type { EffectRunner, Prepared } from './effects.js';
import { claimPages } from './incident-state.js';
import type { EscalationEngine } from './escalation.js';
import type { IncidentState } from './incident-state.js';
import type { Found, IncidentStore, OpenIncidentPointer, StoredIncident } from './incident-store.js';
import type { HeartbeatKeeper } from './heartbeats.js';

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
 *   1. read the incident's item (state + version), the alarm's pointer beside it in one BatchGetItem when it
 *      may be needed; nothing for an incident this alarm's records already read or wrote in the batch, nor for
 *      our own escalation records and the dispatch records this process already saved;
 *   2. apply the record (escalation.ts): the decision and its effects land in the state's outbox;
 *   3. if the outbox holds pages not yet claimed: save the state (version condition) with them claimed in it
 *      (`claimPages`) — the decision and its claims are durable before any effect, in one write; a new
 *      incident's ack code (with the addresses it pages) and the alarm's pointer go in the same round trip;
 *   4. carry out the outbox (effects.ts: a level's pages at once, their dispatch records in one PutRecords).
 *   Any other change (a receipt's status, the sends' results) is put off: the alarm's changed incidents are
 *   saved once each after its last record of the batch (a later write of the same state in the batch carries
 *   it, so no write is superseded by another). A new incident's first pages wait for two round trips: the read,
 *   and the write.
 * A crash or error anywhere leaves the record unacknowledged: its redelivery (or any later record of
 * the incident) finds the outbox and finishes it; a record already applied is recognised by its event
 * id and changes nothing. A dependency only deadlines need never fails a record: a deadline the
 * Scheduler cannot take waits in the outbox (effects.ts), since a failed record would hold up every
 * later record of its shard — the next new incidents' first pages too. An invalid record can never
 * succeed: it is skipped here (the lake handler, reading the same stream, keeps it under `errors/` with
 * the reason), so a shard never stalls on it.
 */
export interface PagingHandlerOptions {
  store: Pick<IncidentStore, 'get' | 'put' | 'find' | 'findWithPointer' | 'alias' | 'markOpen' | 'markResolved'>;
  engine: EscalationEngine;
  /**
   * `claimAckCode` puts a new incident's ack code in its one write round trip; without it, the first page allocates.
   */
  effects: Pick<EffectRunner, 'run'> & Partial<Pick<EffectRunner, 'claimAckCode'>>;
  /** Dispatch ids remembered as saved (their read-back skipped). Default 10,000. */
  recordedDispatches?: number;
  /** Alarms (with their incidents) of one batch handled at once. Default 32. */
  concurrency?: number;
  now?: () => number;
  logger?: Logger;
  /**
   * Heartbeat checks (heartbeats.ts): sees each check-in and deadline first, keeps the check's state and arms its next
   * deadline; a stale deadline stops there. Without it, heartbeat records go straight to the incident logic.
   */
  heartbeats?: Pick<HeartbeatKeeper, 'admit'>;
}

interface Item {
  seq: string;
  record: StreamRecord;
}

/** One alarm's records of a batch, handled in order: what they read and wrote, and the writes put off. */
interface Group {
  /** The incidents' latest state and stored version, by incident id (saves reads). */
  known: Map<string, StoredIncident>;
  /** States changed since their last write, with the first record that changed them (written at the end). */
  dirty: Map<string, { state: IncidentState; seq: string }>;
  /** The alarm's pointer as last read or written here (null: none); undefined: not known. */
  pointer?: OpenIncidentPointer | null;
  /** The incident the record being handled applies to, once found. */
  current?: string;
}

/** A set of the newest `max` values added. */
class BoundedSet {
  private readonly values = new Set<string>();
  constructor(private readonly max: number) {}
  has(v: string): boolean {
    return this.values.has(v);
  }
  add(v: string): void {
    if (this.values.has(v)) return;
    this.values.add(v);
    if (this.values.size > this.max) this.values.delete(this.values.values().next().value!);
  }
}

/** Pages of the outbox not yet claimed nor sent: they need the write before a send. */
const hasUnclaimedPages = (state: IncidentState) =>
  state.outbox.some((e) => {
    const page = e.type === 'page' ? state.pages[e.stepKey] : undefined;
    return page !== undefined && !page.dispatched && page.claimedAt === undefined;
  });

/** An ALARM whose previous state was not ALARM: a new episode, or the alarm flapping back. */
const isNewAlarm = (record: StreamRecord): record is Extract<StreamRecord, { kind: 'alarm' }> =>
  record.kind === 'alarm' &&
  record.source === 'cloudwatch' &&
  record.state === 'ALARM' &&
  record.event.detail.previousState?.value !== 'ALARM';

/**
 * A CloudWatch record whose previous state was ALARM (a re-evaluation, or the OK after one), or any record of an alert
 * source (Alertmanager, events-v2: the receiver keeps no state, so each of its records may continue the alarm's open
 * incident): both look for the alarm's open incident.
 */
const continuesOpen = (record: StreamRecord): record is Extract<StreamRecord, { kind: 'alarm' }> =>
  record.kind === 'alarm' &&
  (record.source === 'cloudwatch' ? record.event.detail.previousState?.value === 'ALARM' : true);

/** How far apart the receiver tasks' clocks may be when an alert source's resolve looks for its open incident. */
export const ALERT_CLOCK_SKEW_MS = 60_000;

/** The paging engine's restatement of an alert-source record for the lake (escalation.ts `restate`): skipped. */
const isRestatement = (record: StreamRecord): boolean =>
  record.kind === 'alarm' && record.source !== 'cloudwatch' && record.restates !== undefined;

export function createPagingHandler(opts: PagingHandlerOptions): KinesisBatchHandler {
  const log = opts.logger ?? silentLogger;
  const now = opts.now ?? Date.now;
  const concurrency = opts.concurrency ?? 32;
  /**
   * Dispatch records whose outcome a state this process saved already holds (the newest 10,000): read back, they
   * change nothing, so no read is spent on them. After a restart it is empty: they are read and applied (a crash
   * between a dispatch record and the save is settled by it).
   */
  const recorded = new BoundedSet(opts.recordedDispatches ?? 10_000);

  /**
   * The incident a record applies to, and its item if any (`known`: the items this batch already read
   * or wrote, by incident id; saves reads).
   */
  async function incidentOf(record: StreamRecord, group: Group): Promise<{ id: string; stored?: StoredIncident }> {
    const own = record.incident_id;
    const known = group.known;
    if (known.has(own)) return { id: own, stored: known.get(own) };
    // An alarm record may belong to the alarm's open incident (a re-evaluation, the OK after it) or continue the
    // one an OK resolved (flapping): its pointer is read with the incident's own item, in one request, so a new
    // incident's first page waits for one read. Unused when the incident is known (a redelivery).
    const withPointer = continuesOpen(record) || (isNewAlarm(record) && opts.engine.flapWindowMs() > 0);
    let found: Found;
    if (withPointer) {
      const read = await opts.store.findWithPointer(own, record.alarm_arn);
      found = read.found;
      group.pointer = read.pointer ?? null;
    } else found = await opts.store.find(own);
    if (found && 'aliasOf' in found) {
      const id = found.aliasOf;
      return { id, stored: known.get(id) ?? (await opts.store.get(id)) };
    }
    if (found) return { id: own, stored: found };
    if (record.kind !== 'alarm') return { id: own };
    const pointer = group.pointer ?? undefined;
    if (!continuesOpen(record)) return withPointer ? flappedBack(record, own, known, pointer) : { id: own };
    // A re-evaluation (ALARM → ALARM), or the OK after one: the alarm's open incident, if it opened
    // no later than this record's previous state (a stale record never lands on a newer episode). An alert
    // source's firing or acknowledge: the open incident, whenever it opened (receiver tasks' clocks differ, and
    // two Alertmanager replicas post a group at once: a second incident would page twice); its resolve: the open
    // incident if it opened no later than ALERT_CLOCK_SKEW_MS after the resolve was received (a stale resolve
    // never closes a newer one).
    const bound =
      record.source === 'cloudwatch'
        ? parseTimestamp(record.event.detail.previousState!.timestamp)
        : record.state === 'OK'
          ? record.event_time + ALERT_CLOCK_SKEW_MS
          : Number.POSITIVE_INFINITY;
    const open = pointer;
    if (!open || open.incidentId === own || open.openedAt > bound) return { id: own };
    const stored = known.get(open.incidentId) ?? (await opts.store.get(open.incidentId));
    if (!stored || stored.state.resolvedAt !== undefined) return { id: own };
    await opts.store.alias(own, stored.state);
    log.info(
      { incidentId: open.incidentId, alias: own, state: record.state, source: record.source },
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

  /**
   * One record, applied to its incident. Writes before a send only (the decision with its pages' claims); any
   * other change waits in `group.dirty` for the group's end (a later write of the same incident in the group
   * carries it: no write that a later one supersedes).
   */
  async function handle(record: StreamRecord, seq: string, group: Group): Promise<void> {
    // our own records read back, when this process already saved what they say: nothing to read or write
    if (record.kind === 'escalation' && !group.known.has(record.incident_id)) return;
    if (record.kind === 'dispatch' && recorded.has(record.event_id)) return;
    if (isRestatement(record)) return;
    if (record.kind === 'alarm' && record.source === 'heartbeat' && opts.heartbeats) {
      const admitted = await opts.heartbeats.admit(record);
      if (admitted.note) log.info({ check: record.key, phase: record.phase }, admitted.note);
      if (!admitted.pass) return;
    }
    group.current = undefined;
    const { id, stored } = await incidentOf(record, group);
    group.current = id;
    let version = stored?.version;
    const { state, note, changed, level } = opts.engine.apply(stored?.state, record, now());
    if (note) logNote(record, id, state, note, level);
    if (!state) return;
    const prepared: Prepared = {};
    const opening = record.kind === 'alarm' && record.state === 'ALARM' && state.resolvedAt === undefined;
    let pointer: Promise<unknown> | undefined;
    if (changed && hasUnclaimedPages(state)) {
      // the one write before a send: the decision with its pages' claims (one conditional put) and, for a
      // new incident, beside it in the same round trip, its ack code with the addresses it pages and the
      // alarm's pointer
      prepared.claimed = claimPages(state, now());
      const decided = opts.store.put(state, version); // reads the state now: the ack code is not part of it
      const ack = version === undefined && prepared.claimed.size > 0 ? opts.effects.claimAckCode?.(state) : undefined;
      const opened = opening ? markOpen(state, group) : undefined;
      pointer = opened; // written (or known): not again below
      [version, prepared.recorded] = await Promise.all([decided, ack, opened]);
      group.dirty.delete(state.incidentId);
      crashpoint('after-decision');
    } else if (changed) {
      markDirty(group, state, seq);
    }
    group.known.set(state.incidentId, { state, version: version! });
    const ran = state.outbox.length > 0 || state.wakeup === record.event_id;
    if (ran) {
      await opts.effects.run(state, { eventId: record.event_id, at: record.event_time }, prepared);
      markDirty(group, state, seq);
    }
    // the alarm's pointer: open while open (written by an ALARM record whose pointer does not say so already),
    // marked resolved once resolved
    if (record.kind === 'alarm' || (record.kind === 'action' && record.action === 'resolve')) {
      pointer ??=
        state.resolvedAt !== undefined ? markResolved(state, group) : opening ? markOpen(state, group) : undefined;
    }
    await pointer;
  }

  /** The pointer names the incident, open, already (as read or written in this group): no write. */
  function markOpen(state: IncidentState, group: Group): Promise<unknown> | undefined {
    const p = group.pointer;
    if (p && p.incidentId === state.incidentId && p.openedAt === state.openedAt && p.resolvedAt === undefined) return;
    return opts.store.markOpen(state).then((won) => {
      if (won) group.pointer = { incidentId: state.incidentId, openedAt: state.openedAt };
    });
  }

  function markResolved(state: IncidentState, group: Group): Promise<unknown> | undefined {
    const p = group.pointer;
    if (p && (p.incidentId !== state.incidentId || p.resolvedAt !== undefined)) return;
    return opts.store.markResolved(state.alarmArn, state.incidentId, state.resolvedAt!).then(() => {
      if (p) group.pointer = { ...p, resolvedAt: state.resolvedAt };
    });
  }

  function markDirty(group: Group, state: IncidentState, seq: string): void {
    const entry = group.dirty.get(state.incidentId);
    group.dirty.set(state.incidentId, { state, seq: entry?.seq ?? seq });
  }

  /**
   * The group's put-off writes, at once; the sequence number of the first record whose change did not land (the
   * mapping retries from it), if any. The dispatches a saved state records are remembered: read back, they change
   * nothing.
   */
  async function flush(group: Group): Promise<string | undefined> {
    const entries = [...group.dirty.values()];
    group.dirty.clear();
    const ended = await Promise.allSettled(
      entries.map(async ({ state }) => {
        const version = await opts.store.put(state, group.known.get(state.incidentId)?.version);
        group.known.set(state.incidentId, { state, version });
        for (const [dispatchId, key] of Object.entries(state.dispatches))
          if (state.pages[key]?.dispatched) recorded.add(dispatchId);
      }),
    );
    const failed = entries.filter((_, i) => ended[i].status === 'rejected');
    for (const [i, r] of ended.entries())
      if (r.status === 'rejected')
        log.warn(
          { err: r.reason, incidentId: entries[i].state.incidentId, sequenceNumber: entries[i].seq },
          'paging state not saved; its records are retried',
        );
    return failed.map((e) => e.seq).sort(compareSequenceNumbers)[0];
  }

  function logNote(
    record: StreamRecord,
    id: string,
    state: IncidentState | undefined,
    note: string,
    level: 'info' | 'warn' | 'error' | undefined,
  ): void {
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

  return async (event) => {
    const byAlarm = new Map<string, Item[]>();
    let ticks = 0;
    for (const r of event.Records) {
      const sr = fromKinesisStreamRecord(r);
      let record: RecordOrTick;
      try {
        record = decodeRecordOrTick(sr.data);
      } catch (err) {
        log.warn(
          { shardId: sr.shardId, sequenceNumber: sr.sequenceNumber, reason: (err as Error).message },
          'invalid record skipped (the lake keeps it under errors/)',
        );
        continue;
      }
      if (record.kind === 'tick') {
        ticks++; // the lake's clock (schemas/tick-record.ts): no incident's, nothing to do
        continue;
      }
      const items = byAlarm.get(record.alarm_arn);
      if (items) items.push({ seq: sr.sequenceNumber, record });
      else byAlarm.set(record.alarm_arn, [{ seq: sr.sequenceNumber, record }]);
    }

    if (ticks > 0) log.debug({ ticks }, 'ticks skipped');
    const failed: string[] = [];
    const queue = [...byAlarm.values()];
    const worker = async () => {
      for (let items = queue.shift(); items; items = queue.shift()) {
        const group: Group = { known: new Map(), dirty: new Map() };
        for (const it of items) {
          try {
            await handle(it.record, it.seq, group);
          } catch (err) {
            log.warn(
              { err, incidentId: it.record.incident_id, kind: it.record.kind, sequenceNumber: it.seq },
              'paging step failed; the record is retried',
            );
            // its incident's state may be half-run: not saved; the records whose changes it held are retried too
            const entry = group.current === undefined ? undefined : group.dirty.get(group.current);
            if (entry) group.dirty.delete(group.current!);
            failed.push(entry ? entry.seq : it.seq); // the alarm's later records wait for the retry (order per alarm)
            break;
          }
        }
        const unsaved = await flush(group);
        if (unsaved) failed.push(unsaved);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
    if (failed.length === 0) return { batchItemFailures: [] };
    failed.sort(compareSequenceNumbers);
    return { batchItemFailures: [{ itemIdentifier: failed[0] }] };
  };
}
