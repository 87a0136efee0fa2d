import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { Severity } from '../status.js';
import { OnCallConfigError } from './errors.js';
import { jsonSyntaxProblem } from './json-text.js';
import { Schedule, unknownPeopleIn } from './schedule.js';
import { Flapping, MaintenanceWindow, QuietHours } from './quiet.js';
import { Sources } from './sources.js';
import { Heartbeats } from './heartbeats.js';

/**
 * The on-call configuration: people and their addresses, teams, and an escalation policy per severity.
 * Example: infra/local/oncall/demo.json. Validated at start-up; an error names the file and the path of
 * the bad field (`escalation.P1.levels[0].channels[1]: …`).
 *
 * No silent routing (`policyRouteFor`): an alarm whose team has no policy for its severity pages the team's
 * `default_policy`, else the file's `unrouted_fallback` (paged once), and is recorded `unrouted`; only when neither
 * exists is it paged to nobody (an `unrouted` record and an error-level log line). `make oncall-check` lists every
 * (team, severity) pair without a policy and what it falls back to.
 */
export const PageChannel = z.enum(['sms', 'whatsapp', 'email', 'voice']);
export type PageChannel = z.infer<typeof PageChannel>;

const Person = z.strictObject({
  name: z.string().min(1),
  sms: z
    .string()
    .regex(/^\+[1-9]\d{6,14}$/, 'an E.164 phone number like +15551230001')
    .optional(),
  whatsapp: z
    .string()
    .regex(/^whatsapp:\+[1-9]\d{6,14}$/, 'whatsapp:+<E.164 number>')
    .optional(),
  email: z.email().optional(),
  /** The number a voice page calls (Twilio Calls API). */
  voice: z
    .string()
    .regex(/^\+[1-9]\d{6,14}$/, 'an E.164 phone number like +15551230001')
    .optional(),
  /**
   * What the person may do in the console and the incident API (they sign in by a link mailed to `email`):
   * `viewer` reads, `responder` (the default) also acts on the incidents of the teams they are a member of,
   * `admin` acts on every team's.
   */
  role: z.enum(['viewer', 'responder', 'admin']).optional(),
});
export type ConsoleRole = 'viewer' | 'responder' | 'admin';

const Level = z.strictObject({
  /** People ids, `team:<id>` for every member of a team, or `schedule:<id>` for whoever is on call in a schedule. */
  targets: z.array(z.string().min(1)).min(1),
  /** Channels tried at once, for each target that has the address. */
  channels: z.array(PageChannel).min(1),
  /** Seconds after the level is paged before it escalates, unless stopped. */
  deadline_s: z.number().int().positive(),
  /**
   * What stops the level's deadline: a page delivered, a page opened/read, or only an ack.
   * Default `ack`. (Delivered does not mean seen: a P1 should wait for an ack.)
   */
  stop_on: z.enum(['delivered', 'opened', 'ack']).default('ack'),
});
export type Level = z.infer<typeof Level>;

/** Voice wakes people, it does not inform them; WhatsApp would need an approved template per notice. */
export const NoticeChannel = z.enum(['sms', 'email']);
export type NoticeChannel = z.infer<typeof NoticeChannel>;
const Notify = z.strictObject({
  on: z
    .array(z.enum(['ack', 'resolve']))
    .min(1)
    .default(['ack', 'resolve']),
  channels: z.array(NoticeChannel).min(1).default(['sms', 'email']),
  /**
   * Told as well, though not paged: people, `team:<id>`, `schedule:<id>` (resolved when told), e.g. the rest of the
   * team.
   */
  also: z.array(z.string().min(1)).default([]),
});

/** Targets paged once, on every listed channel they have (a policy's `fallback`, the file's `unrouted_fallback`). */
const FallbackTargets = z.strictObject({
  targets: z.array(z.string().min(1)).min(1),
  channels: z.array(PageChannel).min(1),
});
export type FallbackTargets = z.infer<typeof FallbackTargets>;

const Policy = z.strictObject({
  levels: z.array(Level).min(1),
  /** When a page fails (undelivered, bounced…), the next channel of this list the person has. */
  failover: z.array(PageChannel).default(['sms', 'whatsapp', 'email']),
  /**
   * Delivery deadlines, seconds after a page was sent by which its delivery evidence (delivered, opened, clicked)
   * must be back; a page still silent then fails over to the person's next channel, as a failure receipt would
   * (`cause: no_receipt`). Per channel; 0 turns a channel's off. Scheduled only when it falls before the level's
   * own deadline (after it, the level escalates anyway). Defaults: SMS 90, WhatsApp 60, email 120, voice 60.
   */
  delivery_s: z
    .strictObject({
      sms: z.number().int().min(0).max(3600).default(90),
      whatsapp: z.number().int().min(0).max(3600).default(60),
      email: z.number().int().min(0).max(3600).default(120),
      voice: z.number().int().min(0).max(3600).default(60),
    })
    .default({ sms: 90, whatsapp: 60, email: 120, voice: 60 }),
  /**
   * Times the whole policy runs again after its last level's deadline (PagerDuty's "repeat this policy"). Default 0.
   */
  repeat: z.number().int().min(0).max(10).default(0),
  /**
   * Who is paged, once, when the policy has run out (after its repeats): e.g. an engineering manager
   * or a NOC. Without it an exhausted policy only writes its `exhausted` record.
   */
  fallback: FallbackTargets.optional(),
  /**
   * Tell the people already paged when the incident is acknowledged ("… acknowledged by Carol") or
   * resolved: once each, on the channels they were paged on that are listed here (someone paged only
   * by voice or WhatsApp is told on the first of them they have). Off when absent.
   */
  notify: Notify.optional(),
});
export type Policy = z.infer<typeof Policy>;

const Team = z.strictObject({
  members: z.array(z.string()).default([]),
  /** Escalation policy per severity. */
  escalation: z.partialRecord(Severity, Policy),
  /**
   * The policy for an alarm of a severity `escalation` has no policy for (recorded `unrouted`, fallback
   * `team_default`). Without it such an alarm pages the file's `unrouted_fallback`.
   */
  default_policy: Policy.optional(),
  /** Low severities on fewer channels at night (schemas/oncall/quiet.ts). */
  quiet_hours: QuietHours.optional(),
});

const Route = z.strictObject({
  /** Metric namespace of the alarm (AWS/ECS, AWS/RDS). */
  namespace: z.string().optional(),
  /** Alarm name prefix. */
  alarm_prefix: z.string().optional(),
  team: z.string(),
});

export const OnCallConfig = z
  .strictObject({
    people: z.record(z.string().regex(/^[a-z0-9_.-]+$/, 'lowercase id'), Person),
    teams: z.record(z.string(), Team),
    /** Who is on call when (shared/schedules): targeted as `schedule:<id>`. */
    schedules: z.record(z.string().regex(/^[a-z0-9_.-]+$/, 'lowercase id'), Schedule).default({}),
    /** First match wins; an alarm tag `team` overrides; else `default_team`. */
    routes: z.array(Route).default([]),
    default_team: z.string(),
    twilio: z.strictObject({
      sms_from: z
        .string()
        .regex(/^\+[1-9]\d{6,14}$/)
        .optional(),
      whatsapp_from: z
        .string()
        .regex(/^whatsapp:\+[1-9]\d{6,14}$/)
        .optional(),
      messaging_service_sid: z
        .string()
        .regex(/^MG[0-9a-f]{32}$/)
        .optional(),
      /** The caller id of voice pages (a Twilio number, E.164); required when a policy pages by voice. */
      voice_from: z
        .string()
        .regex(/^\+[1-9]\d{6,14}$/)
        .optional(),
    }),
    /** Approved WhatsApp content templates per severity (business-initiated messages need one). */
    whatsapp_templates: z
      .partialRecord(
        Severity,
        z.strictObject({ content_sid: z.string().regex(/^HX[0-9a-f]{32}$/, 'a Content SID like HX + 32 hex') }),
      )
      .default({}),
    email: z.strictObject({ from: z.string().min(3), reply_to: z.string().optional() }),
    /** Runbook links by alarm name prefix (longest match wins). */
    runbooks: z.record(z.string(), z.url()).default({}),
    /** Alarms inside one of these windows are recorded as suppressed and never paged (schemas/oncall/quiet.ts). */
    maintenance: z.array(MaintenanceWindow).default([]),
    /** Flapping: an ALARM within window_s of the OK continues the incident it resolved. Default 300 s. */
    flapping: Flapping.default({ window_s: 300 }),
    /**
     * Paged once (every target, on every listed channel they have) for an alarm whose team has neither a policy for
     * its severity nor a `default_policy` (recorded `unrouted`, fallback `global`): e.g. a NOC. Without it such an
     * alarm pages nobody: an `unrouted` record and an error-level log line.
     */
    unrouted_fallback: FallbackTargets.optional(),
    /** Alarms from Alertmanager and Events API v2 clients: severity and team by label (schemas/oncall/sources.ts). */
    sources: Sources,
    /** Checks that must check in every period (schemas/oncall/heartbeats.ts): a missed one opens an incident. */
    heartbeats: Heartbeats,
  })
  .superRefine((cfg, ctx) => {
    const teamKnown = (t: string, path: PropertyKey[]) => {
      if (!(t in cfg.teams)) ctx.addIssue({ code: 'custom', path, message: `unknown team "${t}"` });
    };
    teamKnown(cfg.default_team, ['default_team']);
    for (const [id, schedule] of Object.entries(cfg.schedules)) {
      for (const issue of unknownPeopleIn(schedule, cfg.people))
        ctx.addIssue({ code: 'custom', path: ['schedules', id, ...issue.path], message: issue.message });
    }
    const targetProblem = (t: string): string | undefined => {
      if (t.startsWith('team:')) return t.slice(5) in cfg.teams ? undefined : `unknown team "${t.slice(5)}"`;
      if (t.startsWith('schedule:'))
        return t.slice(9) in cfg.schedules ? undefined : `unknown schedule "${t.slice(9)}"`;
      return t in cfg.people ? undefined : `unknown person "${t}"`;
    };
    const targetsKnown = (targets: readonly string[], path: PropertyKey[]) => {
      targets.forEach((t, j) => {
        const problem = targetProblem(t);
        if (problem) ctx.addIssue({ code: 'custom', path: [...path, j], message: problem });
      });
    };
    for (const [id, schedule] of Object.entries(cfg.schedules))
      targetsKnown(schedule.drill?.owner ?? [], ['schedules', id, 'drill', 'owner']);
    cfg.routes.forEach((r, i) => {
      teamKnown(r.team, ['routes', i, 'team']);
    });
    for (const [name, service] of Object.entries(cfg.sources.services))
      teamKnown(service.team, ['sources', 'services', name, 'team']);
    for (const [id, check] of Object.entries(cfg.heartbeats)) teamKnown(check.team, ['heartbeats', id, 'team']);
    cfg.maintenance.forEach((w, i) => {
      if (w.match.team !== undefined) teamKnown(w.match.team, ['maintenance', i, 'match', 'team']);
    });
    for (const [team, def] of Object.entries(cfg.teams)) {
      def.members.forEach((m, j) => {
        if (!(m in cfg.people))
          ctx.addIssue({ code: 'custom', path: ['teams', team, 'members', j], message: `unknown person "${m}"` });
      });
      if (def.quiet_hours?.channels.includes('voice') && !cfg.twilio.voice_from) {
        ctx.addIssue({
          code: 'custom',
          path: ['teams', team, 'quiet_hours', 'channels'],
          message: 'voice needs a caller id (twilio.voice_from)',
        });
      }
      for (const sev of def.quiet_hours?.channels.includes('whatsapp') ? def.quiet_hours.severities : []) {
        if (!cfg.whatsapp_templates[sev])
          ctx.addIssue({
            code: 'custom',
            path: ['whatsapp_templates', sev],
            message: `team ${team} pages ${sev} on WhatsApp in quiet hours: an approved content template is required`,
          });
      }
      // the default policy pages every severity the team has no policy for: each needs what its channels need
      const uncovered = Severity.options.filter((sev) => !def.escalation[sev]);
      const policies: [string, Policy | undefined, PropertyKey[], readonly Severity[]][] = [
        ...Object.entries(def.escalation).map(
          ([sev, p]): [string, Policy | undefined, PropertyKey[], readonly Severity[]] => [
            sev,
            p,
            ['teams', team, 'escalation', sev],
            [sev as Severity],
          ],
        ),
        ['default_policy', def.default_policy, ['teams', team, 'default_policy'], uncovered],
      ];
      for (const [name, policy, path, severities] of policies) {
        const channels = new Set(policy?.levels.flatMap((level) => level.channels));
        policy?.levels.forEach((level, i) => {
          targetsKnown(level.targets, [...path, 'levels', i, 'targets']);
        });
        for (const sev of channels.has('whatsapp') ? severities : []) {
          if (!cfg.whatsapp_templates[sev])
            ctx.addIssue({
              code: 'custom',
              path: ['whatsapp_templates', sev],
              message: `team ${team} pages ${sev} on WhatsApp: an approved content template is required`,
            });
        }
        if (channels.has('voice') && !cfg.twilio.voice_from) {
          ctx.addIssue({
            code: 'custom',
            path: ['twilio', 'voice_from'],
            message: `team ${team} pages ${name} by voice: a caller id (twilio.voice_from) is required`,
          });
        }
        targetsKnown(policy?.notify?.also ?? [], [...path, 'notify', 'also']);
        targetsKnown(policy?.fallback?.targets ?? [], [...path, 'fallback', 'targets']);
      }
    }
    if (cfg.unrouted_fallback) {
      targetsKnown(cfg.unrouted_fallback.targets, ['unrouted_fallback', 'targets']);
      if (cfg.unrouted_fallback.channels.includes('voice') && !cfg.twilio.voice_from)
        ctx.addIssue({
          code: 'custom',
          path: ['twilio', 'voice_from'],
          message: 'unrouted_fallback pages by voice: a caller id (twilio.voice_from) is required',
        });
      for (const sev of cfg.unrouted_fallback.channels.includes('whatsapp') ? Severity.options : []) {
        if (!cfg.whatsapp_templates[sev])
          ctx.addIssue({
            code: 'custom',
            path: ['whatsapp_templates', sev],
            message: `unrouted_fallback pages any severity on WhatsApp: an approved ${sev} template is required`,
          });
      }
    }
  });
export type OnCallConfig = z.infer<typeof OnCallConfig>;

const pathOf = (path: readonly PropertyKey[]) =>
  path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('') || '(root)';

export function parseOnCallConfig(json: unknown, source = 'on-call config'): OnCallConfig {
  const parsed = OnCallConfig.safeParse(json);
  if (!parsed.success) {
    throw new OnCallConfigError(
      source,
      parsed.error.issues.map((i) => `${pathOf(i.path)}: ${i.message}`),
    );
  }
  return parsed.data;
}

/** Reads and validates the file; a JSON syntax error is placed as `line:column: invalid JSON: …`. */
export function loadOnCallConfig(file: string): OnCallConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new OnCallConfigError(file, [`cannot read: ${cause instanceof Error ? cause.message : String(cause)}`], {
      cause,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    const at = jsonSyntaxProblem(text, cause instanceof Error ? cause : new Error(String(cause)));
    throw new OnCallConfigError(file, [`${at.line}:${at.column}: invalid JSON: ${at.message}`], { cause });
  }
  return parseOnCallConfig(json, file);
}

/** The people a level (or a policy's fallback) pages (teams expanded, each once, in order). */
export function levelPeople(cfg: OnCallConfig, level: Pick<Level, 'targets'>): string[] {
  const out: string[] = [];
  for (const t of level.targets)
    for (const p of t.startsWith('team:') ? cfg.teams[t.slice(5)].members : [t]) if (!out.includes(p)) out.push(p);
  return out;
}

/** The team an alarm pages: its `team` tag, else the first matching route, else the default team. */
export function teamFor(
  cfg: OnCallConfig,
  alarm: { alarmName: string; namespace?: string; tags?: Record<string, string> },
): string {
  const tagged = alarm.tags?.team;
  if (tagged && tagged in cfg.teams) return tagged;
  const route = cfg.routes.find(
    (r) =>
      (!r.namespace || r.namespace === alarm.namespace) &&
      (!r.alarm_prefix || alarm.alarmName.startsWith(r.alarm_prefix)),
  );
  return route?.team ?? cfg.default_team;
}

/** The team's own escalation policy for a severity; undefined when it has none (see `policyRouteFor`). */
export function policyFor(cfg: OnCallConfig, team: string, severity: Severity): Policy | undefined {
  return cfg.teams[team]?.escalation[severity];
}

/**
 * What an alarm of (team, severity) pages — one rule, no silent routing: the team's policy for the severity
 * (`policy`), else the team's `default_policy` (`team_default`), else the file's `unrouted_fallback`, paged once
 * (`global`), else nobody (`none`). All but `policy` are recorded as `unrouted` with the fallback's name.
 */
export type PolicyRoute =
  | { fallback?: undefined; policy: Policy }
  | { fallback: 'team_default'; policy: Policy }
  | { fallback: 'global'; targets: FallbackTargets }
  | { fallback: 'none' };
export type UnroutedFallback = NonNullable<PolicyRoute['fallback']>;

export function policyRouteFor(cfg: OnCallConfig, team: string, severity: Severity): PolicyRoute {
  const own = policyFor(cfg, team, severity);
  if (own) return { policy: own };
  const teamDefault = cfg.teams[team]?.default_policy;
  if (teamDefault) return { fallback: 'team_default', policy: teamDefault };
  if (cfg.unrouted_fallback) return { fallback: 'global', targets: cfg.unrouted_fallback };
  return { fallback: 'none' };
}

/** The escalation policy an incident of (team, severity) runs: its own, else the team's default; else none. */
export function effectivePolicyFor(cfg: OnCallConfig, team: string, severity: Severity): Policy | undefined {
  return policyFor(cfg, team, severity) ?? cfg.teams[team]?.default_policy;
}

export function addressOf(cfg: OnCallConfig, person: string, channel: PageChannel): string | undefined {
  return cfg.people[person]?.[channel];
}

export function runbookFor(cfg: OnCallConfig, alarmName: string): string | undefined {
  let best: string | undefined;
  for (const prefix of Object.keys(cfg.runbooks))
    if (alarmName.startsWith(prefix) && (!best || prefix.length > best.length)) best = prefix;
  return best ? cfg.runbooks[best] : undefined;
}
