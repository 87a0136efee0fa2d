import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultReportDir } from '../../analysis/report/out-dir.js';

/**
 * `make clean` as it runs (`stack.ts clean`: down, then remove), in a folder of its own with no stack running:
 * the saved reports (make report's default folder) survive, and the words match what was done.
 */
const STACK = path.resolve(import.meta.dirname, 'stack.ts');
const TSX = import.meta.resolve('tsx');
const run = promisify(execFile);

let root: string;
const put = (rel: string) => {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), 'x');
};
const exists = (rel: string) => fs.existsSync(path.join(root, rel));

async function clean(env: NodeJS.ProcessEnv = {}) {
  const base = { ...process.env };
  for (const k of ['DATA_DIR', 'QUERY_CACHE_DIR']) delete base[k];
  return run(process.execPath, ['--import', TSX, STACK, 'clean'], { cwd: root, env: { ...base, ...env } }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'pagetrail-clean-'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe('make clean', () => {
  it('removes the data, caches and build output, keeps the saved reports, and says so', async () => {
    const report = path.join(defaultReportDir(Date.parse('2026-12-07T10:00:00Z')), 'index.html');
    for (const f of ['.data/logs/lake.log', '.cache/lake/x.parquet', 'cdk.out/a.json', 'dist/bin/stack.mjs', report])
      put(f);
    const { code, stdout } = await clean();
    expect(code).toBe(0);
    expect(exists(report)).toBe(true);
    for (const d of ['.data', '.cache', 'cdk.out', 'dist']) expect(exists(d), d).toBe(false);
    expect(stdout).not.toMatch(/data kept/);
    expect(stdout).toContain('removed .data .cache cdk.out dist\n');
    expect(stdout).toContain('kept reports/ (saved reports: make clean never removes them)');
  }, 30_000);

  it('names only what it removed: a QUERY_CACHE_DIR outside .cache, nothing else present', async () => {
    put('lake-cache/o.parquet');
    const { stdout } = await clean({ QUERY_CACHE_DIR: 'lake-cache' });
    expect(stdout).toMatch(/^removed lake-cache$/m);
    expect(exists('lake-cache')).toBe(false);
    expect((await clean()).stdout).toMatch(/^nothing to remove$/m);
  }, 30_000);

  it('refuses a DATA_DIR that would take the reports or the repo with it, before removing anything', async () => {
    put('reports/r/index.html');
    put('.cache/lake/x');
    for (const DATA_DIR of ['reports', '.', '..']) {
      const { code, stderr } = await clean({ DATA_DIR });
      expect(code, DATA_DIR).toBe(1);
      expect(stderr).toMatch(/clean: refusing to remove/);
    }
    expect(exists('reports/r/index.html')).toBe(true);
    expect(exists('.cache/lake/x')).toBe(true);
  }, 30_000);
});
