import type { Context } from 'hono';
import type { ConsoleRole, OnCallConfig } from '../../../schemas/oncall/config.js';
import type { ApiKeyAction, AuthStore } from './store.js';
import { CsrfError, ForbiddenError, NotSignedInError } from './errors.js';
import { CSRF_HEADER, csrfMatches, sessionCookieValue, verifySession } from './session.js';

/**
 * Who is asking: a person signed in to the console (session cookie), or a machine with an API key (Bearer).
 *
 * | who | reads | acts on an incident (acknowledge, resolve, note) |
 * |---|---|---|
 * | viewer | every team | no (403) |
 * | responder (default role) | every team | the teams they are a member of (on-call file `teams.<id>.members`) |
 * | admin | every team | every team |
 * | API key | its teams (`*`: all), with the `read` action | its teams, the actions it was created with |
 *
 * An incident without a team (unrouted) is acted on by admins and `*` keys only.
 */
export type Action = ApiKeyAction;

export type Principal =
  | { kind: 'person'; person: string; role: ConsoleRole; teams: string[]; sessionId: string }
  | { kind: 'key'; keyId: string; name: string; teams: string[]; actions: ApiKeyAction[] };

/** The name a record written for this principal carries in `person`: the person's id, or `key:<id>`. */
export const actorOf = (p: Principal) => (p.kind === 'person' ? p.person : `key:${p.keyId}`);

export interface AuthDeps {
  sessionSecret: string;
  store: Pick<AuthStore, 'verifyApiKey' | 'sessions'>;
  /** The on-call file as loaded now (roles and team membership). */
  oncall: () => OnCallConfig;
  /** PUBLIC_BASE_URL is https: the cookie is `Secure` and `__Host-` named. */
  secure: boolean;
}

export const teamsOf = (cfg: OnCallConfig, person: string) =>
  Object.entries(cfg.teams)
    .filter(([, t]) => t.members.includes(person))
    .map(([id]) => id);

/**
 * The principal of a request: Bearer API key first, else the session cookie (signed, unexpired, and still on record:
 * not signed out nor revoked); NotSignedInError when neither.
 */
export async function authenticate(c: Context, deps: AuthDeps, now: number): Promise<Principal> {
  const auth = c.req.header('authorization');
  if (auth !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (!m) throw new NotSignedInError('malformed Authorization header');
    const entry = await deps.store.verifyApiKey(m[1]);
    if (!entry) throw new NotSignedInError('unknown, wrong or revoked API key');
    return { kind: 'key', keyId: entry.keyId, name: entry.name, teams: entry.teams, actions: entry.actions };
  }
  const session = verifySession(deps.sessionSecret, sessionCookieValue(c.req.header('cookie'), deps.secure), now);
  if ('invalid' in session) throw new NotSignedInError(session.invalid);
  const cfg = deps.oncall();
  const person = cfg.people[session.person];
  if (!person) throw new NotSignedInError('person no longer in the on-call file');
  // signed out or revoked (session-store.ts: a few seconds' cache); UnavailableError (503) when it cannot be told
  if (!(await deps.store.sessions.alive(session.sessionId, session.person, now)))
    throw new NotSignedInError('session ended (signed out or revoked)');
  return {
    kind: 'person',
    person: session.person,
    role: person.role ?? 'responder',
    teams: teamsOf(cfg, session.person),
    sessionId: session.sessionId,
  };
}

/** A state-changing request with a session must carry the session's CSRF token (header, or the form's field). */
export function checkCsrf(p: Principal, secret: string, presented: string | undefined): void {
  if (p.kind !== 'person') return;
  if (!presented) throw new CsrfError('missing');
  if (!csrfMatches(secret, p.sessionId, presented)) throw new CsrfError('mismatch');
}

/**
 * A browser's POST carries Origin: when it is there it must be ours (PUBLIC_BASE_URL's origin), else CsrfError —
 * a second line behind the token, and the only one for the sign-in forms, which have no session yet (login CSRF:
 * another site posting its own link's token to sign the victim in as someone else). No Origin: not a browser.
 */
export function checkOrigin(c: Context, publicOrigin: string): void {
  const origin = c.req.header('origin');
  if (origin !== undefined && origin !== publicOrigin) throw new CsrfError('cross-origin');
}

/** The CSRF token a JSON request presents (`x-csrf-token`). */
export const presentedCsrf = (c: Context) => c.req.header(CSRF_HEADER);

const covers = (teams: string[], team: string | undefined) =>
  teams.includes('*') || (team !== undefined && teams.includes(team));

/** Whether `p` may read `team`'s incidents (undefined team: any, e.g. a list). */
export function mayRead(p: Principal, team: string | undefined): boolean {
  if (p.kind === 'person') return true;
  return p.actions.includes('read') && (team === undefined ? p.teams.length > 0 : covers(p.teams, team));
}

/** ForbiddenError unless `p` may `action` an incident of `team`. */
export function requireAct(p: Principal, action: Action, team: string | undefined): void {
  const ok =
    p.kind === 'person'
      ? p.role === 'admin' || (p.role === 'responder' && team !== undefined && p.teams.includes(team))
      : p.actions.includes(action) && covers(p.teams, team);
  if (!ok) throw new ForbiddenError(action, team, actorOf(p));
}

/** ForbiddenError unless `p` may read `team`'s incidents. */
export function requireRead(p: Principal, team: string | undefined): void {
  if (!mayRead(p, team)) throw new ForbiddenError('read', team, actorOf(p));
}
