import { z } from 'zod';
import { Severity } from '../status.js';

/**
 * The on-call file's `sources` section: how alarms from sources other than CloudWatch (Alertmanager, PagerDuty
 * Events API v2 clients: schemas/alert-record.ts) find their severity and team. Optional; the defaults are what a
 * team moving from PagerDuty or Opsgenie expects:
 *
 * - severity: the alarm's `severity_label` (Alertmanager's common label `severity`; events-v2's
 *   `payload.severity`), its value looked up case-insensitively in `severities` (critical P1, error P2, warning P3,
 *   info P4; `P1`..`P4` always stand for themselves); no label or an unknown value: SEVERITY_MAP by alarm name,
 *   then SEVERITY_DEFAULT, as for a CloudWatch alarm;
 * - team: the alarm's `team_label` when it names a team of the file; else (events-v2) the name its routing key
 *   maps to, when that is a team or one of `services` (its team); else the `routes` by alarm-name prefix; else
 *   `default_team`.
 *
 * Example: {"severity_label": "severity", "severities": {"critical": "P1", "page": "P1", "ticket": "P4"},
 *  "team_label": "team", "services": {"checkout-api": {"team": "payments"}}}
 */
export const DEFAULT_SOURCE_SEVERITIES: Record<string, Severity> = {
  critical: 'P1',
  error: 'P2',
  warning: 'P3',
  info: 'P4',
};

const Service = z.strictObject({
  /** The team the service's alarms page. */
  team: z.string().min(1),
});

export const Sources = z
  .strictObject({
    severity_label: z.string().min(1).default('severity'),
    /** Severity words → P1..P4, case-insensitive; replaces the defaults when given. */
    severities: z.record(z.string().min(1), Severity).default(DEFAULT_SOURCE_SEVERITIES),
    team_label: z.string().min(1).default('team'),
    /** Names a routing key may map to that are not team ids (EVENTS_V2_ROUTING_KEYS), each with its team. */
    services: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . -'), Service).default({}),
  })
  .prefault({});
export type Sources = z.infer<typeof Sources>;

/** A label's value by name, the name matched case-insensitively (an exact match first); trimmed, empty = none. */
export function labelValue(labels: Record<string, string>, name: string): string | undefined {
  let value = Object.hasOwn(labels, name) ? labels[name] : undefined;
  if (value === undefined) {
    const lower = name.toLowerCase();
    const key = Object.keys(labels).find((k) => k.toLowerCase() === lower);
    value = key === undefined ? undefined : labels[key];
  }
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/** The severity the labels name (`severity_label` through `severities`, or P1..P4), else undefined. */
export function sourceSeverity(sources: Sources, labels: Record<string, string>): Severity | undefined {
  const word = labelValue(labels, sources.severity_label);
  if (word === undefined) return undefined;
  const direct = Severity.safeParse(word.toUpperCase());
  if (direct.success) return direct.data;
  const lower = word.toLowerCase();
  const key = Object.keys(sources.severities).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : sources.severities[key];
}

/**
 * The team the labels or the service name: the `team_label` when it is a team; else the service when it is a team or
 * one of `services`; else undefined (the routes and the default team decide).
 */
export function sourceTeam(
  sources: Sources,
  teams: Readonly<Record<string, unknown>>,
  labels: Record<string, string>,
  service?: string,
): string | undefined {
  const labelled = labelValue(labels, sources.team_label);
  if (labelled !== undefined && Object.hasOwn(teams, labelled)) return labelled;
  if (service === undefined) return undefined;
  if (Object.hasOwn(teams, service)) return service;
  return Object.hasOwn(sources.services, service) ? sources.services[service].team : undefined;
}
