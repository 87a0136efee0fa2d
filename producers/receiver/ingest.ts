import type { Hono } from 'hono';
import { z } from 'zod';
import type { ReceiptRecordIn } from '../../schemas/receipt-record.js';
import { eventId } from '../../schemas/ids.js';
import { Channel, DeliveryStatus } from '../../schemas/status.js';
import { parseTimestamp } from '../../schemas/time.js';
import { parseEach } from './body-parse.js';
import { apiRoute, writeRecords, type RouteDeps } from './http.js';

/**
 * POST /api/v1/ingest/events (x-api-key) — already-normalized delivery events from other systems
 * (one object or an array) → receipt records. All-or-nothing: one invalid event rejects the batch
 * with every failing field (`issues[].index/path`). Unknown fields are rejected (typos would
 * otherwise vanish silently).
 */

const IsoTime = z.string().transform((value, ctx) => {
  try {
    return new Date(parseTimestamp(value)).toISOString();
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not an ISO-8601 timestamp' });
    return z.NEVER;
  }
});

export const IngestEvent = z.strictObject({
  incident_id: z.string().min(4).max(128),
  alarm_arn: z.string().startsWith('arn:'),
  channel: Channel,
  status: DeliveryStatus,
  timestamp: IsoTime,
  recipient: z.string().min(1).optional(),
  message_id: z.string().min(1).optional(),
  provider: z.literal('external').default('external'),
  provider_status: z.string().min(1).optional(),
  event_id: z.string().min(8).max(128).optional(),
});
export type IngestEvent = z.output<typeof IngestEvent>;

/**
 * A validated event → a receipt. event_id: the given one, else derived from the event's identity
 * (same event, same id). message_id is required on receipts: without one, the event id stands in.
 */
export function ingestReceipt(e: IngestEvent, raw: unknown): ReceiptRecordIn {
  const id =
    e.event_id ??
    eventId('receipt', 'external', e.incident_id, e.message_id ?? e.recipient ?? '', e.status, e.timestamp);
  return {
    v: 1,
    kind: 'receipt',
    event_id: id,
    incident_id: e.incident_id,
    alarm_arn: e.alarm_arn,
    event_time: e.timestamp,
    provider: e.provider,
    channel: e.channel,
    message_id: e.message_id ?? id,
    status: e.status,
    provider_status: e.provider_status ?? e.status,
    ...(e.recipient ? { recipient: e.recipient } : {}),
    raw: JSON.stringify(raw),
  };
}

/** A parsed JSON body (one event or an array) → receipts; throws PayloadError with every failing field. */
export function ingestRecordsFrom(json: unknown): ReceiptRecordIn[] {
  const { items, values } = parseEach(json, IngestEvent);
  return values.map((event, index) => ingestReceipt(event, items[index]));
}

export function ingestRoutes(app: Hono, deps: RouteDeps): void {
  const route = '/api/v1/ingest/events';
  apiRoute(app, deps, route, async (c, json) => {
    const records = ingestRecordsFrom(json);
    await writeRecords(deps, records);
    deps.logger.info({ route, written: records.length }, 'ingested events written');
    return c.json({ written: records.length, event_ids: records.map((r) => r.event_id) }, 200);
  });
}
