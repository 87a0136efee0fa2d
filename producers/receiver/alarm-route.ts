import type { Hono } from 'hono';
import { intakeAlarms } from './alarm-intake.js';
import { apiRoute, type RouteDeps } from './http.js';

/**
 * POST /events/cloudwatch (x-api-key) — what an EventBridge API destination sends: one CloudWatch
 * "Alarm State Change" event, or an array of them, through the alarm intake (alarm-intake.ts). 200 with
 * what was written; 202 when every alarm was ignored (a namespace outside ALARM_NAMESPACES); 400 (the
 * body kept in the error sink) for an event that can never become a record; 503 when the stream fails.
 */
export function alarmRoutes(app: Hono, deps: RouteDeps): void {
  const route = '/events/cloudwatch';
  apiRoute(app, deps, route, async (c, json) => {
    const { written, ignored } = await intakeAlarms(json, deps);
    for (const i of ignored) deps.logger.info({ route, alarm: i.alarm, reason: i.reason }, 'alarm ignored');
    if (written.length === 0) {
      return c.json({ ignored: Array.isArray(json) ? ignored : ignored[0].reason }, 202);
    }
    deps.logger.info({ route, written: written.length, ignored: ignored.length }, 'alarms written');
    return c.json({ written, ...(ignored.length ? { ignored } : {}) }, 200);
  });
}
