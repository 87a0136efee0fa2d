import type { Context, Hono } from 'hono';
import type { RouteDeps } from '../http.js';
import { UnavailableError, StreamWriteError, BodyTooLargeError, BodyReadError } from '../errors.js';
import { authDepsOf, formOrJson } from '../auth/routes.js';
import { authenticate, checkCsrf, checkOrigin, type Principal } from '../auth/principal.js';
import { CsrfError, ForbiddenError, NotSignedInError } from '../auth/errors.js';
import { csrfTokenOf, sessionCookieValue, verifySession } from '../auth/session.js';
import { acknowledge, addNote, escalate, incidentOrNotFound, reassign, resolve, snooze } from '../api/actions.js';
import { ApiInputError, ConflictError, NotFoundError } from '../api/errors.js';
import { validate } from '../api/guard.js';
import type { ApiDeps } from '../api/routes.js';
import { EscalateBody, IncidentIdParam, NoteBody, ReassignBody, ResolveBody } from '../api/schemas.js';
import { onCallAnswer, shiftsAnswer } from '../api/oncall.js';
import type { IcalCalendar } from '../../../shared/schedules/ical.js';
import { LIVE_JS } from './client.js';
import { CONSOLE_HEADERS, consolePage, esc, timeTag } from './layout.js';
import { LiveHub } from './live.js';
import { incidentFragment, incidentsFragment } from './views.js';
import { analyticsBody, analyticsRange } from './analytics.js';
import { historyFragment } from './history.js';

/**
 * The console under /console, for people signed in by the emailed link (auth/routes.ts):
 *
 * | route | what |
 * |---|---|
 * | GET /console/ | the open incidents now (paging state): severity, level, who is paged, their delivery |
 * | GET /console/incidents/{id} | status, pages, timeline; forms: Acknowledge, Resolve, Escalate, Snooze, … |
 * | GET /console/incidents/{id}/history[?part=1] | the lake's timeline chart and verdicts, drawn by the report's |
 * | | code (history.ts); `part=1`: the fragment the incident page's script puts in place |
 * | POST /console/incidents/{id}/{action} | acknowledge, resolve, notes, escalate, reassign, snooze: a form with |
 * | | `csrf`; 303 back with a message (api/actions.ts, `via: console`) |
 * | GET /console/events[?incident=] | Server-Sent Events: the live region's HTML when it changes (live.ts) |
 * | GET /console/oncall | who is on call now, and each schedule's shifts for two weeks (overrides marked) |
 * | GET /console/analytics[?from&to] | the lake's funnel, percentiles and MTTA for a range of UTC days, drawn by |
 * | | the report's own chart code, with the lake data's age (analytics.ts) |
 *
 * Without a session every route sends the browser to the sign-in page (303); an API key is refused (403: the
 * console is for people). An action answers 303 to the incident page (post/redirect/get) with a message, or the
 * incident page itself with the reason in words: 409 (resolved, already acknowledged), 403 (role, team, CSRF).
 */
export interface ConsoleUiOptions {
  /** The paging state's poll for the live updates, ms (default 2000), and the heartbeat (default 15000). */
  livePollMs?: number;
  liveHeartbeatMs?: number;
}

const DAY_MS = 86_400_000;
/** The most open incidents the console's list shows (newest first). */
const OPEN_MAX = 500;
const NO_CALENDARS: ReadonlyMap<string, IcalCalendar> = new Map();

type Person = Extract<Principal, { kind: 'person' }>;

const DONE: Record<string, string> = {
  acknowledge:
    'Acknowledged. The escalation stops and the people already paged are told; this page shows it as soon as ' +
    'the paging state has it.',
  resolve: 'Resolved. The people already paged are told.',
  note: 'Note added to the incident’s history.',
  escalate: 'Escalated: the next level is paged now; this page shows it as soon as the paging state has it.',
  reassign: 'Reassigned: that person is paged now and is the responder.',
  snooze: 'Snoozed: no page until the snooze ends (an acknowledgement or a resolve still counts).',
};

/** The snooze lengths the form offers (minutes, within api/schemas.ts SNOOZE_MIN..SNOOZE_MAX). */
const SNOOZE_CHOICES = [15, 30, 60, 120, 240, 480];
const optional = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v : undefined);

/** The console's live hub, for the sign-out route to end a session's streams. */
export type ConsoleLive = LiveHub;

export function consoleRoutes(app: Hono, deps: RouteDeps, api: ApiDeps & ConsoleUiOptions): LiveHub {
  const auth = authDepsOf(deps, api);
  const limit = Math.min(deps.config.BODY_LIMIT_BYTES, 16 * 1024);
  const calendars = () => api.calendars?.() ?? NO_CALENDARS;
  /** The open (and acknowledged) incidents, newest first, at most OPEN_MAX (the list index: api/incidents.ts). */
  const openIncidents = async () =>
    (await api.incidents.list({ statuses: ['open', 'acknowledged'], limit: OPEN_MAX })).incidents;
  const live = new LiveHub({
    read: async (want) => {
      const open = want.open ? await openIncidents() : [];
      const listed = new Set(open.map((s) => s.incidentId));
      const pages = await Promise.all(
        [...want.incidents].filter((id) => !listed.has(id)).map((id) => api.incidents.get(id)),
      );
      return [...open, ...pages.filter((s) => s !== undefined)];
    },
    now: deps.now,
    pollMs: api.livePollMs,
    heartbeatMs: api.liveHeartbeatMs,
    onError: (err) => deps.logger.warn({ err: (err as Error).message }, 'console: live poll failed'),
  });

  const send = (c: Context, status: number, body: string) => c.body(body, status as 200, CONSOLE_HEADERS);

  /** A page for a signed-in person; no session: to the sign-in page; an API key: 403. */
  const page =
    (name: string, handle: (c: Context, p: Person) => Promise<Response>) =>
    async (c: Context): Promise<Response> => {
      let p: Principal;
      try {
        p = await authenticate(c, auth, deps.now());
      } catch (err) {
        if (err instanceof NotSignedInError) {
          deps.logger.info({ route: name, reason: err.reason }, 'console: not signed in');
          return c.redirect('/console/sign-in', 303);
        }
        return failure(c, name, undefined, err);
      }
      if (p.kind !== 'person')
        return send(c, 403, consolePage({ title: 'Not for API keys', body: '<p>The console is for people.</p>' }));
      try {
        return await handle(c, p);
      } catch (err) {
        return failure(c, name, p, err);
      }
    };

  const whoOf = (p: Person) => ({
    name: api.oncall().people[p.person]?.name ?? p.person,
    csrf: csrfTokenOf(api.sessionSecret, p.sessionId),
  });

  /** An error as a page, in words (never a 500). */
  function failure(c: Context, name: string, p: Person | undefined, err: unknown): Response {
    const who = p ? whoOf(p) : undefined;
    const say = (status: number, title: string, words: string) =>
      send(c, status, consolePage({ title, who, body: `<p class="alert" role="alert">${esc(words)}</p>` }));
    if (err instanceof CsrfError) {
      deps.logger.warn({ route: name, reason: err.reason }, 'console: CSRF refused');
      return say(
        403,
        'Not done: form refused',
        'This form was out of date or sent from another site (CSRF check failed): nothing was changed. ' +
          'Go back, reload the page and try again.',
      );
    }
    if (err instanceof ForbiddenError) return say(403, 'Not allowed', `Nothing was changed: ${err.message}.`);
    if (err instanceof NotFoundError) return say(404, 'Not found', `${err.message}.`);
    if (err instanceof ApiInputError) return say(400, 'Not done', `Nothing was changed: ${err.message}.`);
    if (err instanceof BodyTooLargeError) return say(413, 'Not done', 'The form was too large.');
    if (err instanceof BodyReadError) return say(408, 'Not done', 'The form did not arrive: try again.');
    if (err instanceof UnavailableError || err instanceof StreamWriteError) {
      deps.logger.error({ route: name, err: (err.cause as Error | undefined)?.message }, 'console: 503');
      if (err instanceof UnavailableError && err.dependency.startsWith('console auth table'))
        return say(
          503,
          'Try again',
          'Your session cannot be checked right now (the sign-in table is not answering): nothing was changed. ' +
            'Retry in a few seconds.',
        );
      return say(503, 'Try again', 'The paging state or the stream is not answering: nothing was changed. Retry.');
    }
    deps.logger.error({ route: name, err: err instanceof Error ? err.name : typeof err }, 'console: unexpected');
    return say(400, 'Not done', 'The request was not understood: nothing was changed.');
  }

  app.get('/console', (c) => c.redirect('/console/', 301));

  app.get('/console/live.js', (c) =>
    c.body(LIVE_JS, 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    }),
  );

  app.get(
    '/console/',
    page('GET /console/', async (c, p) => {
      const now = deps.now();
      const states = await openIncidents();
      const body =
        `<div id="live" data-live="/console/events" data-now="${now}" aria-live="polite">` +
        `${incidentsFragment(states, api.oncall(), now)}</div>` +
        '<p class="muted">Updates by themselves while this page is open (with JavaScript); reload otherwise.</p>';
      return send(c, 200, consolePage({ title: 'Open incidents', nav: 'incidents', who: whoOf(p), body, live: true }));
    }),
  );

  app.get(
    '/console/events',
    page('GET /console/events', async (c, p) => {
      const q = c.req.query('incident');
      const id = q === undefined ? undefined : validate(IncidentIdParam, { id: q }, 'query').id;
      if (!live.admits(p.sessionId)) return c.text('too many live streams: close a tab', 429, { 'retry-after': '30' });
      const cfg = api.oncall;
      const session = verifySession(api.sessionSecret, sessionCookieValue(c.req.header('cookie'), auth.secure), 0);
      const expiresAt = 'invalid' in session ? deps.now() : session.expiresAt;
      const enc = new TextEncoder();
      let remove: (() => void) | undefined;
      let ctrl: ReadableStreamDefaultController<Uint8Array> | undefined;
      let open = true;
      const close = () => {
        if (!open) return;
        open = false;
        remove?.();
        try {
          ctrl?.close();
        } catch {
          // already closed by the browser
        }
      };
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          ctrl = controller;
          controller.enqueue(enc.encode('retry: 5000\n\n'));
        },
        cancel() {
          close();
        },
      });
      c.req.raw.signal?.addEventListener('abort', close);
      remove = await live.add({
        sessionId: p.sessionId,
        ...(id !== undefined ? { incidentId: id } : {}),
        alive: () => api.store.sessions.alive(p.sessionId, p.person, deps.now()),
        expiresAt,
        render: (states, now) => {
          if (id === undefined) return incidentsFragment(states, cfg(), now);
          const s = states.find((x) => x.incidentId === id);
          return s ? incidentFragment(s, cfg(), now) : undefined;
        },
        write: (text) => {
          if (!open || !ctrl) return false;
          try {
            ctrl.enqueue(enc.encode(text));
            return true;
          } catch {
            open = false;
            return false;
          }
        },
        close,
      });
      return new Response(stream, {
        status: 200,
        headers: {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          'x-accel-buffering': 'no',
        },
      });
    }),
  );

  /** The incident page; `message` above it (done, or why not: role="alert"). */
  async function incidentPage(c: Context, p: Person, id: string, status: number, message?: string, ok?: boolean) {
    const s = await incidentOrNotFound(api.incidents, id);
    const now = deps.now();
    const who = whoOf(p);
    const csrf = `<input type="hidden" name="csrf" value="${esc(who.csrf)}">`;
    const people = Object.entries(api.oncall().people)
      .filter(([id]) => id !== p.person)
      .map(([id, x]) => `<option value="${esc(id)}">${esc(x.name)}</option>`)
      .join('');
    const action = (what: string) => `/console/incidents/${encodeURIComponent(s.incidentId)}/${what}`;
    const msg = message
      ? `<p class="${ok ? 'note' : 'alert'}" role="${ok ? 'status' : 'alert'}">${esc(message)}</p>`
      : '';
    const forms =
      s.resolvedAt !== undefined
        ? ''
        : (s.ackedAt === undefined
            ? `<form method="post" action="${action('acknowledge')}">${csrf}` +
              '<button type="submit">Acknowledge</button></form>'
            : '') +
          `<form method="post" action="${action('resolve')}">${csrf}<label for="resolve-note">Why resolved ` +
          '(optional)</label><input id="resolve-note" name="note" maxlength="2000" autocomplete="off">' +
          '<button type="submit" class="secondary">Resolve</button></form>' +
          (s.exhaustedAt === undefined && !s.suppressedBy && s.level > 0
            ? `<form method="post" action="${action('escalate')}">${csrf}` +
              '<button type="submit" class="secondary">Escalate to the next level now</button></form>' +
              `<form method="post" action="${action('snooze')}">${csrf}<label for="snooze-min">Snooze for</label>` +
              `<select id="snooze-min" name="minutes">${SNOOZE_CHOICES.map(
                (m) =>
                  `<option value="${m}"${m === 30 ? ' selected' : ''}>${m < 60 ? `${m} minutes` : `${m / 60} h`}` +
                  '</option>',
              ).join('')}</select><button type="submit" class="secondary">Snooze</button></form>`
            : '') +
          `<form method="post" action="${action('reassign')}">${csrf}<label for="reassign-to">Reassign to</label>` +
          `<select id="reassign-to" name="person">${people}</select>` +
          '<button type="submit" class="secondary">Reassign and page them</button></form>';
    const body =
      `${msg}<p class="meta">Alarm <strong>${esc(s.alarmName)}</strong> · incident <code>${esc(s.incidentId)}</code>` +
      `</p><div id="live" data-live="/console/events?incident=${encodeURIComponent(s.incidentId)}" ` +
      `data-now="${now}" aria-live="polite">${incidentFragment(s, api.oncall(), now)}</div>` +
      `<section class="card actions" aria-labelledby="act-h"><h2 id="act-h">Act</h2>${forms}` +
      `<form method="post" action="${action('notes')}">${csrf}<label for="note">Add a note</label>` +
      '<textarea id="note" name="note" rows="3" maxlength="2000" required></textarea>' +
      '<button type="submit" class="secondary">Add note</button></form></section>' +
      `<section class="card" aria-labelledby="history-h"><h2 id="history-h">Timeline and verdicts</h2>` +
      `<div id="history" data-history="${action('history')}?part=1"><p><a href="${action('history')}">` +
      'The timeline chart and the verdicts, from the lake</a></p></div></section>';
    return send(
      c,
      status,
      consolePage({ title: `${s.severity} ${s.alarmName}`, nav: 'incidents', who, body, live: true }),
    );
  }

  app.get(
    '/console/incidents/:id',
    page('GET /console/incidents/:id', async (c, p) => {
      const { id } = validate(IncidentIdParam, { id: c.req.param('id') }, 'path');
      const done = c.req.query('done');
      return incidentPage(c, p, id, 200, done && DONE[done] ? DONE[done] : undefined, true);
    }),
  );

  app.get(
    '/console/incidents/:id/history',
    page('GET /console/incidents/:id/history', async (c, p) => {
      const { id } = validate(IncidentIdParam, { id: c.req.param('id') }, 'path');
      const inner = await historyFragment(id, api, deps.logger);
      if (c.req.query('part') === '1') return send(c, 200, inner);
      const back = `<p><a href="/console/incidents/${encodeURIComponent(id)}">← the incident</a></p>`;
      const title = 'Timeline and verdicts';
      return send(c, 200, consolePage({ title, nav: 'incidents', who: whoOf(p), body: `${back}${inner}` }));
    }),
  );

  /** POST an action: origin and CSRF first, then the action; 303 back, or the page with a 409 in words. */
  const act = (what: 'acknowledge' | 'resolve' | 'note' | 'escalate' | 'reassign' | 'snooze', path: string) =>
    app.post(
      `/console/incidents/:id/${path}`,
      page(`POST /console/incidents/:id/${path}`, async (c, p) => {
        checkOrigin(c, deps.config.PUBLIC_BASE_URL);
        const { id } = validate(IncidentIdParam, { id: c.req.param('id') }, 'path');
        const read = await formOrJson(c, limit);
        const fields = (read.fields ?? {}) as Record<string, unknown>;
        checkCsrf(p, api.sessionSecret, typeof fields.csrf === 'string' ? fields.csrf : c.req.header('x-csrf-token'));
        const { csrf: _csrf, ...rest } = fields;
        const adeps = { ...deps, incidents: api.incidents, oncall: api.oncall };
        try {
          if (what === 'acknowledge') await acknowledge(adeps, p, id, 'console');
          else if (what === 'resolve') {
            const note = validate(ResolveBody, rest.note ? { note: rest.note } : {}, 'body').note;
            await resolve(adeps, p, id, 'console', note);
          } else if (what === 'note')
            await addNote(adeps, p, id, 'console', validate(NoteBody, { note: rest.note }, 'body').note);
          else if (what === 'escalate') {
            const body = validate(EscalateBody, optional(rest.note) ? { note: rest.note } : {}, 'body');
            await escalate(adeps, p, id, 'console', body.note);
          } else if (what === 'reassign') {
            const body = validate(ReassignBody, { person: rest.person }, 'body');
            await reassign(adeps, p, id, 'console', body.person);
          } else {
            const minutes = Number(rest.minutes);
            await snooze(adeps, p, id, 'console', Number.isFinite(minutes) ? minutes : Number.NaN);
          }
        } catch (err) {
          if (err instanceof ConflictError) return incidentPage(c, p, id, 409, `Not done: ${err.message}.`);
          throw err;
        }
        deps.logger.info({ route: `POST /console/incidents/:id/${path}`, incident_id: id, person: p.person }, what);
        return c.redirect(`/console/incidents/${encodeURIComponent(id)}?done=${what}`, 303);
      }),
    );
  act('acknowledge', 'acknowledge');
  act('resolve', 'resolve');
  act('note', 'notes');
  act('escalate', 'escalate');
  act('reassign', 'reassign');
  act('snooze', 'snooze');

  app.get(
    '/console/oncall',
    page('GET /console/oncall', async (c, p) => {
      const now = deps.now();
      const cfg = api.oncall();
      const cals = calendars();
      const nowAnswer = onCallAnswer(cfg, now, cals);
      const from = Math.floor(now / DAY_MS) * DAY_MS;
      const to = from + 14 * DAY_MS;
      const why = (s: (typeof nowAnswer.schedules)[number]) =>
        'override' in s && s.override ? 'override' : 'layer' in s ? `layer ${esc(String(s.layer))}` : '';
      const nowList = nowAnswer.schedules
        .map(
          (s) =>
            `<li><strong>${esc(s.schedule)}</strong>: ${
              s.person
                ? `${esc(s.person_name ?? s.person)} <span class="muted">(${why(s)})</span>`
                : '<span class="alert">nobody</span>'
            }</li>`,
        )
        .join('');
      const teams = nowAnswer.teams
        .map(
          (t) =>
            `<li>${esc(t.team)} ${esc(t.severity)} level ${t.level}: ${
              t.people.length ? t.people.map((x) => esc(x.person_name ?? x.person)).join(', ') : 'nobody'
            }</li>`,
        )
        .join('');
      const calendarsHtml = Object.keys(cfg.schedules)
        .map((id) => scheduleCalendar(shiftsAnswer(cfg, id, from, to, cals), now))
        .join('');
      const body =
        `<section class="card" aria-labelledby="now-h"><h2 id="now-h">On call now (${timeTag(now, now)})</h2>` +
        `<ul>${nowList || '<li>No schedule in the on-call file.</li>'}</ul>` +
        `<details><summary>Per team and level</summary><ul>${teams}</ul></details></section>` +
        `<h2>Next two weeks</h2>${calendarsHtml}` +
        '<p class="muted">From the on-call file and its calendars, resolved as the pager does (overrides first).</p>';
      return send(c, 200, consolePage({ title: 'On call', nav: 'oncall', who: whoOf(p), body }));
    }),
  );

  app.get(
    '/console/analytics',
    page('GET /console/analytics', async (c, p) => {
      const range = analyticsRange(c.req.query('from'), c.req.query('to'), deps.now());
      const body = await analyticsBody(range, api, deps.logger);
      return send(c, 200, consolePage({ title: 'Analytics', nav: 'analytics', who: whoOf(p), body }));
    }),
  );

  return live;
}

/** A schedule's shifts as an agenda: per day (in the schedule's zone), each shift with who and why. */
function scheduleCalendar(a: ReturnType<typeof shiftsAnswer>, now: number): string {
  const dayFmt = new Intl.DateTimeFormat('en-GB', {
    timeZone: a.time_zone,
    weekday: 'short',
    day: '2-digit',
    month: 'short',
  });
  const timeFmt = new Intl.DateTimeFormat('en-GB', {
    timeZone: a.time_zone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  const days = new Map<string, string[]>();
  for (const s of a.shifts) {
    const from = Date.parse(s.from);
    const to = Date.parse(s.to);
    const day = dayFmt.format(from);
    const who = s.person
      ? `${esc(s.person_name ?? s.person)} <span class="muted">(${
          'override' in s && s.override ? '<strong>override</strong>' : `layer ${esc(String(s.layer))}`
        })</span>`
      : '<span class="alert">nobody on call</span>';
    const current = from <= now && now < to ? ' <strong>← now</strong>' : '';
    const line = `<dd>${timeFmt.format(from)}–${timeFmt.format(to)} ${
      dayFmt.format(to) === day ? '' : `(${esc(dayFmt.format(to))}) `
    }${who}${current}</dd>`;
    days.set(day, [...(days.get(day) ?? []), line]);
  }
  const items = [...days].map(([day, lines]) => `<dt>${esc(day)}</dt>${lines.join('')}`).join('');
  return (
    `<section class="card" aria-labelledby="s-${esc(a.schedule)}"><h3 id="s-${esc(a.schedule)}">` +
    `${esc(a.schedule)} <span class="muted">(${esc(a.time_zone)})</span></h3>` +
    `<dl class="days">${items || '<dt>No shift</dt>'}</dl></section>`
  );
}
