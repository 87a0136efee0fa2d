import type { Context, Hono } from 'hono';
import { z } from 'zod';
import type { OnCallConfig } from '../../../schemas/oncall/config.js';
import { readBody, utf8, type RouteDeps, type StreamHealth } from '../http.js';
import { parseJson } from '../body-parse.js';
import { errorAnswer } from '../api/guard.js';
import { ApiInputError } from '../api/errors.js';
import { RateLimitedError } from './errors.js';
import type { SignInMailer } from './mailer.js';
import { authenticate, checkCsrf, checkOrigin, type AuthDeps } from './principal.js';
import { authPage, esc, HTML_HEADERS, LINK_SENT, signInForm } from './pages.js';
import { CSRF_FIELD, csrfTokenOf, sessionCookie, signSession } from './session.js';
import { SIGN_IN_LINK_TTL_MS, type AuthStore } from './store.js';

/**
 * Sign-in to the console by a one-time link mailed to a person of the on-call file:
 *
 * | route | what |
 * |---|---|
 * | GET /console/sign-in | the form (an email address) |
 * | POST /console/sign-in | form `email=` or JSON `{email}`: the same answer whether or not the address is known |
 * | GET /console/sign-in/verify?token= | a confirmation page with a POST form (mail scanners follow GET links) |
 * | POST /console/sign-in/verify | form `token=`: consumes the link (once, 10 minutes) and sets the session cookie |
 * | POST /console/sign-out | form with the session's `csrf`: ends the session (its item deleted), clears the cookie |
 *
 * A session is revocable (session-store.ts): signing in records it, signing out deletes it, and every request checks
 * it is still on record (cached a few seconds per receiver task).
 *
 * The link's mail is sent in the background, after the answer: a known address and an unknown one take the same
 * time to answer too. Sign-in requests are counted per address (CONSOLE_SIGNIN_MAX_PER_EMAIL, default 5) and per
 * client IP (CONSOLE_SIGNIN_MAX_PER_IP, default 30) in 15-minute windows: past either, 429.
 */
export interface ConsoleDeps {
  sessionSecret: string;
  /** Default 12 h. */
  sessionTtlMs?: number;
  store: AuthStore;
  oncall: () => OnCallConfig;
  mailer: SignInMailer;
  /** Default 5 and 30 per 15 minutes. */
  signInLimits?: { perEmail: number; perIp: number; windowMs: number };
  /** Work done after the answer (the sign-in mail): tests wait on it. Default: run it, log a failure. */
  background?: (work: Promise<unknown>) => void;
  /** Called when a session signs out (the console ends its live streams: console/live.ts). */
  onSignOut?: (sessionId: string) => void;
  /** The auth table's reachability for GET /healthz (`console_auth`; dependency-health.ts); default none. */
  authHealth?: StreamHealth;
}

export const DEFAULT_SESSION_TTL_MS = 12 * 3_600_000;

export const authDepsOf = (deps: RouteDeps, cd: ConsoleDeps): AuthDeps => ({
  sessionSecret: cd.sessionSecret,
  store: cd.store,
  oncall: cd.oncall,
  secure: deps.config.PUBLIC_BASE_URL.startsWith('https:'),
});

const EmailBody = z.strictObject({ email: z.email().max(254) });
const TokenBody = z.strictObject({ token: z.string().min(1).max(128) });

/** The client's address: the last X-Forwarded-For hop (the ALB appends it), else the socket's. */
export function clientIp(c: Context): string {
  const xff = c.req.header('x-forwarded-for');
  const last = xff?.split(',').pop()?.trim();
  if (last) return last;
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? 'unknown';
}

/** Form fields (urlencoded) or a JSON object, whichever the Content-Type says; ApiInputError if neither parses. */
export async function formOrJson(c: Context, limit: number): Promise<{ fields: unknown; json: boolean }> {
  const body = await readBody(c.req.raw, limit);
  const type = c.req.header('content-type') ?? '';
  if (type.startsWith('application/json')) return { fields: parseJson(utf8(body)), json: true };
  if (type.startsWith('application/x-www-form-urlencoded')) {
    const fields: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(utf8(body))) if (!(k in fields)) fields[k] = v;
    return { fields, json: false };
  }
  throw new ApiInputError('body', [
    { path: '', message: 'send application/x-www-form-urlencoded or application/json' },
  ]);
}

function fieldsOf<T extends z.ZodType>(schema: T, fields: unknown): z.output<T> | undefined {
  const parsed = schema.safeParse(fields);
  return parsed.success ? parsed.data : undefined;
}

const html = (c: Context, status: 200 | 400 | 401 | 403 | 429, body: string, headers: Record<string, string> = {}) =>
  c.body(body, status, { ...HTML_HEADERS, ...headers });

export function signInRoutes(app: Hono, deps: RouteDeps, cd: ConsoleDeps): void {
  const auth = authDepsOf(deps, cd);
  const limits = cd.signInLimits ?? { perEmail: 5, perIp: 30, windowMs: 15 * 60_000 };
  const ttlMs = cd.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
  const background =
    cd.background ??
    ((work: Promise<unknown>) => {
      work.catch(() => undefined);
    });
  const limit = Math.min(deps.config.BODY_LIMIT_BYTES, 16 * 1024);

  app.get('/console/sign-in', (c) => html(c, 200, signInForm()));

  app.post('/console/sign-in', async (c) => {
    let json = false;
    try {
      checkOrigin(c, deps.config.PUBLIC_BASE_URL);
      const read = await formOrJson(c, limit);
      json = read.json;
      const parsed = fieldsOf(EmailBody, read.fields);
      if (!parsed) {
        if (json) throw new ApiInputError('body', [{ path: 'email', message: 'an email address' }]);
        return html(c, 400, signInForm('Enter an email address.'));
      }
      const email = parsed.email.trim().toLowerCase();
      const now = deps.now();
      await cd.store.countRequest('ip', clientIp(c), limits.perIp, limits.windowMs, now);
      await cd.store.countRequest('email', email, limits.perEmail, limits.windowMs, now);
      const cfg = cd.oncall();
      const found = Object.entries(cfg.people).find(([, p]) => p.email?.toLowerCase() === email);
      if (found) {
        const [person, p] = found;
        background(
          (async () => {
            const token = await cd.store.issueSignInToken(person, now);
            const link = `${deps.config.PUBLIC_BASE_URL}/console/sign-in/verify?token=${token}`;
            await cd.mailer.send({ to: p.email!, name: p.name, link, expiresAt: now + SIGN_IN_LINK_TTL_MS });
            deps.logger.info({ route: 'POST /console/sign-in', person }, 'sign-in link sent');
          })().catch((err: unknown) => {
            deps.logger.error(
              { route: 'POST /console/sign-in', person, err: (err as Error).message },
              'sign-in link not sent',
            );
            throw err;
          }),
        );
      }
      if (json) return c.json({ status: 'sent if known', message: LINK_SENT }, 202);
      return html(c, 200, authPage('Check your email', `<p>${esc(LINK_SENT)}</p>`));
    } catch (err) {
      if (!json && err instanceof RateLimitedError) {
        const retry = String(err.retryAfterS);
        return html(c, 429, signInForm('Too many sign-in requests. Try again in a few minutes.'), {
          'retry-after': retry,
        });
      }
      return errorAnswer(c, deps.logger, 'POST /console/sign-in', err);
    }
  });

  app.get('/console/sign-in/verify', (c) => {
    const token = c.req.query('token') ?? '';
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return html(c, 401, invalidLink());
    return html(
      c,
      200,
      authPage(
        'Sign in to pagetrail',
        `<form method="post" action="/console/sign-in/verify"><input type="hidden" name="token" ` +
          `value="${esc(token)}"><button type="submit">Sign in</button></form>` +
          `<p class="muted">The link works once, for 10 minutes after it was sent.</p>`,
      ),
    );
  });

  app.post('/console/sign-in/verify', async (c) => {
    try {
      checkOrigin(c, deps.config.PUBLIC_BASE_URL);
      const read = await formOrJson(c, limit);
      const parsed = fieldsOf(TokenBody, read.fields);
      const now = deps.now();
      const person = parsed ? await cd.store.consumeSignInToken(parsed.token, now) : undefined;
      const who = person === undefined ? undefined : cd.oncall().people[person];
      if (!person || !who) {
        deps.rejections.reject('not_authentic', { route: 'POST /console/sign-in/verify' }, 'sign-in link refused');
        return read.json
          ? c.json({ error: 'sign-in link invalid, used or expired' }, 401)
          : html(c, 401, invalidLink());
      }
      const session = signSession(cd.sessionSecret, person, now, ttlMs);
      await cd.store.sessions.create(session);
      const cookie = sessionCookie(session.value, ttlMs / 1000, auth.secure);
      deps.logger.info({ route: 'POST /console/sign-in/verify', person }, 'signed in');
      const csrf = csrfTokenOf(cd.sessionSecret, session.sessionId);
      if (read.json)
        return c.json({ person, expires_at: new Date(session.expiresAt).toISOString(), csrf }, 200, {
          'set-cookie': cookie,
        });
      return html(
        c,
        200,
        authPage(
          'Signed in',
          `<p>Signed in as <strong>${esc(who.name)}</strong> until ` +
            `${new Date(session.expiresAt).toISOString().slice(0, 16).replace('T', ' ')} UTC.</p>` +
            `<p><a href="/console/">Open the console</a></p>` +
            `<form method="post" action="/console/sign-out"><input type="hidden" name="${CSRF_FIELD}" ` +
            `value="${esc(csrf)}"><button type="submit">Sign out</button></form>`,
        ),
        { 'set-cookie': cookie },
      );
    } catch (err) {
      return errorAnswer(c, deps.logger, 'POST /console/sign-in/verify', err);
    }
  });

  app.post('/console/sign-out', async (c) => {
    try {
      checkOrigin(c, deps.config.PUBLIC_BASE_URL);
      const principal = await authenticate(c, auth, deps.now());
      const read = await formOrJson(c, limit);
      const fields = (read.fields ?? {}) as Record<string, unknown>;
      const presented = c.req.header('x-csrf-token') ?? (typeof fields.csrf === 'string' ? fields.csrf : undefined);
      checkCsrf(principal, cd.sessionSecret, presented);
      if (principal.kind === 'person') {
        await cd.store.sessions.end(principal.sessionId, deps.now());
        cd.onSignOut?.(principal.sessionId);
      }
      const clear = sessionCookie('', 0, auth.secure);
      if (read.json) return c.json({ status: 'signed out' }, 200, { 'set-cookie': clear });
      return html(c, 200, authPage('Signed out', '<p><a href="/console/sign-in">Sign in again</a></p>'), {
        'set-cookie': clear,
      });
    } catch (err) {
      return errorAnswer(c, deps.logger, 'POST /console/sign-out', err);
    }
  });
}

const invalidLink = () =>
  authPage(
    'Link not valid',
    '<p class="note">This sign-in link is invalid, was already used, or has expired (links work for 10 minutes).</p>' +
      '<p><a href="/console/sign-in">Ask for a new link</a></p>',
  );
