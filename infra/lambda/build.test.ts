import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundles, LAMBDA_BUNDLES, lambdaBundleDir, REPO_ROOT, type BuiltBundle } from './bundle.js';
import { BundleError } from './errors.js';
import { childEnv } from '../../test/helpers/clock.js';

/**
 * Builds the real Lambda bundles into a directory outside the repository (so nothing can fall back to
 * the repo's node_modules) and cold-starts each one in a fresh `node` process, the way Lambda imports
 * `index.mjs`: secrets are fetched from a local Secrets Manager stand-in (AWS_ENDPOINT_URL_SECRETS_MANAGER)
 * before the configuration is read.
 */
const run = promisify(execFile);
let outDir: string;
let built: Map<string, BuiltBundle>;

beforeAll(async () => {
  outDir = mkdtempSync(path.join(os.tmpdir(), 'pagetrail-bundles-'));
  built = new Map((await buildBundles({ outDir })).map((b) => [b.name, b]));
}, 120_000);

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

/** Plain local settings (no AWS call is made while building a handler). */
const baseEnv = (): NodeJS.ProcessEnv =>
  childEnv({
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIDLOCAL',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    LOG_LEVEL: 'silent',
    STREAM_NAME: 'pagetrail-events',
    PUBLIC_BASE_URL: 'https://pagetrail.example.com',
    TWILIO_ACCOUNT_SID: 'AC0123456789abcdef0123456789abcdef',
    ONCALL_FILE: path.join(REPO_ROOT, 'infra/local/oncall/demo.json'),
  });

/** Imports a bundle in a fresh process and prints what it exports. */
async function coldStart(dir: string, env: NodeJS.ProcessEnv): Promise<string> {
  const script =
    `import(${JSON.stringify(path.join(dir, 'index.mjs'))}).then((m) => console.log(typeof m.handler), ` +
    `(e) => { console.error(e?.name + ': ' + e?.message); process.exit(3); })`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    cwd: os.tmpdir(),
    env,
    timeout: 30_000,
  });
  return stdout.trim();
}

describe('Lambda bundles', () => {
  it('one self-contained index.mjs per function, exporting handler; the lake carries parquet-wasm', () => {
    expect([...built.keys()].sort()).toEqual(Object.keys(LAMBDA_BUNDLES).sort());
    for (const b of built.values()) {
      expect(b.exports).toContain('handler');
      expect(b.file).toBe(path.join(outDir, b.name, 'index.mjs'));
      expect(b.bytes).toBeGreaterThan(10_000);
      expect(lambdaBundleDir(b.name, outDir)).toBe(path.join(outDir, b.name));
    }
    expect(built.get('lake')!.files).toEqual(['parquet_wasm_bg.wasm']);
    expect(existsSync(path.join(outDir, 'lake', 'parquet_wasm_bg.wasm'))).toBe(true);
    expect(built.get('paging')!.files).toEqual([]);
  });

  it('alarm-intake: cold-starts outside the repository', async () => {
    expect(await coldStart(path.join(outDir, 'alarm-intake'), baseEnv())).toBe('function');
  }, 60_000);

  it('lake: cold-starts outside the repository (wasm loaded beside the bundle)', async () => {
    expect(await coldStart(path.join(outDir, 'lake'), baseEnv())).toBe('function');
  }, 60_000);

  it('paging: resolves <NAME>_SECRET_ARN through Secrets Manager before reading its configuration', async () => {
    const secrets: Record<string, string> = {
      'arn:aws:secretsmanager:eu-west-1:111111111111:secret:pagetrail/test/twilio-auth-token':
        'twilio-token-0123456789abcdef',
      'arn:aws:secretsmanager:eu-west-1:111111111111:secret:pagetrail/test/resend-api-key': 're_test_key_0123456789',
      'arn:aws:secretsmanager:eu-west-1:111111111111:secret:pagetrail/test/ack-link-secret-AbCdEf': 'a'.repeat(48),
    };
    const asked: string[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const id = (JSON.parse(body) as { SecretId: string }).SecretId;
        asked.push(`${req.headers['x-amz-target']} ${id}`);
        const value = secrets[id];
        res.writeHead(value ? 200 : 400, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(
          JSON.stringify(
            value
              ? { ARN: id, Name: id, SecretString: value }
              : { __type: 'ResourceNotFoundException', message: 'not found' },
          ),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const [twilio, resend, ack] = Object.keys(secrets);
      const env = {
        ...baseEnv(),
        AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        TWILIO_AUTH_TOKEN_SECRET_ARN: twilio,
        RESEND_API_KEY_SECRET_ARN: resend,
        ACK_LINK_SECRET_SECRET_ARN: ack,
      };
      expect(await coldStart(path.join(outDir, 'paging'), env)).toBe('function');
      expect(asked.sort()).toEqual(
        Object.keys(secrets)
          .map((id) => `secretsmanager.GetSecretValue ${id}`)
          .sort(),
      );

      // Without the secrets, the configuration check fails the init and names the variable.
      const { RESEND_API_KEY_SECRET_ARN: _omit, ...withoutResend } = env;
      const failed = await coldStart(path.join(outDir, 'paging'), withoutResend).catch(
        (e: { code: number; stderr: string }) => e,
      );
      expect(failed).toMatchObject({ code: 3 });
      expect((failed as { stderr: string }).stderr).toContain('RESEND_API_KEY');
    } finally {
      server.close();
    }
  }, 60_000);
});

describe('buildBundles', () => {
  it('fails with a BundleError when an entry lacks the required export or does not resolve', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'pagetrail-bundle-src-'));
    try {
      mkdirSync(path.join(root, 'src'));
      writeFileSync(path.join(root, 'src/no-handler.ts'), 'export const other = 1;\n');
      writeFileSync(path.join(root, 'src/broken.ts'), "import { x } from './missing.js';\nexport const handler = x;\n");
      const out = path.join(root, 'out');
      await expect(
        buildBundles({ root, outDir: out, bundles: { a: { entry: 'src/no-handler.ts', requiredExport: 'handler' } } }),
      ).rejects.toThrow(/does not export "handler"/);
      const err = await buildBundles({ root, outDir: out, bundles: { b: { entry: 'src/broken.ts' } } }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BundleError);
      expect((err as Error).message).toMatch(/missing\.js/);
      expect(() => lambdaBundleDir('nope', out)).toThrow(/make lambdas/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
