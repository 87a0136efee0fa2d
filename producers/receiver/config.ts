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

const list = (s: string) =>
  s
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
const arnList = z
  .string()
  .transform(list)
  .pipe(
    z.array(z.string().regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}$/, 'must be SNS topic ARNs')),
  );
const urlList = z
  .string()
  .transform(list)
  .pipe(z.array(z.url({ protocol: /^https?$/, message: 'must be http(s) URLs' })));

/** Secrets, comma-separated, each at least 16 characters (several: one per sender, or old and new while rotating). */
const secretList = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string().min(16, { message: 'each must be at least 16 characters' })).min(1));

/** `{"<routing key>": "<team or service>"}` from a JSON string. */
const RoutingKeys = z
  .string()
  .transform((s, ctx) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object' });
      return z.NEVER;
    }
  })
  .pipe(
    z.record(
      z.string().min(8, { message: 'routing keys must be at least 8 characters' }),
      z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, { message: 'must map routing keys to team or service names' }),
    ),
  );

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
  /**
   * What `POST /events/alertmanager` accepts as Alertmanager's `http_config` sends it: `authorization` (Bearer
   * <token>) or `basic_auth` whose password is a token (any username). Comma-separated. Unset: every request → 401.
   */
  ALERTMANAGER_TOKENS: secretList.optional(),
  /**
   * The Events API v2 routing keys `POST /v2/enqueue` accepts, each naming a team or an on-call `sources.services`
   * entry: `{"<key>": "<name>"}` (PagerDuty's are 32 characters). Unset: every event → 400 "Invalid routing key".
   */
  EVENTS_V2_ROUTING_KEYS: RoutingKeys.optional(),
  /**
   * The key of the heartbeat check-in tokens (`GET|POST /heartbeat/<check id>.<mac>`, shared/heartbeat-token.ts;
   * `make heartbeat-url CHECK=<id>` prints a check's URL). Unset: every check-in → 404.
   */
  HEARTBEAT_SECRET: z.string().min(32, { message: 'must be at least 32 characters' }).optional(),
  /**
   * The SNS topics whose messages `POST /webhooks/aws-sms-voice` and `…/inbound` accept (comma-separated ARNs: the
   * topic of the AWS End User Messaging configuration set's event destination, and the origination number's two-way
   * channel). Unset: none (every message → 403).
   */
  AWS_SMS_VOICE_TOPIC_ARNS: arnList.optional(),
  /**
   * The SNS topics whose messages `POST /events/sns` accepts (comma-separated ARNs: CloudWatch alarm actions' topics,
   * Amazon Managed Service for Prometheus's alert manager topic, …). Unset: none (every message → 403).
   */
  SNS_ALERT_TOPIC_ARNS: arnList.optional(),
  /**
   * SigningCertURLs trusted as they are besides AWS's own (`https://sns.<region>.amazonaws.com/…`): exact URLs,
   * comma-separated — only the local stack's provider simulator, whose certificate it generates. Unset in production.
   */
  SNS_TRUSTED_CERT_URLS: urlList.optional(),
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
