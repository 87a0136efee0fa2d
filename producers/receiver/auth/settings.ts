import { z } from 'zod';
import { ConfigError } from '../../../platform/config.js';

/**
 * The console's settings (sign-in and the incident API), from the environment; `.env.example`, section "Console".
 * Without CONSOLE_SESSION_SECRET the console is off: /console and /api/v1 (but the ingest route) answer 404.
 * Error messages name the variable, never its value.
 */
export const ConsoleSettingsSchema = z.object({
  /** HMAC key of the session cookies and their CSRF tokens (>= 32 characters; Secrets Manager on AWS). */
  CONSOLE_SESSION_SECRET: z.string().min(32, { message: 'must be at least 32 characters' }).optional(),
  /** How long a session lasts, hours (1..168, default 12). */
  CONSOLE_SESSION_HOURS: z.coerce.number().int().min(1).max(168).default(12),
  /**
   * How long a receiver task reuses a session check, ms (0..60000, default 5000): a session signed out or revoked
   * is refused by every task within this time (auth/session-store.ts).
   */
  CONSOLE_SESSION_CHECK_MS: z.coerce.number().int().min(0).max(60_000).default(5000),
  /** Sign-in requests per address and per client IP in 15 minutes (defaults 5 and 30). */
  CONSOLE_SIGNIN_MAX_PER_EMAIL: z.coerce.number().int().min(1).max(1000).default(5),
  CONSOLE_SIGNIN_MAX_PER_IP: z.coerce.number().int().min(1).max(100_000).default(30),
  /** The on-call file: who may sign in (people with an `email`), their roles and teams. */
  ONCALL_FILE: z.string().min(1).default('infra/local/oncall/demo.json'),
  /** The sign-in mail goes by Resend (the pages' account; locally the provider simulator). */
  RESEND_API_KEY: z.string().min(1).optional(),
  RESEND_BASE_URL: z.string().optional(),
});
export type ConsoleSettings = z.infer<typeof ConsoleSettingsSchema>;

export function loadConsoleSettings(env: NodeJS.ProcessEnv = process.env): ConsoleSettings {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = ConsoleSettingsSchema.safeParse(cleaned);
  if (!parsed.success)
    throw new ConfigError(parsed.error.issues.map((i) => ({ name: String(i.path[0] ?? '?'), message: i.message })));
  if (parsed.data.CONSOLE_SESSION_SECRET && !parsed.data.RESEND_API_KEY)
    throw new ConfigError([{ name: 'RESEND_API_KEY', message: 'required when CONSOLE_SESSION_SECRET is set' }]);
  return parsed.data;
}
