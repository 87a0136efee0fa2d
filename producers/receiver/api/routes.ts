import type { Context, Hono } from 'hono';
import type { z } from 'zod';
import type { RouteDeps } from '../http.js';
import { readBody, utf8 } from '../http.js';
import { parseJson } from '../body-parse.js';
import { authDepsOf, type ConsoleDeps } from '../auth/routes.js';
import { authenticate, checkCsrf, checkOrigin, presentedCsrf, requireRead, type Principal } from '../auth/principal.js';
import { csrfTokenOf } from '../auth/session.js';
import { acknowledge, addNote, escalate, incidentOrNotFound, reassign, resolve, snooze } from './actions.js';
import { UnavailableError } from '../errors.js';
import { ApiInputError, NotFoundError } from './errors.js';
import { lakePagesOf, lakeSummaryOf, lakeTimelineOf, mergeResolved, readLake, sourceOf } from './history.js';
import type { LakeHistory } from './lake.js';
import { errorAnswer, validate } from './guard.js';
import type { ActionAccepted } from './schemas.js';
import { pagesOf, summaryOf, timelineOf, type IncidentSource } from './incidents.js';
import { openApiDocument } from './openapi.js';
import { onCallAnswer, shiftsAnswer } from './oncall.js';
import {
  AcknowledgeBody,
  EscalateBody,
  IncidentIdParam,
  ListQuery,
  NoteBody,
  OnCallQuery,
  ReassignBody,
  ResolveBody,
  ScheduleIdParam,
  ShiftsQuery,
  SnoozeBody,
} from './schemas.js';
import type { IcalCalendar } from '../../../shared/schedules/ical.js';

/**
 * The incident API under /api/v1 (JSON; the routes and their schemas: openapi.ts, served as /api/v1/openapi.json).
 * Every route but the document needs a principal (auth/principal.ts): a session cookie or `Authorization: Bearer
 * <API key>`; a POST with a session needs its CSRF token (`x-csrf-token`). Answers: guard.ts `errorAnswer` — never
 * a 500 for a bad request. Live data comes from the paging state, history from the lake (history.ts): the resolved
 * incidents the paging state no longer holds, each incident's lake timeline; `source` says which, and how fresh the
 * lake part is. A lake that cannot be read leaves its part out (`source.lake.available: false`), never the answer.
 */
export interface ApiDeps extends ConsoleDeps {
  incidents: IncidentSource;
  /** The schedules' iCalendar layers as last loaded (shared/schedules/ical-feed.ts); default none. */
  calendars?: () => ReadonlyMap<string, IcalCalendar>;
  /** When the on-call file was loaded (epoch ms); default when the routes were mounted. */
  oncallLoadedAt?: number;
  /** The lake: incidents the paging state no longer holds, each incident's history, the analytics (lake.ts). */
  lake?: LakeHistory;
  /** How long an answer waits for the lake before it answers without it (default history.ts LAKE_TIMEOUT_MS). */
  lakeTimeoutMs?: number;
}

const DAY_MS = 86_400_000;
const NO_CALENDARS: ReadonlyMap<string, IcalCalendar> = new Map();

const cursorOf = (openedAt: number, id: string) => Buffer.from(`${openedAt}:${id}`).toString('base64url');
function parseCursor(cursor: string): { openedAt: number; id: string } {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^(\d{1,16}):(.{4,128})$/.exec(text);
  if (!m) throw new ApiInputError('query', [{ path: 'cursor', message: 'not a cursor this API gave' }]);
  return { openedAt: Number(m[1]), id: m[2] };
}

/** The JSON body of a POST (empty = `{}`), validated by `schema`. */
async function jsonBodyOf<T extends z.ZodType>(c: Context, deps: RouteDeps, schema: T): Promise<z.output<T>> {
  const text = utf8(await readBody(c.req.raw, Math.min(deps.config.BODY_LIMIT_BYTES, 64 * 1024)));
  if (text.trim() === '') return validate(schema, {}, 'body');
  const type = c.req.header('content-type') ?? '';
  if (!type.startsWith('application/json'))
    throw new ApiInputError('body', [{ path: '', message: 'send application/json' }]);
  return validate(schema, parseJson(text), 'body');
}

export function apiRoutes(app: Hono, deps: RouteDeps, api: ApiDeps): void {
  const auth = authDepsOf(deps, api);
  const base = '/api/v1';
  const loadedAt = new Date(api.oncallLoadedAt ?? deps.now()).toISOString();
  const fileSource = { from: 'oncall-file' as const, loaded_at: loadedAt };
  const calendars = () => api.calendars?.() ?? NO_CALENDARS;

  /** A route: authenticate, then `handle`; every failure through errorAnswer. */
  const route =
    (name: string, handle: (c: Context, p: Principal) => Promise<Response>) =>
    async (c: Context): Promise<Response> => {
      try {
        // answers name people and incidents: never kept by a browser or a proxy
        c.header('cache-control', 'no-store');
        return await handle(c, await authenticate(c, auth, deps.now()));
      } catch (err) {
        return errorAnswer(c, deps.logger, name, err);
      }
    };

  app.get(`${base}/openapi.json`, (c) =>
    c.json(openApiDocument(deps.config.PUBLIC_BASE_URL), 200, { 'cache-control': 'no-cache' }),
  );

  app.get(
    `${base}/me`,
    route('GET /api/v1/me', async (c, p) => {
      if (p.kind === 'key')
        return c.json({ kind: 'key', id: p.keyId, name: p.name, teams: p.teams, actions: p.actions }, 200);
      const person = api.oncall().people[p.person];
      return c.json(
        {
          kind: 'person',
          id: p.person,
          name: person?.name ?? p.person,
          role: p.role,
          teams: p.teams,
          csrf: csrfTokenOf(api.sessionSecret, p.sessionId),
        },
        200,
      );
    }),
  );

  app.get(
    `${base}/incidents`,
    route('GET /api/v1/incidents', async (c, p) => {
      const q = validate(ListQuery, c.req.query(), 'query');
      requireRead(p, q.team);
      const since = q.since ? Date.parse(q.since) : deps.now() - 7 * DAY_MS;
      const after = q.cursor ? parseCursor(q.cursor) : undefined;
      // a key without `*` lists its own teams only (a person reads every team): the index filters by team
      const keyTeams = p.kind === 'key' && !p.teams.includes('*') ? p.teams : undefined;
      const query = {
        ...(q.status ? { statuses: [q.status] } : {}),
        ...(q.team ? { teams: [q.team] } : keyTeams ? { teams: keyTeams } : {}),
        since,
        ...(after ? { after } : {}),
        limit: q.limit,
      };
      const page = await api.incidents.list(query);
      const readAt = deps.now();
      if (!api.lake || (q.status && q.status !== 'resolved')) {
        // open and acknowledged incidents are live: the paging state alone
        return c.json(
          {
            incidents: page.incidents.map(summaryOf),
            next_cursor: page.next ? cursorOf(page.next.openedAt, page.next.id) : null,
            source: sourceOf({ live: true }, readAt),
          },
          200,
        );
      }
      // resolved incidents the paging state no longer holds (its TTL): from the lake, the live ones win
      const lake = await readLake(api.lake, (r) => r.incidents(since, readAt + DAY_MS), {
        logger: deps.logger,
        route: 'GET /api/v1/incidents',
        timeoutMs: api.lakeTimeoutMs,
      });
      const merged = await mergeResolved(page, lake.value ?? [], query, async (id) => !!(await api.incidents.get(id)));
      return c.json(
        {
          incidents: merged.incidents,
          next_cursor: merged.next ? cursorOf(merged.next.openedAt, merged.next.id) : null,
          source: sourceOf({ live: true, lake: { ...lake, used: merged.fromLake > 0 } }, readAt),
        },
        200,
      );
    }),
  );

  app.get(
    `${base}/incidents/:id`,
    route('GET /api/v1/incidents/:id', async (c, p) => {
      const { id } = validate(IncidentIdParam, { id: c.req.param('id') }, 'path');
      const state = await api.incidents.get(id);
      if (state) requireRead(p, state.team);
      const readAt = deps.now();
      const lake = api.lake
        ? await readLake(api.lake, (r) => r.incident(id), {
            logger: deps.logger,
            route: 'GET /api/v1/incidents/:id',
            timeoutMs: api.lakeTimeoutMs,
          })
        : undefined;
      const found = lake?.value;
      const cfg = api.oncall();
      if (state)
        // live: the paging state's state, pages and steps; the lake's timeline of it as its history
        return c.json(
          {
            incident: summaryOf(state),
            pages: pagesOf(state, cfg),
            timeline: timelineOf(state, cfg),
            ...(lake?.freshness.available ? { history: found ? lakeTimelineOf(found.timeline) : [] } : {}),
            source: sourceOf({ live: true, ...(lake ? { lake: { ...lake, used: found !== undefined } } : {}) }, readAt),
          },
          200,
        );
      // no longer in the paging state (its TTL), or never: the lake's history alone
      if (lake && !lake.freshness.available)
        throw new UnavailableError('lake', { cause: new Error(lake.freshness.error) });
      if (!lake || !found) throw new NotFoundError(`incident ${id}`);
      const summary = lakeSummaryOf(found.summary);
      requireRead(p, summary.team ?? undefined);
      return c.json(
        {
          incident: summary,
          pages: lakePagesOf(found.timeline),
          timeline: lakeTimelineOf(found.timeline),
          source: sourceOf({ live: false, lake: { ...lake, used: true } }, readAt),
        },
        200,
      );
    }),
  );

  app.get(
    `${base}/oncall`,
    route('GET /api/v1/oncall', async (c, p) => {
      const q = validate(OnCallQuery, c.req.query(), 'query');
      requireRead(p, undefined);
      const at = q.at ? Date.parse(q.at) : deps.now();
      return c.json({ ...onCallAnswer(api.oncall(), at, calendars()), source: fileSource }, 200);
    }),
  );

  app.get(
    `${base}/schedules/:id/shifts`,
    route('GET /api/v1/schedules/:id/shifts', async (c, p) => {
      const { id } = validate(ScheduleIdParam, { id: c.req.param('id') }, 'path');
      const q = validate(ShiftsQuery, c.req.query(), 'query');
      requireRead(p, undefined);
      const from = q.from ? Date.parse(q.from) : deps.now();
      const to = q.to ? Date.parse(q.to) : from + 14 * DAY_MS;
      if (to <= from || to - from > 62 * DAY_MS)
        throw new ApiInputError('query', [{ path: 'to', message: 'must be after from, at most 62 days after it' }]);
      return c.json({ ...shiftsAnswer(api.oncall(), id, from, to, calendars()), source: fileSource }, 200);
    }),
  );

  app.post(
    `${base}/incidents/:id/acknowledge`,
    route('POST /api/v1/incidents/:id/acknowledge', async (c, p) => {
      if (p.kind === 'person') checkOrigin(c, deps.config.PUBLIC_BASE_URL);
      checkCsrf(p, api.sessionSecret, presentedCsrf(c));
      const { id } = validate(IncidentIdParam, { id: c.req.param('id') }, 'path');
      await jsonBodyOf(c, deps, AcknowledgeBody);
      const accepted = await acknowledge({ ...deps, incidents: api.incidents }, p, id, 'api');
      deps.logger.info(
        { route: 'POST /api/v1/incidents/:id/acknowledge', incident_id: id, person: accepted.person },
        'acknowledged by the API',
      );
      return c.json(accepted, 202);
    }),
  );

  app.post(
    `${base}/incidents/:id/resolve`,
    route('POST /api/v1/incidents/:id/resolve', async (c, p) => {
      if (p.kind === 'person') checkOrigin(c, deps.config.PUBLIC_BASE_URL);
      checkCsrf(p, api.sessionSecret, presentedCsrf(c));
      const { id } = validate(IncidentIdParam, { id: c.req.param('id') }, 'path');
      const body = await jsonBodyOf(c, deps, ResolveBody);
      const accepted = await resolve({ ...deps, incidents: api.incidents }, p, id, 'api', body.note);
      deps.logger.info(
        { route: 'POST /api/v1/incidents/:id/resolve', incident_id: id, person: accepted.person },
        'resolved',
      );
      return c.json(accepted, 202);
    }),
  );

  app.post(
    `${base}/incidents/:id/notes`,
    route('POST /api/v1/incidents/:id/notes', async (c, p) => {
      if (p.kind === 'person') checkOrigin(c, deps.config.PUBLIC_BASE_URL);
      checkCsrf(p, api.sessionSecret, presentedCsrf(c));
      const { id } = validate(IncidentIdParam, { id: c.req.param('id') }, 'path');
      const body = await jsonBodyOf(c, deps, NoteBody);
      const accepted = await addNote({ ...deps, incidents: api.incidents }, p, id, 'api', body.note);
      return c.json(accepted, 202);
    }),
  );

  // escalate, reassign, snooze: an action record each; the paging engine decides (escalation.ts)
  const acts = { ...deps, incidents: api.incidents, oncall: api.oncall };
  const post = (action: string, run: (c: Context, p: Principal, id: string) => Promise<ActionAccepted>) =>
    app.post(
      `${base}/incidents/:id/${action}`,
      route(`POST /api/v1/incidents/:id/${action}`, async (c, p) => {
        if (p.kind === 'person') checkOrigin(c, deps.config.PUBLIC_BASE_URL);
        checkCsrf(p, api.sessionSecret, presentedCsrf(c));
        const { id } = validate(IncidentIdParam, { id: c.req.param('id') }, 'path');
        const accepted = await run(c, p, id);
        deps.logger.info(
          { route: `POST /api/v1/incidents/:id/${action}`, incident_id: id, person: accepted.person },
          `${action} by the API`,
        );
        return c.json(accepted, 202);
      }),
    );
  post('escalate', async (c, p, id) => escalate(acts, p, id, 'api', (await jsonBodyOf(c, deps, EscalateBody)).note));
  post('reassign', async (c, p, id) => {
    const body = await jsonBodyOf(c, deps, ReassignBody);
    return reassign(acts, p, id, 'api', body.person, body.note);
  });
  post('snooze', async (c, p, id) => {
    const body = await jsonBodyOf(c, deps, SnoozeBody);
    return snooze(acts, p, id, 'api', body.minutes, body.note);
  });
}
