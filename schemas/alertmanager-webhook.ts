import { z } from 'zod';
import { isTimestamp } from './time.js';

/**
 * Prometheus Alertmanager's webhook notification, version "4" (`webhook_configs`), as documented in Alertmanager's
 * docs/configuration.md ("<webhook_config>") and built by notify/webhook/webhook.go (`Message`: template.Data plus
 * `version`, `groupKey`, `truncatedAlerts`). One notification carries one aggregation group: `groupKey` names it
 * (`<route key>:<group labels>`), `status` is `resolved` only when every alert listed is resolved, and each alert
 * is identified by its `fingerprint` (a firing alert's `endsAt` is Go's zero time, `0001-01-01T00:00:00Z`).
 * Fields added by later versions (`notification_reason`, `routeLabels`) are kept (loose objects): the payload is
 * evidence. Known-answer example: fixtures/alertmanager-webhook-v4.json (from notify/webhook/webhook_test.go
 * `TestWebhookDefaultPayload`; fixtures/README.md).
 */
const Labels = z.record(z.string(), z.string());
const GoTime = z.string().min(1).refine(isTimestamp, 'not an RFC 3339 timestamp');

export const AlertmanagerAlert = z.looseObject({
  status: z.enum(['firing', 'resolved']),
  labels: Labels,
  annotations: Labels.default({}),
  startsAt: GoTime,
  endsAt: GoTime.optional(),
  generatorURL: z.string().default(''),
  fingerprint: z.string().min(1).max(64),
});
export type AlertmanagerAlert = z.infer<typeof AlertmanagerAlert>;

export const AlertmanagerWebhook = z.looseObject({
  version: z.literal('4'),
  groupKey: z.string().min(1).max(1024),
  truncatedAlerts: z.number().int().min(0).default(0),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().max(256),
  groupLabels: Labels.default({}),
  commonLabels: Labels.default({}),
  commonAnnotations: Labels.default({}),
  externalURL: z.string().default(''),
  alerts: z.array(AlertmanagerAlert).min(1),
});
export type AlertmanagerWebhook = z.infer<typeof AlertmanagerWebhook>;
