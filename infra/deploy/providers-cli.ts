/**
 * `make providers STAGE=<stage>`: points the Twilio numbers of the on-call file (SMS, voice caller id,
 * WhatsApp sender, Messaging Service) and the Resend webhook endpoint at the stage's receiver, and
 * stores the endpoint's signing secret as the stage's RESEND_WEBHOOK_SECRET secret (providers.ts).
 * Idempotent: a rerun prints every item `unchanged`.
 *
 *   node --env-file=<env file> --import tsx infra/deploy/providers-cli.ts --stage prod \
 *     [--base-url https://alerts.example.com] [--file oncall.json] [--dry-run] [--no-secret]
 *
 * - the receiver's origin: --base-url, else PUBLIC_BASE_URL (the stack's ReceiverUrl output,
 *   https://<domain>); against the real providers it must be https and not a local address.
 * - the on-call file: --file, else ONCALL_FILE, else the demo file (use the one you deploy with,
 *   `-c oncallFile=…`).
 * - credentials: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN; RESEND_ADMIN_API_KEY, else RESEND_API_KEY (managing
 *   webhooks needs a full-access key; the one stored for the paging function can be sending-only);
 *   TWILIO_API_BASE_URL / RESEND_BASE_URL empty for the real APIs (set: e.g. the local simulator).
 * - --dry-run: look up and print what would change, change nothing. --no-secret: do not write the
 *   signing secret to Secrets Manager (AWS: the default chain and AWS_REGION, as make secrets).
 *
 * Exit 0: done; 1: a lookup failed (nothing changed) or a change failed; 2: usage.
 */
import { fileURLToPath } from 'node:url';
import { checkOnCallFile, oncallFileOf } from '../../processors/paging/schedules/cli.js';
import { resendClient } from '../../platform/providers/resend.js';
import { twilioClient } from '../../platform/providers/twilio.js';
import { UsageError, flag, option, runCommand, stageOf, type Io, type Printer } from './command.js';
import { planProviders, shown, type SecretStore, type Step } from './providers.js';
import { secretsManagerClient, upsertProviderSecret, providerSecretNames, type SecretsClient } from './secrets.js';

const USAGE =
  'usage: providers --stage <stage> [--base-url https://<domain>] [--file <on-call file>] [--dry-run] [--no-secret]';

/** Hosts a real provider cannot call. */
const LOCAL_HOST = new RegExp(
  '^(localhost|.*\\.localhost|0\\.0\\.0\\.0|\\[::1?\\]|(127|10)(\\.\\d+){3}|' +
    '(192\\.168|169\\.254|172\\.(1[6-9]|2\\d|3[01]))(\\.\\d+){2})$',
  'i',
);

/** The receiver's origin, checked: an origin only; https and public unless both providers are local stand-ins. */
export function publicBaseUrlOf(argv: readonly string[], env: NodeJS.ProcessEnv): string {
  const raw = (option(argv, 'base-url') ?? env.PUBLIC_BASE_URL ?? '').trim();
  if (!raw)
    throw new UsageError(
      'the receiver URL is required: --base-url https://<domain>, or PUBLIC_BASE_URL (output ReceiverUrl)',
    );
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UsageError(`receiver URL "${raw}" is not a URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new UsageError(`receiver URL "${raw}" is not http(s)`);
  if (u.pathname !== '/' || u.search || u.hash || u.username || u.password) {
    throw new UsageError(`receiver URL "${raw}" must be an origin only (scheme://host[:port]), as PUBLIC_BASE_URL`);
  }
  const real = !env.TWILIO_API_BASE_URL?.trim() || !env.RESEND_BASE_URL?.trim();
  if (real && (u.protocol !== 'https:' || LOCAL_HOST.test(u.hostname))) {
    throw new UsageError(
      `receiver URL ${u.origin} cannot be called by the real Twilio/Resend: use the stage's https://<domain> ` +
        '(the env file of the local stack sets PUBLIC_BASE_URL=http://127.0.0.1:8080; pass --base-url)',
    );
  }
  return u.origin;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name]?.trim();
  if (!v) throw new UsageError(`${name} is required`);
  return v;
}

function printStep(p: Printer, step: Step, dryRun: boolean, failed = false): void {
  const id = step.id ? ` ${step.id}` : '';
  const verb = {
    create: dryRun ? 'would create' : 'created',
    update: dryRun ? 'would update' : 'updated',
    unchanged: 'unchanged',
  };
  p.out(`${step.what}${id}: ${failed ? 'FAILED' : verb[step.action]}`);
  for (const c of step.changes) p.out(`    ${c.field}: ${shown(c.from)} → ${shown(c.to)}`);
  for (const n of step.notes) p.out(`    ${n}`);
}

export interface ProvidersCommandDeps {
  /** Default: secretsManagerClient(env), created only when a secret is stored. */
  secretsClient?: SecretsClient;
}

export function providersCommand(
  argv: string[],
  env: NodeJS.ProcessEnv,
  io: Io,
  deps: ProvidersCommandDeps = {},
): Promise<number> {
  const credentials = ['TWILIO_AUTH_TOKEN', 'RESEND_API_KEY', 'RESEND_ADMIN_API_KEY'].map((n) => env[n]?.trim() ?? '');
  return runCommand(io, 'providers', credentials, async (p) => {
    if (flag(argv, 'help')) {
      p.out(USAGE);
      return 0;
    }
    const stage = stageOf(argv, env);
    const publicBaseUrl = publicBaseUrlOf(argv, env);
    const dryRun = flag(argv, 'dry-run');
    const file = oncallFileOf([...argv], env);
    const { cfg, errors } = checkOnCallFile(file);
    if (!cfg) throw new Error(`the on-call file is not valid:\n${errors.join('\n')}`);
    const accountSid = required(env, 'TWILIO_ACCOUNT_SID');
    const twilio = twilioClient({
      accountSid,
      authToken: required(env, 'TWILIO_AUTH_TOKEN'),
      apiBaseUrl: env.TWILIO_API_BASE_URL,
    });
    // Managing webhooks needs a full-access key; the paging function's RESEND_API_KEY can stay sending-only.
    const resendKey = env.RESEND_ADMIN_API_KEY?.trim() || required(env, 'RESEND_API_KEY');
    const resend = resendClient({ apiKey: resendKey, baseUrl: env.RESEND_BASE_URL });
    let client = deps.secretsClient;
    const secrets: SecretStore | undefined = flag(argv, 'no-secret')
      ? undefined
      : {
          async storeResendWebhookSecret(value) {
            client ??= secretsManagerClient(env);
            const r = await upsertProviderSecret(client, stage, 'resendWebhookSecret', value);
            return { ...r, name: providerSecretNames(stage).resendWebhookSecret };
          },
        };

    p.out(`providers for stage ${stage} → ${publicBaseUrl} (on-call file ${file})${dryRun ? ', dry run' : ''}`);
    const plan = await planProviders({
      publicBaseUrl,
      oncall: cfg,
      twilio,
      accountSid,
      resend,
      secrets,
      guard: (v) => p.guard(v),
    });
    if (plan.errors.length > 0) {
      for (const e of plan.errors) p.err(`error: ${e}`);
      p.err(`providers: ${plan.errors.length} lookup(s) failed: nothing was changed`);
      return 1;
    }
    let failed = 0;
    for (const step of plan.steps) {
      if (dryRun || !step.apply) {
        printStep(p, step, dryRun);
        if (dryRun && step.apply && step.id && step.action === 'unchanged')
          p.out('    (signing secret not checked in a dry run)');
        continue;
      }
      try {
        const lines = (await step.apply()) ?? [];
        printStep(p, step, false);
        for (const line of lines) p.out(`    ${line}`);
      } catch (err) {
        failed++;
        printStep(p, step, false, true);
        p.err(`error: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const changed = plan.steps.filter((s) => s.action !== 'unchanged').length;
    const summary = `${changed} ${dryRun ? 'to change' : 'changed'}, ${plan.steps.length - changed} unchanged`;
    p.out(dryRun ? `dry run: ${summary}; nothing was changed` : `${summary}${failed ? `, ${failed} failed` : ''}`);
    return failed > 0 ? 1 : 0;
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await providersCommand(process.argv.slice(2), process.env, process);
}
