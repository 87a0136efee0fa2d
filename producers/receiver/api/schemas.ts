import { z } from 'zod';

/** The schemas the OpenAPI document names (`#/components/schemas/<id>`). */
export const apiRegistry = z.registry<{ id: string }>();

/**
 * The incident API's requests and answers (`/api/v1`), one zod schema each: the routes validate with them, the
 * OpenAPI document (openapi.ts) is generated from them, and the tests check every answer against them.
 * Times are ISO-8601 UTC strings; ids are the stream's (`inc_…`).
 */

const Iso = z.iso.datetime({ offset: true });

export const IncidentStatus = z.enum(['open', 'acknowledged', 'resolved']);
export type IncidentStatus = z.infer<typeof IncidentStatus>;

/**
 * The lake's part of an answer: how fresh it is (its data age: the newest committed flush of any shard), or why it
 * could not be read (S3 or Athena down, a timeout): the live part answers all the same.
 */
export const LakeFreshness = z
  .discriminatedUnion('available', [
    z.object({
      available: z.literal(true),
      engine: z.enum(['duckdb', 'athena']).describe('DuckDB over the local lake cache, or Athena (ENGINE)'),
      data_as_of: Iso.nullable().describe('the newest flush the lake holds; null: nothing flushed yet, or unknown'),
      age_seconds: z.number().int().min(0).nullable().describe('read_at − data_as_of'),
      from_cache: z.boolean().describe('S3 did not answer: read from the local lake cache, as of its last listing'),
      text: z.string().describe('the same in words, as `make incident` says it ("lake data as of …")'),
    }),
    z.object({
      available: z.literal(false),
      error: z.string().describe('why the lake part is missing from this answer'),
    }),
  ])
  .register(apiRegistry, { id: 'LakeFreshness' });
export type LakeFreshness = z.infer<typeof LakeFreshness>;

/** Where an answer's data comes from and when it was read. */
export const Freshness = z
  .object({
    from: z
      .enum(['paging-state', 'lake', 'paging-state+lake'])
      .describe(
        'paging-state: the paging processor’s DynamoDB state (live, read at read_at); lake: the history the ' +
          'lake keeps (seconds to a minute behind; see lake); paging-state+lake: both',
      ),
    read_at: Iso,
    lake: LakeFreshness.optional().describe('present when the answer asked the lake'),
  })
  .register(apiRegistry, { id: 'Freshness' });
export type Freshness = z.infer<typeof Freshness>;

export const ErrorBody = z
  .object({ error: z.string() })
  .catchall(z.unknown())
  .describe('What went wrong, in words; 400s name the field (`issues`).')
  .register(apiRegistry, { id: 'Error' });

export const ListQuery = z.strictObject({
  status: IncidentStatus.optional(),
  team: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,128}$/)
    .optional(),
  since: Iso.optional().describe(
    'incidents opened at or after this time; default: 7 days ago. Without status or with status=resolved, the ' +
      'resolved incidents the lake keeps beyond the paging state’s are listed too',
  ),
  cursor: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,400}$/)
    .optional()
    .describe('next_cursor of the previous page'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const IncidentIdParam = z.strictObject({ id: z.string().regex(/^[A-Za-z0-9_.:-]{4,128}$/) });

export const IncidentSummary = z
  .object({
    id: z.string(),
    alarm_name: z.string(),
    alarm_arn: z.string(),
    severity: z.string(),
    team: z.string().nullable(),
    status: IncidentStatus,
    opened_at: Iso,
    level: z.number().int(),
    acked_at: Iso.optional(),
    acked_by: z.string().optional(),
    resolved_at: Iso.optional(),
    exhausted_at: Iso.optional(),
    responder: z.string().optional().describe('the person a reassign made the responder'),
    snoozed_until: Iso.optional().describe('a snooze in force: the escalation pauses until then'),
    snoozed_by: z.string().optional(),
  })
  .register(apiRegistry, { id: 'IncidentSummary' });
export type IncidentSummary = z.infer<typeof IncidentSummary>;

export const IncidentList = z
  .object({
    incidents: z.array(IncidentSummary),
    next_cursor: z.string().nullable(),
    source: Freshness,
  })
  .register(apiRegistry, { id: 'IncidentList' });

export const PageEvidence = z
  .object({
    person: z.string(),
    person_name: z.string().optional(),
    level: z.number().int(),
    round: z.number().int(),
    channel: z.string(),
    status: z.string().describe('pending → sent → delivered → opened/read, or failed'),
    message_id: z.string().optional(),
    sent_at: Iso.optional(),
    failed_over: z.boolean().optional(),
    notice: z.string().optional().describe('not a page: an ack or resolve notice told to someone already paged'),
  })
  .register(apiRegistry, { id: 'PageEvidence' });

export const TimelineEntry = z.object({ at: Iso, what: z.string() }).register(apiRegistry, { id: 'TimelineEntry' });

export const IncidentDetail = z
  .object({
    incident: IncidentSummary,
    pages: z.array(PageEvidence),
    timeline: z
      .array(TimelineEntry)
      .describe('the paging state’s steps; an incident only the lake has: the lake’s timeline (`make incident`)'),
    history: z
      .array(TimelineEntry)
      .optional()
      .describe(
        'an incident the paging state has: the lake’s timeline of it in `make incident`’s words (every receipt ' +
          'with its time; empty while the lake has nothing of it yet); absent when the lake was not read',
      ),
    source: Freshness,
  })
  .register(apiRegistry, { id: 'IncidentDetail' });

/** POST /incidents/{id}/acknowledge: no fields (an empty body or `{}`). */
export const AcknowledgeBody = z.strictObject({}).register(apiRegistry, { id: 'AcknowledgeBody' });

/** POST /incidents/{id}/resolve: optional words on why (kept with the record). */
export const ResolveBody = z
  .strictObject({ note: z.string().trim().min(1).max(2000).optional() })
  .register(apiRegistry, { id: 'ResolveBody' });

/** POST /incidents/{id}/notes: the note. */
export const NoteBody = z
  .strictObject({ note: z.string().trim().min(1).max(2000) })
  .register(apiRegistry, { id: 'NoteBody' });

/** POST /incidents/{id}/escalate: optional words on why (kept with the record). */
export const EscalateBody = z
  .strictObject({ note: z.string().trim().min(1).max(2000).optional() })
  .register(apiRegistry, { id: 'EscalateBody' });

/** POST /incidents/{id}/reassign: the person (an id of the on-call file) paged now and made the responder. */
export const ReassignBody = z
  .strictObject({
    person: z
      .string()
      .regex(/^[a-z0-9_.-]{1,128}$/)
      .describe('a person id of the on-call file'),
    note: z.string().trim().min(1).max(2000).optional(),
  })
  .register(apiRegistry, { id: 'ReassignBody' });

/** Snooze bounds (minutes). */
export const SNOOZE_MIN = 5;
export const SNOOZE_MAX = 1440;

/** POST /incidents/{id}/snooze: how long the escalation pauses. */
export const SnoozeBody = z
  .strictObject({
    minutes: z.number().int().min(SNOOZE_MIN).max(SNOOZE_MAX).describe('5..1440'),
    note: z.string().trim().min(1).max(2000).optional(),
  })
  .register(apiRegistry, { id: 'SnoozeBody' });

export const ActionAccepted = z
  .object({
    accepted: z.literal(true),
    action: z.enum(['acknowledge', 'resolve', 'note', 'escalate', 'reassign', 'snooze']),
    incident_id: z.string(),
    event_id: z.string().describe('the record written to the stream; the paging engine applies it'),
    via: z.enum(['api', 'console']),
    person: z.string(),
  })
  .register(apiRegistry, { id: 'ActionAccepted' });
export type ActionAccepted = z.infer<typeof ActionAccepted>;

export const Me = z
  .object({
    kind: z.enum(['person', 'key']),
    id: z.string().describe('person id, or key id'),
    name: z.string(),
    role: z.enum(['viewer', 'responder', 'admin']).optional(),
    teams: z.array(z.string()),
    actions: z.array(z.string()).optional(),
    csrf: z.string().optional().describe('a session’s CSRF token: send it as x-csrf-token on every POST'),
  })
  .register(apiRegistry, { id: 'Me' });

/** Where an on-call answer comes from: the on-call file the receiver loaded, and when. */
export const FileSource = z
  .object({ from: z.literal('oncall-file'), loaded_at: Iso })
  .register(apiRegistry, { id: 'FileSource' });

export const OnCallQuery = z.strictObject({
  at: Iso.optional().describe('the time to ask about; default now'),
});

const Why = {
  person: z.string().nullable().describe('null: nobody on call'),
  person_name: z.string().optional(),
  layer: z.string().optional().describe('the layer’s name (or index), or the override’s index'),
  source: z.enum(['override', 'rotation', 'ical']).optional(),
  override: z.literal(true).optional(),
};

export const OnCallAnswer = z
  .object({
    at: Iso,
    schedules: z.array(z.object({ schedule: z.string(), time_zone: z.string(), ...Why })),
    teams: z.array(
      z.object({
        team: z.string(),
        severity: z.string(),
        level: z.number().int().min(1),
        people: z.array(
          z.object({
            person: z.string(),
            person_name: z.string().optional(),
            target: z.string().describe('the level’s target that put them there: a person, team:<id>, schedule:<id>'),
            schedule: z.string().optional(),
            layer: z.string().optional(),
            override: z.literal(true).optional(),
          }),
        ),
      }),
    ),
    source: FileSource,
  })
  .register(apiRegistry, { id: 'OnCall' });

export const ScheduleIdParam = z.strictObject({ id: z.string().regex(/^[a-z0-9_.-]{1,128}$/) });

export const ShiftsQuery = z
  .strictObject({
    from: Iso.optional().describe('default now'),
    to: Iso.optional().describe('default from + 14 days; at most 62 days after from'),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.to) > Date.parse(q.from), {
    message: 'to must be after from',
    path: ['to'],
  });

export const ShiftsAnswer = z
  .object({
    schedule: z.string(),
    time_zone: z.string(),
    from: Iso,
    to: Iso,
    shifts: z.array(z.object({ from: Iso, to: Iso, ...Why })),
    source: FileSource,
  })
  .register(apiRegistry, { id: 'Shifts' });
