import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../bin.js';
import { PROVIDER_SECRET_NAMES } from '../cdk/services.js';
import { secretsCommand } from './secrets-cli.js';
import { startSecretsManagerDouble, type SecretsManagerDouble } from './secrets-manager-double.js';
import { PROVIDER_SECRET_ENV, localPlaceholders, secretsManagerClient } from './secrets.js';

const VALUES = {
  TWILIO_AUTH_TOKEN: 'f3a9c0d1e2b34a5b6c7d8e9f00112233',
  RESEND_API_KEY: 're_Abc123_liveKeyValue_0001',
  RESEND_WEBHOOK_SECRET: 'whsec_' + Buffer.from('a-real-looking-signing-secret-0001').toString('base64'),
};
const STAGE = 'prod';
const NAMES = PROVIDER_SECRET_NAMES(STAGE);

let sm: SecretsManagerDouble;
/** Every value any test handed the command: none may ever be printed. */
const everyValue = new Set<string>(Object.values(VALUES));

function envWith(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SECRETS_MANAGER_ENDPOINT: sm.endpoint,
    AWS_REQUEST_TIMEOUT_MS: '2000',
  };
  for (const k of Object.values(PROVIDER_SECRET_ENV)) delete env[k];
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  for (const k of Object.values(PROVIDER_SECRET_ENV)) if (extra[k]) everyValue.add(extra[k]);
  return env;
}

async function run(extra: Record<string, string | undefined>, argv = ['--stage', STAGE]) {
  let out = '';
  let err = '';
  const env = envWith(extra);
  const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } };
  const code = await secretsCommand(argv, env, io, { client: secretsManagerClient(env) });
  for (const v of everyValue) {
    expect(out, 'stdout carries a secret value').not.toContain(v);
    expect(err, 'stderr carries a secret value').not.toContain(v);
  }
  return { code, out, err };
}

const targets = () => sm.calls.map((c) => c.target);

beforeEach(async () => {
  sm = await startSecretsManagerDouble();
});
afterEach(() => sm.close());
afterAll(() => everyValue.clear());

describe('make secrets', () => {
  it('creates the three secrets named by the CDK app, prints full ARNs; a rerun is all unchanged', async () => {
    const first = await run(VALUES);
    expect(first.code).toBe(0);
    expect(first.err).toBe('');
    for (const name of Object.values(NAMES)) {
      const s = sm.secrets.get(name)!;
      expect(s.arn).toMatch(new RegExp(`^arn:aws:secretsmanager:[a-z0-9-]+:\\d{12}:secret:${name}-[A-Za-z0-9]{6}$`));
      expect(first.out).toMatch(new RegExp(`created +${name} +${s.arn.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\n`));
    }
    expect(sm.secrets.get(NAMES.twilioAuthToken)?.value).toBe(VALUES.TWILIO_AUTH_TOKEN);
    expect(sm.secrets.get(NAMES.resendApiKey)?.value).toBe(VALUES.RESEND_API_KEY);
    expect(sm.secrets.get(NAMES.resendWebhookSecret)?.value).toBe(VALUES.RESEND_WEBHOOK_SECRET);
    expect(sm.calls.find((c) => c.target === 'CreateSecret')?.body).toMatchObject({
      Description: expect.stringContaining('pagetrail prod'),
    });

    sm.calls.length = 0;
    const second = await run(VALUES);
    expect(second.code).toBe(0);
    expect(second.out.match(/unchanged/g)).toHaveLength(3);
    expect(targets()).not.toContain('CreateSecret');
    expect(targets()).not.toContain('PutSecretValue');
  });

  it('updates only the secret whose value changed (GetSecretValue compares)', async () => {
    await run(VALUES);
    sm.calls.length = 0;
    const token = '0123456789abcdef0123456789abcdef';
    const r = await run({ ...VALUES, TWILIO_AUTH_TOKEN: token });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`updated +${NAMES.twilioAuthToken} +arn:`));
    expect(r.out.match(/unchanged/g)).toHaveLength(2);
    expect(targets().filter((t) => t === 'PutSecretValue')).toHaveLength(1);
    expect(sm.secrets.get(NAMES.twilioAuthToken)?.value).toBe(token);
  });

  it('does the present ones, lists the missing ones, exits 1; a stored one whose variable is unset: kept', async () => {
    const r = await run({ ...VALUES, RESEND_WEBHOOK_SECRET: undefined });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(new RegExp(`created +${NAMES.twilioAuthToken}`));
    expect(r.out).toMatch(new RegExp(`created +${NAMES.resendApiKey}`));
    expect(r.err).toContain(`missing: ${NAMES.resendWebhookSecret}: RESEND_WEBHOOK_SECRET is not set`);
    expect(r.err).toContain('make providers');
    expect(sm.secrets.has(NAMES.resendWebhookSecret)).toBe(false);

    sm.seed(NAMES.resendWebhookSecret, VALUES.RESEND_WEBHOOK_SECRET);
    const again = await run({ ...VALUES, RESEND_WEBHOOK_SECRET: '' });
    expect(again.code).toBe(0);
    expect(again.out).toMatch(
      new RegExp(`kept +${NAMES.resendWebhookSecret} +arn:\\S+ +\\(RESEND_WEBHOOK_SECRET not set`),
    );
    expect(sm.secrets.get(NAMES.resendWebhookSecret)?.value).toBe(VALUES.RESEND_WEBHOOK_SECRET);
  });

  it("refuses .env.example's placeholders and values of the wrong shape, touching nothing for them", async () => {
    const placeholder = localPlaceholders().get('RESEND_API_KEY');
    expect(placeholder).toMatch(/^re_/);
    const r = await run({ ...VALUES, RESEND_API_KEY: placeholder, TWILIO_AUTH_TOKEN: 'not-a-token' });
    expect(r.code).toBe(1);
    expect(r.err).toContain(`refused: ${NAMES.resendApiKey}: RESEND_API_KEY is the local placeholder of .env.example`);
    expect(r.err).toContain(`refused: ${NAMES.twilioAuthToken}: TWILIO_AUTH_TOKEN is not a Twilio Auth Token`);
    expect(sm.secrets.has(NAMES.resendApiKey)).toBe(false);
    expect(sm.secrets.has(NAMES.twilioAuthToken)).toBe(false);
    expect(r.out).toMatch(new RegExp(`created +${NAMES.resendWebhookSecret}`));
  });

  it('a secret scheduled for deletion is reported with the restore command, never overwritten', async () => {
    const s = sm.seed(NAMES.resendApiKey, 're_old_value_0000000', { deletedDate: Date.UTC(2030, 0, 1) });
    everyValue.add('re_old_value_0000000');
    const r = await run(VALUES);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`failed: ${NAMES.resendApiKey}: update failed: the secret is scheduled for deletion`);
    expect(r.err).toContain(`aws secretsmanager restore-secret --secret-id ${s.arn}`);
    expect(sm.secrets.get(NAMES.resendApiKey)?.value).toBe('re_old_value_0000000');
  });

  it('every call has a deadline: Secrets Manager never answering fails each secret after its retries', async () => {
    sm.hang.add('DescribeSecret');
    const started = Date.now();
    const r = await run({ ...VALUES, AWS_REQUEST_TIMEOUT_MS: '200' });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`failed: ${NAMES.twilioAuthToken}: DescribeSecret failed: TimeoutError`));
    expect(targets().filter((t) => t === 'DescribeSecret').length).toBe(9); // 3 secrets × 3 attempts
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('needs a valid stage (exit 2)', async () => {
    expect((await run(VALUES, [])).code).toBe(2);
    const bad = await run(VALUES, ['--stage', 'Prod/x']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('not a stage name');
    expect(sm.calls).toHaveLength(0);
  });

  it('runs as a command: exit status, output, no value on stdout or stderr', async () => {
    const env = envWith(VALUES);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(REPO_ROOT, 'infra/deploy/secrets-cli.ts'), '--stage', 'dev'],
      { env, cwd: REPO_ROOT },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out.match(/created/g)).toHaveLength(3);
    for (const v of everyValue) expect(out + err).not.toContain(v);
  });
});
