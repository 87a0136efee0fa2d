import { z } from 'zod';
import {
  AcknowledgeBody,
  ActionAccepted,
  NoteBody,
  ReassignBody,
  ResolveBody,
  EscalateBody,
  SnoozeBody,
  ErrorBody,
  IncidentDetail,
  IncidentIdParam,
  IncidentList,
  ListQuery,
  Me,
  OnCallAnswer,
  OnCallQuery,
  ScheduleIdParam,
  ShiftsAnswer,
  ShiftsQuery,
  apiRegistry,
} from './schemas.js';

/**
 * The incident API's routes as data, and the OpenAPI 3.1 document generated from them (`GET /api/v1/openapi.json`):
 * the same zod schemas validate the requests (routes.ts) and, in the tests, every answer. Request schemas are
 * rendered as the input they accept, answers as the output they give (zod's `io` option).
 */
export interface ApiRouteSpec {
  method: 'get' | 'post';
  /** OpenAPI form, under /api/v1 (`{id}` for a path parameter). */
  path: string;
  operationId: string;
  summary: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** A state-changing route (CSRF token with a session). */
  changes?: true;
  responses: Record<number, { description: string; schema: z.ZodType }>;
}

const err = (description: string) => ({ description, schema: ErrorBody });
const AUTH = {
  401: err('no session cookie nor API key, or an invalid one'),
  503: err('a dependency (DynamoDB, the stream; the lake for an incident only it holds) failed: retry'),
};

export const API_ROUTES: ApiRouteSpec[] = [
  {
    method: 'get',
    path: '/me',
    operationId: 'whoAmI',
    summary: 'Who is asking: the person (role, teams, the session’s CSRF token) or the API key (teams, actions)',
    responses: { 200: { description: 'the principal', schema: Me }, ...AUTH },
  },
  {
    method: 'get',
    path: '/incidents',
    operationId: 'listIncidents',
    summary:
      'Incidents, newest first, live from the paging state; without status or with status=resolved also the ' +
      'resolved incidents the lake keeps beyond the paging state (the live one wins); paged by cursor',
    query: ListQuery,
    responses: {
      200: { description: 'a page of incidents', schema: IncidentList },
      400: err('a query parameter is invalid (named in issues)'),
      403: err('the API key may not read this team'),
      ...AUTH,
    },
  },
  {
    method: 'get',
    path: '/incidents/{id}',
    operationId: 'getIncident',
    summary:
      'One incident: its state, the pages with their delivery evidence, and its timeline; from the paging state ' +
      'with the lake’s timeline as `history`, or, once the paging state no longer holds it, from the lake',
    params: IncidentIdParam,
    responses: {
      200: { description: 'the incident', schema: IncidentDetail },
      400: err('the id is malformed'),
      403: err('the API key may not read this incident’s team'),
      404: err('no such incident in the paging state nor in the lake'),
      ...AUTH,
    },
  },
  {
    method: 'get',
    path: '/oncall',
    operationId: 'whoIsOnCall',
    summary: 'Who is on call at `at` (default now): per schedule and per team’s escalation level, with why',
    query: OnCallQuery,
    responses: {
      200: { description: 'who is on call', schema: OnCallAnswer },
      400: err('`at` is not an ISO-8601 time'),
      403: err('the API key may not read'),
      ...AUTH,
    },
  },
  {
    method: 'get',
    path: '/schedules/{id}/shifts',
    operationId: 'scheduleShifts',
    summary: 'A schedule’s shifts in [from, to): who, when, and why (layer, override); gaps have person null',
    params: ScheduleIdParam,
    query: ShiftsQuery,
    responses: {
      200: { description: 'the shifts', schema: ShiftsAnswer },
      400: err('a bad time, to before from, or a range over 62 days'),
      403: err('the API key may not read'),
      404: err('no such schedule in the on-call file'),
      ...AUTH,
    },
  },
  {
    method: 'post',
    path: '/incidents/{id}/acknowledge',
    operationId: 'acknowledgeIncident',
    summary: 'Acknowledge: writes an ack record (via api) that stops the escalation once the paging engine reads it',
    params: IncidentIdParam,
    body: AcknowledgeBody,
    changes: true,
    responses: {
      202: { description: 'the ack record is on the stream', schema: ActionAccepted },
      400: err('the body or id is invalid'),
      403: err('not allowed on this team’s incidents, or the CSRF token is missing or wrong'),
      404: err('no such incident'),
      409: err('the incident is resolved or already acknowledged (the message says when and by whom)'),
      413: err('body too large'),
      ...AUTH,
    },
  },
  {
    method: 'post',
    path: '/incidents/{id}/resolve',
    operationId: 'resolveIncident',
    summary:
      'Resolve by hand: writes an action record (resolve); the paging engine stops the incident, tells those paged',
    params: IncidentIdParam,
    body: ResolveBody,
    changes: true,
    responses: {
      202: { description: 'the action record is on the stream', schema: ActionAccepted },
      400: err('the body or id is invalid'),
      403: err('not allowed on this team’s incidents, or the CSRF token is missing or wrong'),
      404: err('no such incident'),
      409: err('the incident is resolved already (the message says when)'),
      413: err('body too large'),
      ...AUTH,
    },
  },
  {
    method: 'post',
    path: '/incidents/{id}/notes',
    operationId: 'addIncidentNote',
    summary: 'Add a note to the incident’s history: an action record (note) the lake keeps; resolved incidents too',
    params: IncidentIdParam,
    body: NoteBody,
    changes: true,
    responses: {
      202: { description: 'the note is on the stream', schema: ActionAccepted },
      400: err('no note, or the body or id is invalid'),
      403: err('not allowed on this team’s incidents, or the CSRF token is missing or wrong'),
      404: err('no such incident'),
      413: err('body too large'),
      ...AUTH,
    },
  },
  byHand(
    'escalate',
    'escalateIncident',
    'Escalate now: an action record (escalate); the paging engine pages the next level as its deadline would ' +
      '(past the last: repeat, then exhausted) and records it `manual`; an acknowledged incident is reopened',
    EscalateBody,
    'the incident is resolved, its policy is exhausted, or it runs no policy (the message says which)',
  ),
  byHand(
    'reassign',
    'reassignIncident',
    'Reassign: an action record (reassign); the paging engine pages the person now on the level’s channels, makes ' +
      'them the responder and restarts the level’s deadline (then the policy goes on)',
    ReassignBody,
    'the incident is resolved',
  ),
  byHand(
    'snooze',
    'snoozeIncident',
    'Snooze 5..1440 minutes: an action record (snooze). Open: no page until it ends, the level’s deadline moves by ' +
      'the snooze; acknowledged: at its end the ack is lifted and the level paged again. An ack or resolve wins',
    SnoozeBody,
    'the incident is resolved, its policy is exhausted, or it runs no policy (the message says which)',
  ),
];

/** An action by hand on an incident (escalate, reassign, snooze): the same answers. */
function byHand(action: string, operationId: string, summary: string, body: z.ZodType, conflict: string): ApiRouteSpec {
  return {
    method: 'post',
    path: `/incidents/{id}/${action}`,
    operationId,
    summary,
    params: IncidentIdParam,
    body,
    changes: true,
    responses: {
      202: { description: 'the action record is on the stream', schema: ActionAccepted },
      400: err('the body or id is invalid (the message names the field)'),
      403: err('not allowed on this team’s incidents, or the CSRF token is missing or wrong'),
      404: err('no such incident'),
      409: err(conflict),
      413: err('body too large'),
      ...AUTH,
    },
  };
}

const toSchema = (schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> => {
  const id = apiRegistry.get(schema)?.id;
  if (id) return { $ref: `#/components/schemas/${id}` };
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    target: 'draft-2020-12',
  }) as Record<string, unknown>;
  return rest;
};

function parameters(spec: ApiRouteSpec) {
  const out: unknown[] = [];
  for (const [where, obj] of [
    ['path', spec.params],
    ['query', spec.query],
  ] as const) {
    if (!obj) continue;
    for (const [name, field] of Object.entries(obj.shape)) {
      const schema = toSchema(field as z.ZodType, 'input');
      out.push({
        name,
        in: where,
        required: where === 'path' || !(field as z.ZodType).safeParse(undefined).success,
        ...(typeof schema.description === 'string' ? { description: schema.description } : {}),
        schema,
      });
    }
  }
  return out;
}

/** The OpenAPI 3.1 document of /api/v1. */
export function openApiDocument(serverUrl: string): Record<string, unknown> {
  const components = z.toJSONSchema(apiRegistry, {
    io: 'output',
    unrepresentable: 'any',
    target: 'draft-2020-12',
    uri: (id) => `#/components/schemas/${id}`,
  }).schemas;
  for (const s of Object.values(components)) {
    delete (s as { $schema?: string }).$schema;
    delete (s as { $id?: string }).$id;
  }
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of API_ROUTES) {
    const op: Record<string, unknown> = {
      operationId: spec.operationId,
      summary: spec.summary,
      parameters: parameters(spec),
      ...(spec.body
        ? {
            requestBody: {
              required: false,
              content: { 'application/json': { schema: toSchema(spec.body, 'input') } },
            },
          }
        : {}),
      responses: Object.fromEntries(
        Object.entries(spec.responses).map(([status, r]) => [
          status,
          { description: r.description, content: { 'application/json': { schema: toSchema(r.schema, 'output') } } },
        ]),
      ),
      ...(spec.changes
        ? { description: 'With a session cookie, send the session’s CSRF token (GET /me) as x-csrf-token.' }
        : {}),
    };
    paths[spec.path] = { ...paths[spec.path], [spec.method]: op };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'pagetrail incident API',
      version: '1.0.0',
      description:
        'Live incidents from the paging state, their history from the lake (each answer’s `source` says which, and ' +
        'how fresh the lake part is), and actions that write records to the stream like every other ' +
        'acknowledgement. Sign in by the console (a session cookie) or send an API key (`make api-key`).',
    },
    servers: [{ url: `${serverUrl}/api/v1` }],
    security: [{ apiKey: [] }, { session: [] }],
    components: {
      schemas: components,
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'ptk_… from `make api-key`' },
        session: { type: 'apiKey', in: 'cookie', name: '__Host-pagetrail_session' },
      },
    },
    paths,
  };
}
