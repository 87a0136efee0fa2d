/**
 * `make secrets STAGE=<stage>`: creates or updates the stage's provider secrets in Secrets Manager from
 * the environment (the Makefile's env file, or variables set on the command line):
 *
 *   TWILIO_AUTH_TOKEN      → PROVIDER_SECRET_NAMES(stage).twilioAuthToken
 *   RESEND_API_KEY         → ….resendApiKey
 *   RESEND_WEBHOOK_SECRET  → ….resendWebhookSecret (`make providers` stores it when it creates the endpoint)
 *
 * Prints one line per secret — `created`, `updated`, `unchanged` (a rerun changes nothing) or `kept`
 * (variable unset, a value is stored) — with the secret's full ARN; never a value. Exit 1 when a secret
 * is missing (unset and not stored: the deployment would not start), refused (a local placeholder of
 * .env.example, or not the shape of that secret) or failed; the others are still done. Exit 2: usage.
 *
 *   node --env-file=<env file> --import tsx infra/deploy/secrets-cli.ts --stage prod
 *
 * AWS: the default credential chain and AWS_REGION (the stage's region); AWS_CONNECTION_TIMEOUT_MS and
 * AWS_REQUEST_TIMEOUT_MS bound every call; SECRETS_MANAGER_ENDPOINT (unset on AWS) points elsewhere.
 */
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../platform/config.js';
import { flag, runCommand, stageOf, type Io } from './command.js';
import {
  PROVIDER_SECRET_ENV,
  localPlaceholders,
  secretsManagerClient,
  syncProviderSecrets,
  type SecretsClient,
} from './secrets.js';

const USAGE = 'usage: secrets --stage <stage>   (values from TWILIO_AUTH_TOKEN, RESEND_API_KEY, RESEND_WEBHOOK_SECRET)';

export interface SecretsCommandDeps {
  /** Default: secretsManagerClient(env). */
  client?: SecretsClient;
  /** Default: the values of .env.example. */
  placeholders?: ReadonlyMap<string, string>;
}

export function secretsCommand(
  argv: string[],
  env: NodeJS.ProcessEnv,
  io: Io,
  deps: SecretsCommandDeps = {},
): Promise<number> {
  const values = Object.values(PROVIDER_SECRET_ENV).map((n) => env[n]?.trim());
  return runCommand(
    io,
    'secrets',
    values.filter((v): v is string => !!v),
    async (p) => {
      if (flag(argv, 'help')) {
        p.out(USAGE);
        return 0;
      }
      const stage = stageOf(argv, env);
      const client = deps.client ?? secretsManagerClient(env);
      const where = env.SECRETS_MANAGER_ENDPOINT?.trim() || `region ${loadConfig(env).AWS_REGION}`;
      p.out(`Secrets Manager (${where}), stage ${stage}:`);
      const reports = await syncProviderSecrets(client, stage, env, deps.placeholders ?? localPlaceholders());
      const width = Math.max(...reports.map((r) => r.name.length));
      const problems: string[] = [];
      for (const r of reports) {
        const name = r.name.padEnd(width);
        switch (r.result) {
          case 'created':
          case 'updated':
          case 'unchanged':
            p.out(`  ${r.result.padEnd(9)}  ${name}  ${r.arn}`);
            break;
          case 'kept':
            p.out(`  ${'kept'.padEnd(9)}  ${name}  ${r.arn}  (${r.env} not set: the stored value stays)`);
            break;
          case 'missing': {
            const how =
              r.secret === 'resendWebhookSecret'
                ? `set ${r.env}, or run make providers (it creates the Resend endpoint and stores its signing secret)`
                : `set ${r.env}`;
            p.out(`  ${'missing'.padEnd(9)}  ${r.name}`);
            problems.push(`missing: ${r.name}: ${r.env} is not set and the secret has no value; ${how}`);
            break;
          }
          case 'refused':
          case 'failed':
            p.out(`  ${r.result.padEnd(9)}  ${r.name}`);
            problems.push(`${r.result}: ${r.name}: ${r.reason}`);
            break;
        }
      }
      for (const line of problems) p.err(line);
      if (problems.length > 0) {
        const done = reports.length - problems.length;
        p.err(
          `secrets: ${problems.length} of ${reports.length} not done` +
            (done > 0 ? ` (the other ${done} done)` : '') +
            `; the deployment needs all ${reports.length}`,
        );
        return 1;
      }
      return 0;
    },
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await secretsCommand(process.argv.slice(2), process.env, process);
}
