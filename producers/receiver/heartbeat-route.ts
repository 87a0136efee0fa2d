import type { Context, Hono } from 'hono';
import type { AlertRecordIn } from '../../schemas/alert-record.js';
import { AlertmanagerWebhook } from '../../schemas/alertmanager-webhook.js';
import { alertIncidentId, eventId } from '../../schemas/ids.js';
import { heartbeatAlarmId } from '../../schemas/oncall/heartbeats.js';
import { checkOfToken } from '../../shared/heartbeat-token.js';
import { parseJson } from './body-parse.js';
import { guarded, markVerified, utf8, writeRecords, type RouteDeps } from './http.js';

/**
 * `GET|POST /heartbeat/<token>`: a check-in of a heartbeat check (schemas/oncall/heartbeats.ts). The token is
 * `<check id>.<mac>` (shared/heartbeat-token.ts, HEARTBEAT_SECRET); a wrong, malformed or missing one → 404
 * `{"error":"not found"}` exactly as for any unknown path, nothing written (the mac is compared in constant time).
 * A check-in is one `heartbeat` record (source `heartbeat`, `phase: checkin`, state OK) on the stream, keyed by the
 * check (its partition key: the check's alarm id), answered 200 `{ok, check, event_id}` once the stream has it (503
 * when the stream fails: the client retries). Any body (a cron job's output) is kept as the record's `raw`, clipped.
 *
 * The Watchdog preset: a body that is an Alertmanager webhook (v4) notification counts only when one of its alerts
 * fires (Alertmanager's `Watchdog` always does); a notification whose alerts all resolved is answered 200
 * `{ok: true, checked_in: false}` and nothing is written, so the check misses and an incident opens when the
 * Watchdog stops arriving (README "Heartbeats").
 */

/** A check-in's `raw`: at most this many characters of its body. */
export const MAX_CHECKIN_RAW = 4096;

/** One check-in, received at `receivedAt` (ms): its record. The event id is the check and the time received. */
export function heartbeatCheckin(checkId: string, receivedAt: number, raw?: string): AlertRecordIn {
  const arn = heartbeatAlarmId(checkId);
  const at = new Date(receivedAt).toISOString();
  const id = eventId('heartbeat', arn, at);
  return {
    v: 1,
    kind: 'alarm',
    source: 'heartbeat',
    phase: 'checkin',
    event_id: id,
    incident_id: alertIncidentId(arn, id, receivedAt),
    alarm_arn: arn,
    event_time: at,
    key: checkId,
    alarm_name: checkId,
    state: 'OK',
    labels: {},
    reason: 'check-in',
    ...(raw ? { raw: raw.slice(0, MAX_CHECKIN_RAW) } : {}),
  };
}

/** Whether a body is an Alertmanager notification, and if so whether any of its alerts fires. */
export function watchdogFiring(text: string): boolean | undefined {
  if (!text.trimStart().startsWith('{')) return undefined;
  let json: unknown;
  try {
    json = parseJson(text);
  } catch {
    return undefined;
  }
  const parsed = AlertmanagerWebhook.safeParse(json);
  if (!parsed.success) return undefined;
  return parsed.data.alerts.some((a) => a.status === 'firing');
}

export function heartbeatRoutes(app: Hono, deps: RouteDeps): void {
  const route = '/heartbeat/:token';
  const handle = guarded(deps, '/heartbeat', async (c: Context, body) => {
    const check = checkOfToken(deps.config.HEARTBEAT_SECRET, c.req.param('token'));
    if (check === undefined) {
      deps.rejections.reject('not_authentic', { route: '/heartbeat', reason: 'unknown token' }, 'rejected: not found');
      return c.json({ error: 'not found' }, 404);
    }
    markVerified(c);
    const text = body.byteLength > 0 ? utf8(body) : '';
    if (watchdogFiring(text) === false) {
      deps.logger.info({ route: '/heartbeat', check }, 'alertmanager notification with nothing firing: no check-in');
      return c.json({ ok: true, check, checked_in: false }, 200);
    }
    const record = heartbeatCheckin(check, deps.now(), text || undefined);
    await writeRecords(deps, [record]);
    deps.logger.info({ route: '/heartbeat', check, eventId: record.event_id }, 'heartbeat check-in written');
    return c.json({ ok: true, check, checked_in: true, event_id: record.event_id }, 200);
  });
  app.get(route, handle);
  app.post(route, handle);
}
