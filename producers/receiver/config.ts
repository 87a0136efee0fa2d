import { z } from 'zod';
import { ConfigError } from '../../platform/config.js';
import { SeverityEnvShape } from '../../schemas/alarm-routing.js';

/**
 * Settings of the receiver (webhooks, alarm intake, ingest API, ack links), read from the environment.
 * Names and local defaults: `.env.example`, section "Receiver and alarm intake". Error messages name
 * the variable and never echo its value (several are secrets).
 */

/** The public base the providers call (scheme + host [+ port]); never derived from the Host header. */
const PublicBaseUrl = z
  .url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
  .transform((s) => new URL(s))
  .refine((u) => u.pathname === '/' && !u.search && !u.hash && !u.username && !u.password, {
    message: 'must be an origin only (scheme://host[:port]), without path, query or credentials',
  })
  .transform((u) => u.origin);

/** A Svix signing secret: `whsec_` + base64 (the prefix is optional), decoding to at least 16 bytes. */
const SvixSecret = z.string().refine(
  (s) => {
    const b64 = s.startsWith('whsec_') ? s.slice(6) : s;
    return /^[A-Za-z0-9+/]+={0,2}$/.test(b64) && Buffer.from(b64, 'base64').length >= 16;
  },
  { message: 'must be a Svix signing secret (whsec_<base64>)' },
);

const csv = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string()).min(1, { message: 'must list at least one namespace' }));

/** Settings the alarm intake needs (also used by `send-alarm.ts --direct`). */
export const AlarmIntakeSettingsSchema = z.object({
  ALARM_NAMESPACES: csv.default(['AWS/ECS', 'AWS/RDS', 'ECS/ContainerInsights']),
  // SEVERITY_DEFAULT, SEVERITY_MAP: shared with the paging processor (schemas/alarm-routing.ts)
  ...SeverityEnvShape,
});
export type AlarmIntakeSettings = z.infer<typeof AlarmIntakeSettingsSchema>;

export const ReceiverConfigSchema = AlarmIntakeSettingsSchema.extend({
  PUBLIC_BASE_URL: PublicBaseUrl,
  PORT: z.coerce.number().int().min(1).max(65_535).default(8080),
  TWILIO_AUTH_TOKEN: z.string().min(1, { message: 'required' }),
  /**
   * The SharedKey secret of a Twilio Webhooks Setting, for webhooks Twilio signs with it (they carry
   * X-Twilio-Webhooks-Signature-Settings naming the key and its algorithm, HMAC_SHA256 or HMAC_SHA1).
   * Unset (the default): only Auth Token signatures (HMAC-SHA1) are accepted.
   */
  TWILIO_WEBHOOK_SHARED_KEY_SECRET: z
    .string()
    .min(16, { message: 'must be the SharedKey secret (at least 16 characters)' })
    .optional(),
  RESEND_WEBHOOK_SECRET: SvixSecret,
  API_KEY: z.string().min(16, { message: 'required, at least 16 characters' }),
  ACK_LINK_SECRET: z.string().min(32, { message: 'required, at least 32 characters' }),
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(256 * 1024),
});
export type ReceiverConfig = z.infer<typeof ReceiverConfigSchema>;

function parse<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv): z.infer<T> {
  // Empty strings count as unset, so an `.env` line `SEVERITY_MAP=` takes the default.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    // zod does not put the input into its messages (reportInput is off), and ours never do.
    const issues = parsed.error.issues.map((i) => {
      const name = String(i.path[0] ?? '?');
      return { name, message: cleaned[name] === undefined ? 'required' : i.message };
    });
    throw new ConfigError(issues);
  }
  return parsed.data;
}

/** The receiver's settings; throws ConfigError naming every missing or invalid variable. */
export function loadReceiverConfig(env: NodeJS.ProcessEnv = process.env): ReceiverConfig {
  return parse(ReceiverConfigSchema, env);
}

/** Only the alarm-intake settings (no secrets needed). */
export function loadAlarmIntakeSettings(env: NodeJS.ProcessEnv = process.env): AlarmIntakeSettings {
  return parse(AlarmIntakeSettingsSchema, env);
}
