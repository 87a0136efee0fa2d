import { Hono } from 'hono';
import { ackRoutes, type AckPageDeps } from './ack-page.js';
import { apiRoutes, type ApiDeps } from './api/routes.js';
import { signInRoutes } from './auth/routes.js';
import { consoleRoutes, type ConsoleUiOptions } from './console/routes.js';
import type { LiveHub } from './console/live.js';
import { awsSmsVoiceRoutes } from './aws-sms-voice-webhook.js';
import { alarmRoutes } from './alarm-route.js';
import { alertRoutes } from './alert-routes.js';
import { heartbeatRoutes } from './heartbeat-route.js';
import { snsEventsRoutes } from './sns-events.js';
import type { AppDeps, RouteDeps } from './http.js';
import { ingestRoutes } from './ingest.js';
import { resendRoutes } from './resend-webhook.js';
import { twilioRoutes } from './twilio-webhook.js';
import { twilioVoiceRoutes } from './twilio-voice.js';
import { RejectionLog } from './rejections.js';

export type { AckPageDeps, IncidentLookup } from './ack-page.js';
export type {
  AppDeps,
  AckCodeResolver,
  ReceiverLogger,
  StreamHealth,
  StreamReachability,
  StreamWriter,
} from './http.js';

/**
 * The receiver as one hono app (tests call `app.request(...)` in-process; main.ts serves it):
 *
 * | route | auth | writes |
 * |---|---|---|
 * | POST /webhooks/twilio | X-Twilio-Signature | receipt (status callback) or ack (`ACK <code>` reply) |
 * | POST /webhooks/twilio/voice, …/voice/gather | X-Twilio-Signature | receipt (call status) / ack (key 1) |
 * | POST /webhooks/resend | Svix signature | receipt |
 * | POST /webhooks/aws-sms-voice | SNS signature, topic allow-list (403) | receipt (second route's events) |
 * | POST /webhooks/aws-sms-voice/inbound | SNS signature, topic allow-list (403) | ack (`ACK <code>` reply, two-way) |
 * | POST /events/cloudwatch | x-api-key | alarm |
 * | POST /events/alertmanager | Bearer / Basic (ALERTMANAGER_TOKENS) | alarm (source alertmanager): alert-routes.ts |
 * | POST /events/sns | SNS signature, topic allow-list (SNS_ALERT_TOPIC_ARNS, 403) | alarm (sns-events.ts) |
 * | POST /v2/enqueue | routing key (EVENTS_V2_ROUTING_KEYS) | alarm (source events-v2); PagerDuty's answers |
 * | GET/POST /heartbeat/<token> | the token (HEARTBEAT_SECRET; wrong: 404) | check-in: heartbeat-route.ts |
 * | POST /api/v1/ingest/events | x-api-key | receipts |
 * | GET /ack, POST /ack | signed link | ack (POST only) |
 * | GET/POST /console/sign-in…, POST /console/sign-out | emailed one-time link → session cookie | — (auth/) |
 * | GET /console/…, POST /console/incidents/{id}/… | session (+ CSRF on POST) | ack, action (console/) |
 * | /api/v1/incidents…, /api/v1/me, /api/v1/openapi.json | session + CSRF, or Bearer API key | ack (api/) |
 * | GET /healthz | — | — (200 `{status, stream: {reachable, checkedAt, error?}, console_auth?: {…}, rejected}`) |
 *
 * 2xx only after the stream acknowledged the records; 401 (nothing written) when not authentic; 413
 * over BODY_LIMIT_BYTES; for an authentic but malformed payload (kept in the error sink; JSON nested
 * over 64 levels included, body-parse.ts): 400 on the API-key routes, 202 `{kept: 'errors'}` on the
 * provider webhooks (Twilio and Svix retry any non-2xx for a day or more; a verified event that is not
 * one of our pages is 202 `{ignored}`, webhook-outcome.ts); 503 only when the stream, the error sink or
 * a dependency fails (the sender retries). Never a 5xx for a bad body: whatever a handler did not
 * expect becomes a logged 400, or 202 on a verified webhook (http.ts `guarded`). Duplicates get the same
 * event_id. Test/receiver/fuzz.test.ts holds every POST route to this.
 */
export function createApp(deps: AppDeps & AckPageDeps & { console?: ApiDeps & ConsoleUiOptions }): Hono {
  const now = deps.now ?? Date.now;
  const rejections = deps.rejections ?? new RejectionLog(deps.logger, { now });
  const routeDeps: RouteDeps & AckPageDeps = { ...deps, now, rejections };
  const app = new Hono();
  // Always 200 while the process serves: the ALB target group (infra/cdk/services.ts, healthyHttpCodes
  // '200') would otherwise deregister and ECS replace every healthy receiver during a Kinesis outage,
  // which fixes nothing and drops the requests in flight; the receiver's own 503s on failed writes
  // already tell Twilio and Resend to retry. `degraded` is for people and dashboards.
  // With the console on, `console_auth` is its sign-in table (sessions are checked there on every request).
  app.get('/healthz', async (c) => {
    const rejected = rejections.counts();
    const [stream, consoleAuth] = await Promise.all([deps.streamHealth?.check(), deps.console?.authHealth?.check()]);
    const down = [stream, consoleAuth].some((d) => d !== undefined && !d.reachable);
    return c.json(
      {
        status: down ? 'degraded' : 'ok',
        ...(stream ? { stream } : {}),
        ...(consoleAuth ? { console_auth: consoleAuth } : {}),
        rejected,
      },
      200,
    );
  });
  twilioRoutes(app, routeDeps);
  twilioVoiceRoutes(app, routeDeps);
  resendRoutes(app, routeDeps);
  awsSmsVoiceRoutes(app, routeDeps);
  alarmRoutes(app, routeDeps);
  alertRoutes(app, routeDeps);
  heartbeatRoutes(app, routeDeps);
  snsEventsRoutes(app, routeDeps);
  ingestRoutes(app, routeDeps);
  ackRoutes(app, routeDeps);
  // Sign-in and the incident API (auth/routes.ts, api/routes.ts): mounted when the console is configured.
  // The console's pages (console/routes.ts): its live streams end when their session signs out.
  if (deps.console) {
    let live: LiveHub | undefined;
    signInRoutes(app, routeDeps, { ...deps.console, onSignOut: (id) => live?.closeSession(id) });
    apiRoutes(app, routeDeps, deps.console);
    live = consoleRoutes(app, routeDeps, deps.console);
  }
  app.notFound((c) => c.json({ error: 'not found' }, 404));
  app.onError((err, c) => {
    deps.logger.error({ err: err.message, path: c.req.path }, 'unhandled error');
    return c.json({ error: 'internal error' }, 500);
  });
  return app;
}
