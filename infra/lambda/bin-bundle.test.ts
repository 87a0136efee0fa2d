import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../bin.js';
import { buildBin, DEPS_FILE, STAMP_FILE } from './bin-bundle.js';
import { BundleError } from './errors.js';
import { freePort } from '../local/engines.js';
import { childEnv } from '../../test/helpers/clock.js';

const run = promisify(execFile);

/** A port nothing listens on (taken, then released). */
describe('bin bundles: module locations and entry guards', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'pagetrail-bin-src-'));
    mkdirSync(path.join(root, 'src', 'deep'), { recursive: true });
    // A module that computes a path from its own location and runs its main only as the entry point.
    const guarded = (name: string) =>
      [
        "import { fileURLToPath } from 'node:url';",
        `export const ${name}File = fileURLToPath(import.meta.url);`,
        `if (process.argv[1] === fileURLToPath(import.meta.url)) console.log('main:${name}');`,
      ].join('\n');
    writeFileSync(path.join(root, 'src', 'deep', 'lib.ts'), guarded('lib'));
    writeFileSync(
      path.join(root, 'src', 'tool.ts'),
      `${guarded('tool')}\nimport { libFile } from './deep/lib.js';\nconsole.log('lib=' + libFile);\n`,
    );
    writeFileSync(
      path.join(root, 'src', 'other.ts'),
      "import { toolFile } from './tool.js';\nconsole.log('tool=' + toolFile);\n",
    );
    writeFileSync(
      path.join(root, 'src', 'alone.ts'),
      "import { libFile } from './deep/lib.js';\nconsole.log('alone lib=' + libFile);\n",
    );
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('each module sees its source location; only the entry the process runs passes its guard; deps.mk lists the ' +
    'sources', async () => {
    const outDir = path.join(root, 'dist', 'bin');
    const entries = { tool: 'src/tool.ts', other: 'src/other.ts', alone: 'src/alone.ts' };
    const r = await buildBin({ root, outDir, entries, alone: ['alone'] });
    expect(r.files.map((f) => f.name).sort()).toEqual(['alone', 'other', 'tool']);
    expect(r.inputs).toEqual(['src/alone.ts', 'src/deep/lib.ts', 'src/other.ts', 'src/tool.ts']);

    const node = async (name: string) =>
      (await run(process.execPath, [path.join(outDir, `${name}.mjs`)], { cwd: os.tmpdir(), timeout: 20_000 })).stdout
        .trim()
        .split('\n');
    const lib = path.join(root, 'src', 'deep', 'lib.ts');
    // The entry's own guard fires (its import.meta.url is the bundle's); lib's guard does not.
    expect(await node('tool')).toEqual(['main:tool', `lib=${lib}`]);
    // tool.ts bundled into another entry: its guard stays quiet, its location is its source.
    expect(await node('other')).toEqual([`lib=${lib}`, `tool=${path.join(root, 'src', 'tool.ts')}`]);
    expect(await node('alone')).toEqual([`alone lib=${lib}`]);

    const deps = readFileSync(path.join(outDir, DEPS_FILE), 'utf8');
    expect(deps.split('\n')[0]).toBe(`dist/bin/${STAMP_FILE}: \\`);
    for (const f of [...r.inputs, 'package-lock.json']) expect(deps).toContain(`\n${f}:`);
    expect(existsSync(path.join(outDir, STAMP_FILE))).toBe(true);
    await expect(buildBin({ root, outDir, entries, names: ['nope'] })).rejects.toThrow(BundleError);
  }, 60_000);
});

describe('bin bundles: make query', () => {
  // Inside the repository (dist/, ignored by git): the native DuckDB binding resolves from its node_modules.
  let outDir: string;
  let cacheDir: string;
  beforeAll(async () => {
    mkdirSync(path.join(REPO_ROOT, 'dist'), { recursive: true });
    outDir = mkdtempSync(path.join(REPO_ROOT, 'dist', 'test-bin-'));
    cacheDir = mkdtempSync(path.join(os.tmpdir(), 'pagetrail-bin-cache-'));
    await buildBin({ outDir, names: ['query'] });
  }, 120_000);
  afterAll(() => {
    rmSync(outDir, { recursive: true, force: true });
    rmSync(cacheDir, { recursive: true, force: true });
  });

  const query = async (args: string[], s3Port: number) =>
    run(process.execPath, [path.join(outDir, 'query.mjs'), ...args], {
      cwd: os.tmpdir(),
      timeout: 30_000,
      env: childEnv({
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        S3_ENDPOINT: `http://127.0.0.1:${s3Port}`,
        QUERY_CACHE_DIR: cacheDir,
      }),
    });

  it('answers SELECT 1 from the built file without reaching for S3 (nothing on stderr)', async () => {
    const port = await freePort();
    const table = await query(['--', 'SELECT 1'], port);
    expect(table.stdout).toBe('+---+\n| 1 |\n+---+\n| 1 |\n+---+\n(1 row)\n');
    expect(table.stderr).toBe('');
    const json = await query(
      ['--format=json', '--', "SELECT 42 AS answer, regexp_like('page-ref', '^page') AS y"],
      port,
    );
    expect(JSON.parse(json.stdout)).toEqual([{ answer: 42, y: true }]);
  }, 60_000);

  it('a lake query with S3 down and nothing cached is a clear error', async () => {
    const failed = await query(['--', 'SELECT count(*) FROM events'], await freePort()).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(failed).toMatchObject({ code: 1 });
    expect((failed as { stderr: string }).stderr).toMatch(/query failed: .*S3 unreachable/);
  }, 60_000);
});
