import { Hono } from 'hono';
import { ackRoutes } from './ack-page.js';
import { alarmRoutes } from './alarm-intake.js';
import type { AppDeps, RouteDeps } from './http.js';
import { ingestRoutes } from './ingest.js';
import { resendRoutes } from './resend-webhook.js';
import { twilioRoutes } from './twilio-webhook.js';

export type { AppDeps, AckCodeResolver, ReceiverLogger, StreamWriter } from './http.js';

/**
 * The receiver as one hono app (tests call `app.request(...)` in-process; main.ts serves it):
 *
 * | route | auth | writes |
 * |---|---|---|
 * | POST /webhooks/twilio | X-Twilio-Signature | receipt (status callback) or ack (`ACK <code>` reply) |
 * | POST /webhooks/resend | Svix signature | receipt |
 * | POST /events/cloudwatch | x-api-key | alarm |
 * | POST /api/v1/ingest/events | x-api-key | receipts |
 * | GET /ack, POST /ack | signed link | ack (POST only) |
 * | GET /healthz | — | — |
 *
 * 2xx only after the stream acknowledged the records; 401 (nothing written) when not authentic; 413
 * over BODY_LIMIT_BYTES; 400 for an authentic but malformed payload (kept in the error sink); 503
 * when the stream or a dependency fails (the sender retries). Duplicates get the same event_id.
 */
export function createApp(deps: AppDeps): Hono {
  const routeDeps: RouteDeps = { ...deps, now: deps.now ?? Date.now };
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ ok: true }));
  twilioRoutes(app, routeDeps);
  resendRoutes(app, routeDeps);
  alarmRoutes(app, routeDeps);
  ingestRoutes(app, routeDeps);
  ackRoutes(app, routeDeps);
  app.notFound((c) => c.json({ error: 'not found' }, 404));
  app.onError((err, c) => {
    deps.logger.error({ err: err.message, path: c.req.path }, 'unhandled error');
    return c.json({ error: 'internal error' }, 500);
  });
  return app;
}
