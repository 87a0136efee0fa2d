import { z } from 'zod';
import { isTimestamp } from './time.js';

/**
 * A PagerDuty Events API v2 alert event (`POST /v2/enqueue`), as PagerDuty documents it: developer-docs
 * docs/events-API-v2/02-Trigger-Events.md and api-schema reference/events-v2/openapiv3.json. `routing_key` (the
 * integration key) and `event_action` (`trigger`, `acknowledge`, `resolve`) always; `dedup_key` (≤ 255 characters)
 * required unless triggering; a trigger's `payload` needs `summary` (≤ 1024), `source` and `severity`
 * (`critical`, `error`, `warning`, `info`). Known-answer examples: fixtures/events-v2-*.json (fixtures/README.md).
 *
 * `eventsV2Problems` checks an event the way PagerDuty answers it: every problem as one line of the 400 body's
 * `errors` (never a zod message about our internals); `EventsV2Event` is the shape once they are none.
 */
export const EVENTS_V2_SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;
export const EVENTS_V2_ACTIONS = ['trigger', 'acknowledge', 'resolve'] as const;
export type EventsV2Action = (typeof EVENTS_V2_ACTIONS)[number];

export const EventsV2Payload = z.looseObject({
  summary: z.string().min(1).max(1024),
  source: z.string().min(1),
  severity: z.enum(EVENTS_V2_SEVERITIES),
  timestamp: z.string().optional(),
  component: z.string().optional(),
  group: z.string().optional(),
  class: z.string().optional(),
  custom_details: z.unknown().optional(),
});

export const EventsV2Event = z.looseObject({
  routing_key: z.string().min(1),
  event_action: z.enum(EVENTS_V2_ACTIONS),
  dedup_key: z.string().min(1).max(255).optional(),
  payload: EventsV2Payload.optional(),
  client: z.string().optional(),
  client_url: z.string().optional(),
});
export type EventsV2Event = z.infer<typeof EventsV2Event>;

const blank = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
const str = (v: unknown) => typeof v === 'string';

/** What is wrong with the event, one line each (empty: valid). Never throws for any JSON value. */
export function eventsV2Problems(json: unknown): string[] {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return ['Event must be a JSON object'];
  const e = json as Record<string, unknown>;
  const out: string[] = [];
  if (blank(e.routing_key) || !str(e.routing_key)) out.push("'routing_key' is missing or blank");
  const action = e.event_action;
  if (blank(action)) out.push("'event_action' is missing or blank");
  else if (!EVENTS_V2_ACTIONS.includes(action as EventsV2Action))
    out.push("'event_action' must be one of trigger, acknowledge or resolve");
  if (e.dedup_key !== undefined && e.dedup_key !== null) {
    if (!str(e.dedup_key)) out.push("'dedup_key' must be a string");
    else if ((e.dedup_key as string).length > 255) out.push("'dedup_key' is longer than 255 characters");
    else if ((e.dedup_key as string).trim() === '' && action !== 'trigger') out.push("'dedup_key' is blank");
  } else if (action === 'acknowledge' || action === 'resolve') out.push("'dedup_key' is missing or blank");
  if (action === 'trigger') {
    const p = e.payload;
    if (typeof p !== 'object' || p === null || Array.isArray(p)) out.push("'payload' is missing or not an object");
    else {
      const payload = p as Record<string, unknown>;
      if (blank(payload.summary) || !str(payload.summary)) out.push("'payload.summary' is missing or blank");
      else if ((payload.summary as string).length > 1024) out.push("'payload.summary' is longer than 1024 characters");
      if (blank(payload.source) || !str(payload.source)) out.push("'payload.source' is missing or blank");
      if (blank(payload.severity)) out.push("'payload.severity' is missing or blank");
      else if (!EVENTS_V2_SEVERITIES.includes(payload.severity as (typeof EVENTS_V2_SEVERITIES)[number]))
        out.push("'payload.severity' must be one of critical, error, warning or info");
      if (payload.timestamp !== undefined && (!str(payload.timestamp) || !isTimestamp(payload.timestamp as string)))
        out.push("'payload.timestamp' is not an ISO 8601 timestamp");
      for (const f of ['component', 'group', 'class'] as const)
        if (payload[f] !== undefined && !str(payload[f])) out.push(`'payload.${f}' must be a string`);
    }
  }
  return out;
}
