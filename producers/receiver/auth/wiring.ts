import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Config } from '../../../platform/config.js';
import type { StructuredLogger } from '../../../platform/logger.js';
import { resendClient } from '../../../platform/providers/resend.js';
import path from 'node:path';
import { loadOnCallConfig } from '../../../schemas/oncall/config.js';
import type { IcalCalendar } from '../../../shared/schedules/ical.js';
import { loadIcalFeeds } from '../../../shared/schedules/ical-feed.js';
import { DynamoIncidentSource } from '../api/incidents.js';
import type { ApiDeps } from '../api/routes.js';
import { ResendSignInMailer } from './mailer.js';
import { loadConsoleSettings } from './settings.js';
import { AuthStore } from './store.js';
import { DependencyHealthCheck } from '../dependency-health.js';

/**
 * The console's dependencies from the environment (settings.ts), or undefined when CONSOLE_SESSION_SECRET is unset
 * (the console is off). The on-call file is read once, at start (as the paging processor does): a change of roles
 * or people takes a restart; its iCalendar layers are loaded in the background (until then, and for a feed that
 * cannot be read, they have nobody, as in `make oncall`). Throws ConfigError naming a bad variable, or the on-call
 * file's errors.
 */
export function consoleDepsOf(
  env: NodeJS.ProcessEnv,
  infra: Pick<Config, 'CONSOLE_AUTH_TABLE' | 'INCIDENTS_TABLE'>,
  dynamodb: DynamoDBClient,
  logger: StructuredLogger,
): ApiDeps | undefined {
  const settings = loadConsoleSettings(env);
  if (!settings.CONSOLE_SESSION_SECRET) {
    logger.info({}, 'console off (CONSOLE_SESSION_SECRET unset): no sign-in, no /api/v1 incident API');
    return undefined;
  }
  const oncall = loadOnCallConfig(settings.ONCALL_FILE);
  const loadedAt = Date.now();
  let calendars: ReadonlyMap<string, IcalCalendar> = new Map();
  loadIcalFeeds(oncall, {
    baseDir: path.dirname(settings.ONCALL_FILE),
    // a feed's URL may carry a token in its query: logged without it
    onWarning: (w) =>
      logger.warn({ ...w, source: w.source.replace(/\?.*$/, '?…') }, 'console: iCalendar feed not read'),
  })
    .then((loaded) => {
      calendars = loaded;
    })
    .catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'console: iCalendar feeds not loaded'));
  const resend = resendClient({ apiKey: settings.RESEND_API_KEY!, baseUrl: settings.RESEND_BASE_URL });
  const store = new AuthStore({
    dynamodb,
    table: infra.CONSOLE_AUTH_TABLE,
    sessionCheckMs: settings.CONSOLE_SESSION_CHECK_MS,
  });
  return {
    sessionSecret: settings.CONSOLE_SESSION_SECRET,
    sessionTtlMs: settings.CONSOLE_SESSION_HOURS * 3_600_000,
    store,
    authHealth: new DependencyHealthCheck({
      name: 'console auth table',
      probe: (signal) => store.sessions.probe(signal),
      logger,
    }),
    oncall: () => oncall,
    mailer: new ResendSignInMailer(resend, () => oncall.email.from),
    incidents: new DynamoIncidentSource({ dynamodb, table: infra.INCIDENTS_TABLE }),
    calendars: () => calendars,
    oncallLoadedAt: loadedAt,
    signInLimits: {
      perEmail: settings.CONSOLE_SIGNIN_MAX_PER_EMAIL,
      perIp: settings.CONSOLE_SIGNIN_MAX_PER_IP,
      windowMs: 15 * 60_000,
    },
  };
}
