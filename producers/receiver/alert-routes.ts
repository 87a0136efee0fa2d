import type { Context, Hono } from 'hono';
import { AlertmanagerWebhook } from '../../schemas/alertmanager-webhook.js';
import { EventsV2Event, eventsV2Problems } from '../../schemas/events-v2.js';
import { parseEach } from './body-parse.js';
import { PayloadError, SignatureError } from './errors.js';
import { guarded, jsonBody, markVerified, secretEquals, utf8, writeRecords, type RouteDeps } from './http.js';
import { alertmanagerRecord, eventsV2Record, generatedDedupKey } from './alert-intake.js';

/**
 * The alert sources' routes (docs/design/closed-loop.md "Alarm intake"; records: schemas/alert-record.ts):
 *
 * - `POST /events/alertmanager`: an Alertmanager webhook (v4) notification, authenticated as its `http_config`
 *   sends it: `Authorization: Bearer <token>` or Basic auth whose password is a token (ALERTMANAGER_TOKENS). 401
 *   (nothing written) without one; 400 (kept in the error sink) for a body that is not a v4 notification; 200
 *   `{event_id, alarm, state, firing}` once the record is on the stream; 503 when the stream fails (Alertmanager
 *   retries 5xx, not 4xx).
 * - `POST /v2/enqueue`: a PagerDuty Events API v2 event; the routing key is the credential (EVENTS_V2_ROUTING_KEYS).
 *   Answers exactly as PagerDuty does: 202 `{"status":"success","message":"Event processed","dedup_key":…}` once the
 *   record is on the stream (a trigger without a dedup_key gets one, returned); 400 `{"status":"invalid event",
 *   "message":"Event object is invalid","errors":[…]}` for an invalid event or an unknown routing key (nothing
 *   written); 400 `{"status":"Unrecognized object",…,"errors":["JSON parse error"]}` for a body that is not JSON;
 *   503 when the stream fails (PagerDuty's clients retry 5xx and 429).
 */

/** The token of an `Authorization` header as Alertmanager's http_config sends it (Bearer, or Basic's password). */
export function presentedToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^(\S+)\s+(.+)$/.exec(header.trim());
  if (!m) return undefined;
  const scheme = m[1].toLowerCase();
  if (scheme === 'bearer') return m[2].trim();
  if (scheme !== 'basic') return undefined;
  const decoded = Buffer.from(m[2].trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/** Throws SignatureError (401) unless the request carries one of the tokens; marks it verified. */
export function requireAlertmanagerToken(c: Context, tokens: readonly string[] | undefined): void {
  const header = c.req.header('authorization');
  if (!header) throw new SignatureError('missing Authorization');
  const token = presentedToken(header);
  if (token === undefined) throw new SignatureError('Authorization is neither Bearer nor Basic');
  // every token is compared (constant time each): which one matched is not timed out of us
  let ok = false;
  for (const t of tokens ?? []) ok = secretEquals(token, t) || ok;
  if (!ok) throw new SignatureError(tokens?.length ? 'wrong Alertmanager token' : 'ALERTMANAGER_TOKENS is not set');
  markVerified(c);
}

const INVALID = { status: 'invalid event', message: 'Event object is invalid' } as const;

export function alertRoutes(app: Hono, deps: RouteDeps): void {
  const am = '/events/alertmanager';
  app.post(
    am,
    guarded(deps, am, async (c, body) => {
      requireAlertmanagerToken(c, deps.config.ALERTMANAGER_TOKENS);
      const json = jsonBody(body);
      if (Array.isArray(json)) throw new PayloadError('expected one Alertmanager notification, not an array');
      const { values } = parseEach(json, AlertmanagerWebhook);
      const record = alertmanagerRecord(values[0], utf8(body), deps.now());
      await writeRecords(deps, [record]);
      deps.logger.info(
        { route: am, eventId: record.event_id, alarm: record.alarm_name, state: record.state, firing: record.firing },
        'alertmanager notification written',
      );
      return c.json(
        { event_id: record.event_id, alarm: record.alarm_name, state: record.state, firing: record.firing },
        200,
      );
    }),
  );

  const ev2 = '/v2/enqueue';
  app.post(
    ev2,
    guarded(deps, ev2, async (c, body) => {
      let json: unknown;
      try {
        json = jsonBody(body);
      } catch {
        deps.rejections.reject('invalid_payload', { route: ev2, reason: 'not JSON' }, 'rejected: invalid payload');
        return c.json(
          {
            status: 'Unrecognized object',
            message: 'Event object format is unrecognized',
            errors: ['JSON parse error'],
          },
          400,
        );
      }
      const key = (json as { routing_key?: unknown } | null)?.routing_key;
      const service = typeof key === 'string' ? routingKeyName(deps.config.EVENTS_V2_ROUTING_KEYS, key) : undefined;
      const problems = eventsV2Problems(json);
      if (service === undefined && typeof key === 'string' && key.trim() !== '') {
        deps.rejections.reject(
          'not_authentic',
          { route: ev2, reason: 'unknown routing key' },
          'rejected: not authentic',
        );
        return c.json({ ...INVALID, errors: ['Invalid routing key'] }, 400);
      }
      if (problems.length > 0 || service === undefined) {
        deps.rejections.reject('invalid_payload', { route: ev2, reason: problems[0] }, 'rejected: invalid payload');
        return c.json({ ...INVALID, errors: problems }, 400);
      }
      markVerified(c);
      const parsed = EventsV2Event.safeParse(withoutBlanks(json as Record<string, unknown>));
      if (!parsed.success) {
        const errors = parsed.error.issues.map((i) => `'${i.path.join('.')}' ${i.message}`);
        deps.rejections.reject('invalid_payload', { route: ev2, reason: errors[0] }, 'rejected: invalid payload');
        return c.json({ ...INVALID, errors }, 400);
      }
      const event = parsed.data;
      const dedupKey = event.dedup_key ?? generatedDedupKey(event);
      const record = eventsV2Record(event, service, dedupKey, deps.now());
      await writeRecords(deps, [record]);
      deps.logger.info(
        { route: ev2, eventId: record.event_id, service, action: event.event_action },
        'events-v2 event written',
      );
      return c.json({ status: 'success', message: 'Event processed', dedup_key: dedupKey }, 202);
    }),
  );
}

/** A blank or null dedup_key (a trigger's: one is generated) and a null payload (not a trigger's) read as absent. */
export function withoutBlanks(e: Record<string, unknown>): Record<string, unknown> {
  const out = { ...e };
  if (out.dedup_key === null || (typeof out.dedup_key === 'string' && out.dedup_key.trim() === ''))
    delete out.dedup_key;
  if (out.payload === null) delete out.payload;
  return out;
}

/** The name a routing key maps to (each key compared in constant time), or undefined. */
export function routingKeyName(
  keys: Readonly<Record<string, string>> | undefined,
  presented: string,
): string | undefined {
  let found: string | undefined;
  for (const [k, name] of Object.entries(keys ?? {})) if (secretEquals(presented, k)) found ??= name;
  return found;
}
