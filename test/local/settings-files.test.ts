import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The Makefile's settings files, as every command reads them: `.env.example`, then `.env` over it (a `.env`
 * holding only the changed lines keeps every other setting), `ENV_FILE` alone when given (a deploy's file
 * never inherits the local endpoints), the environment over any file. Run through `make print-setting` in a
 * folder of its own, with the project's Makefile.
 */
const MAKEFILE = path.resolve(import.meta.dirname, '..', '..', 'Makefile');
const run = promisify(execFile);

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagetrail-settings-'));
  fs.writeFileSync(path.join(dir, '.env.example'), 'API_KEY=local\nKINESIS_PORT=4567\n');
  fs.writeFileSync(path.join(dir, 'prod.env'), 'KINESIS_PORT=\n');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function setting(name: string, opts: { args?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const env = { ...process.env, ...opts.env };
  for (const k of ['ENV_FILE', 'MAKEFLAGS', 'MAKELEVEL', 'MFLAGS']) delete env[k]; // not the outer make's (make test)
  if (opts.env?.ENV_FILE) env.ENV_FILE = opts.env.ENV_FILE;
  for (const k of ['API_KEY', 'KINESIS_PORT']) if (!opts.env || !(k in opts.env)) delete env[k];
  const { stdout } = await run('make', ['-s', '-f', MAKEFILE, 'print-setting', `NAME=${name}`, ...(opts.args ?? [])], {
    cwd: dir,
    env,
  });
  return stdout.trim();
}

describe('settings files', () => {
  it('.env.example alone when there is no .env', async () => {
    expect(await setting('KINESIS_PORT')).toBe('4567');
  });

  it('.env overrides .env.example line by line: a one-line .env keeps every other setting', async () => {
    fs.writeFileSync(path.join(dir, '.env'), 'KINESIS_PORT=24567\n');
    try {
      expect(await setting('KINESIS_PORT')).toBe('24567');
      expect(await setting('API_KEY')).toBe('local');
      expect(await setting('KINESIS_PORT', { env: { KINESIS_PORT: '1234' } })).toBe('1234'); // the environment wins
    } finally {
      fs.rmSync(path.join(dir, '.env'));
    }
  });

  it('ENV_FILE is read alone: a deploy file does not inherit the local values', async () => {
    fs.writeFileSync(path.join(dir, '.env'), 'API_KEY=from-dot-env\n');
    try {
      expect(await setting('API_KEY', { args: ['ENV_FILE=prod.env'] })).toBe('');
      expect(await setting('KINESIS_PORT', { env: { ENV_FILE: 'prod.env' } })).toBe('');
    } finally {
      fs.rmSync(path.join(dir, '.env'));
    }
  });
});
