import { z } from 'zod';
import { ConfigError } from '../../platform/config.js';
import { SeverityEnvShape } from '../../schemas/alarm-routing.js';

/**
 * Settings of the paging processor, from the environment (names and local defaults in `.env.example`,
 * section "Paging processor"). A missing or invalid setting stops start-up naming the variable;
 * values (several are secrets) are never echoed.
 */
const optionalUrl = z.url().optional();

export const PagingConfigSchema = z.object({
  ONCALL_FILE: z.string().min(1).default('infra/local/oncall/demo.json'),
  PUBLIC_BASE_URL: z.url(),
  TWILIO_ACCOUNT_SID: z.string().regex(/^AC[0-9a-f]{32}$/, 'must be an Account SID (AC + 32 hex)'),
  TWILIO_AUTH_TOKEN: z.string().min(16, 'required'),
  /** Local simulator only; unset in production. */
  TWILIO_API_BASE_URL: optionalUrl,
  RESEND_API_KEY: z.string().startsWith('re_', 'must be a Resend API key (re_...)'),
  RESEND_BASE_URL: optionalUrl,
  ACK_LINK_SECRET: z.string().min(32, 'required, at least 32 characters'),
  ACK_LINK_TTL_S: z.coerce.number().int().positive().default(86_400),
  PAGING_GROUP: z.string().min(1).default('paging'),
  /** How long the handler waits for one send before leaving it to a settle wake-up (ms). */
  PAGING_SEND_BUDGET_MS: z.coerce.number().int().positive().default(1000),
  /** The longest one send can take, all attempts (ms): an open claim is settled only after it. */
  PAGING_MAX_SEND_MS: z.coerce.number().int().positive().default(10_000),
  /** Local runner: batch size, batching window and idle poll of the paging mapping. */
  PAGING_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(100),
  PAGING_BATCH_WINDOW_MS: z.coerce.number().int().min(0).max(300_000).default(0),
  /** Idle poll of each shard by the local event source mapping: the wait a new alarm may have before it is read. */
  PAGING_POLL_MS: z.coerce.number().int().positive().default(25),
  PAGING_MAX_ALARM_AGE_S: z.coerce.number().int().positive().default(3600),
  /**
   * The second route for SMS and voice (AWS End User Messaging SMS and Voice): the origination identity SMS pages go
   * from (phone number, pool, sender id or ARN) and the configuration set whose event destination (SNS) sends the
   * delivery events back. Both or neither; neither: Twilio only. A voice page goes by it only with a voice-capable
   * AWS_SMS_VOICE_VOICE_ORIGINATION. Region: AWS_SMS_VOICE_REGION, else AWS_REGION; endpoint: AWS_SMS_VOICE_ENDPOINT
   * (locally the provider simulator).
   */
  AWS_SMS_VOICE_ORIGINATION: z.string().min(1).max(256).optional(),
  AWS_SMS_VOICE_VOICE_ORIGINATION: z.string().min(1).max(256).optional(),
  AWS_SMS_VOICE_CONFIGURATION_SET: z.string().min(1).max(256).optional(),
  AWS_SMS_VOICE_REGION: z.string().min(1).optional(),
  AWS_SMS_VOICE_ENDPOINT: optionalUrl,
  /**
   * SEVERITY_DEFAULT, SEVERITY_MAP: shared with the receiver (schemas/alarm-routing.ts), for alarm records that carry
   * no severity.
   */
  ...SeverityEnvShape,
});
export type PagingConfig = z.infer<typeof PagingConfigSchema>;

export function loadPagingConfig(env: NodeJS.ProcessEnv = process.env): PagingConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = PagingConfigSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const name = String(i.path[0] ?? '?');
        return { name, message: cleaned[name] === undefined ? 'required' : i.message };
      }),
    );
  }
  const d = parsed.data;
  if (!d.AWS_SMS_VOICE_ORIGINATION !== !d.AWS_SMS_VOICE_CONFIGURATION_SET) {
    const missing = d.AWS_SMS_VOICE_ORIGINATION ? 'AWS_SMS_VOICE_CONFIGURATION_SET' : 'AWS_SMS_VOICE_ORIGINATION';
    throw new ConfigError([{ name: missing, message: 'required with the other setting of the second route' }]);
  }
  if (d.AWS_SMS_VOICE_VOICE_ORIGINATION && !d.AWS_SMS_VOICE_ORIGINATION)
    throw new ConfigError([
      { name: 'AWS_SMS_VOICE_ORIGINATION', message: 'required with AWS_SMS_VOICE_VOICE_ORIGINATION' },
    ]);
  return d;
}
