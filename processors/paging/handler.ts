import { decodeRecord, type StreamRecord } from '../../schemas/envelope.js';
import type { Logger } from '../../infra/logger.js';
import { silentLogger } from '../../infra/logger.js';
import { compareSequenceNumbers } from '../consumer/shard-reader.js';
import { crashpoint } from '../runtime/crashpoint.js';
import { fromKinesisStreamRecord, type KinesisBatchHandler } from '../runtime/kinesis-event.js';
import type { EffectRunner } from './effects.js';
import type { EscalationEngine } from './escalation.js';
import type { IncidentStore, StoredIncident } from './incident-store.js';

/**
 * The paging handler (Lambda Kinesis event contract): one batch of one shard in, the records that
 * failed out (ReportBatchItemFailures: the lowest failed sequence number; the mapping retries from it).
 *
 * Records are grouped by incident; incidents run concurrently (a slow one never holds up another),
 * each incident's records in shard order. For each record:
 *   1. read the incident's item (state + version);
 *   2. apply the record (escalation.ts): the decision and its effects land in the state's outbox;
 *   3. save the state (version condition) — the decision is durable before any effect;
 *   4. carry out the outbox (effects.ts), then save again.
 * A crash or error anywhere leaves the record unacknowledged: its redelivery (or any later record of
 * the incident) finds the outbox and finishes it; a record already applied is recognised by its event
 * id and changes nothing. An invalid record can never succeed: it is skipped here (the lake handler,
 * reading the same stream, keeps it under `errors/` with the reason), so a shard never stalls on it.
 */
export interface PagingHandlerOptions {
  store: Pick<IncidentStore, 'get' | 'put'>;
  engine: EscalationEngine;
  effects: Pick<EffectRunner, 'run'>;
  /** Incidents of one batch handled at once. Default 32. */
  concurrency?: number;
  now?: () => number;
  logger?: Logger;
}

interface Item {
  seq: string;
  record: StreamRecord;
}

export function createPagingHandler(opts: PagingHandlerOptions): KinesisBatchHandler {
  const log = opts.logger ?? silentLogger;
  const now = opts.now ?? Date.now;
  const concurrency = opts.concurrency ?? 32;

  /** One record; `known` is the incident as the previous record of this batch left it (saves a read). */
  async function handle(record: StreamRecord, known?: StoredIncident): Promise<StoredIncident | undefined> {
    const stored = known ?? (await opts.store.get(record.incident_id));
    let version = stored?.version;
    const { state, note, changed } = opts.engine.apply(stored?.state, record, now());
    if (note) log.info({ incidentId: record.incident_id, kind: record.kind }, note);
    if (!state) return undefined;
    if (changed) {
      version = await opts.store.put(state, version);
      crashpoint('after-decision');
    }
    if (state.outbox.length > 0) {
      await opts.effects.run(state);
      version = await opts.store.put(state, version);
    }
    return { state, version: version! };
  }

  return async (event) => {
    const byIncident = new Map<string, Item[]>();
    for (const r of event.Records) {
      const sr = fromKinesisStreamRecord(r);
      let record: StreamRecord;
      try {
        record = decodeRecord(sr.data);
      } catch (err) {
        log.warn({ shardId: sr.shardId, sequenceNumber: sr.sequenceNumber, reason: (err as Error).message }, 'invalid record skipped (the lake keeps it under errors/)');
        continue;
      }
      const items = byIncident.get(record.incident_id);
      if (items) items.push({ seq: sr.sequenceNumber, record });
      else byIncident.set(record.incident_id, [{ seq: sr.sequenceNumber, record }]);
    }

    const failed: string[] = [];
    const queue = [...byIncident.values()];
    const worker = async () => {
      for (let items = queue.shift(); items; items = queue.shift()) {
        let known: StoredIncident | undefined;
        for (const it of items) {
          try {
            known = await handle(it.record, known);
          } catch (err) {
            log.warn({ err, incidentId: it.record.incident_id, kind: it.record.kind, sequenceNumber: it.seq }, 'paging step failed; the record is retried');
            failed.push(it.seq); // the incident's later records wait for the retry (order per incident)
            break;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
    if (failed.length === 0) return { batchItemFailures: [] };
    failed.sort(compareSequenceNumbers);
    return { batchItemFailures: [{ itemIdentifier: failed[0] }] };
  }
}
