/**
 * The provider simulator as a process:
 *
 *   node --import tsx infra/local/provider-simulator/main.ts
 *
 * Env: SIMULATOR_PORT (default 4580), TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, RESEND_API_KEY,
 * RESEND_WEBHOOK_SECRET, RECEIVER_URL (where callbacks go; default http://127.0.0.1:$PORT, PORT
 * default 8080), PUBLIC_BASE_URL (what Twilio signs over; default RECEIVER_URL), SIMULATOR_BEHAVIOURS
 * (optional path to a behaviours JSON file), SIMULATOR_STEP_DELAY_MS (default 200), LOG_LEVEL.
 * Hanging sends (fault tests, storm benchmark): SIMULATOR_HANG_FRACTION (0..1, default 0) of the
 * sending requests are accepted but answered SIMULATOR_HANG_MS late (default 0), chosen
 * deterministically from SIMULATOR_SEED (default 0).
 * The account's configuration (`make providers`): SIMULATOR_PHONE_NUMBERS (comma-separated E.164 numbers
 * the account owns; default +15550000000,+15550000001), SIMULATOR_WHATSAPP_SENDERS (default
 * whatsapp:+15550000000), SIMULATOR_MESSAGING_SERVICES (MG… SIDs; default none).
 * SIGTERM/SIGINT close it and exit 0.
 */
import { closeOnSignal } from '../close-on-signal.js';
import { createLogger } from '../../../platform/logger.js';
import { loadBehavioursFile } from './behaviours.js';
import { startProviderSimulator } from './server.js';

function required(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name]?.trim();
  if (!v) throw new Error(`${name} is required (see .env.example)`);
  return v;
}

function fraction(env: NodeJS.ProcessEnv, name: string): number {
  const raw = env[name]?.trim();
  if (!raw) return 0;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new Error(`${name}=${raw} is not a number within 0..1`);
  return n;
}

function int(env: NodeJS.ProcessEnv, name: string, def: number, min = 0): number {
  const raw = env[name]?.trim();
  if (!raw) return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > 65535 * 1000) throw new Error(`${name}=${raw} is not a valid integer`);
  return n;
}

/** A comma-separated list; undefined when unset or empty (the simulator's default). */
function list(env: NodeJS.ProcessEnv, name: string): string[] | undefined {
  const items =
    env[name]
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean) ?? [];
  return items.length > 0 ? items : undefined;
}

async function main() {
  const env = process.env;
  const log = createLogger('provider-simulator');
  const receiverBaseUrl = env.RECEIVER_URL?.trim() || `http://127.0.0.1:${env.PORT?.trim() || '8080'}`;
  const behavioursPath = env.SIMULATOR_BEHAVIOURS?.trim();
  const sim = await startProviderSimulator({
    port: int(env, 'SIMULATOR_PORT', 4580),
    host: env.SIMULATOR_HOST?.trim() || '127.0.0.1',
    accountSid: required(env, 'TWILIO_ACCOUNT_SID'),
    twilioAuthToken: required(env, 'TWILIO_AUTH_TOKEN'),
    resendApiKey: required(env, 'RESEND_API_KEY'),
    resendWebhookSecret: required(env, 'RESEND_WEBHOOK_SECRET'),
    receiverBaseUrl,
    publicBaseUrl: env.PUBLIC_BASE_URL?.trim() || receiverBaseUrl,
    behaviours: behavioursPath ? loadBehavioursFile(behavioursPath) : undefined,
    stepDelayMs: int(env, 'SIMULATOR_STEP_DELAY_MS', 200),
    hangFraction: fraction(env, 'SIMULATOR_HANG_FRACTION'),
    hangMs: int(env, 'SIMULATOR_HANG_MS', 0),
    seed: env.SIMULATOR_SEED?.trim() || '0',
    phoneNumbers: list(env, 'SIMULATOR_PHONE_NUMBERS'),
    whatsappSenders: list(env, 'SIMULATOR_WHATSAPP_SENDERS'),
    messagingServices: list(env, 'SIMULATOR_MESSAGING_SERVICES'),
    logger: log,
  });
  log.info(
    {
      url: sim.url,
      behaviours: behavioursPath ?? '(default: delivered)',
      hangFraction: fraction(env, 'SIMULATOR_HANG_FRACTION'),
      hangMs: int(env, 'SIMULATOR_HANG_MS', 0),
    },
    'provider simulator ready',
  );

  closeOnSignal(log, () => sim.close());
}

main().catch((err) => {
  console.error(`provider simulator: ${(err as Error).message}`);
  process.exit(1);
});
