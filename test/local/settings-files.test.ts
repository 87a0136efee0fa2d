import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_PORTS } from '../../infra/local/ports.mjs';

/**
 * The Makefile's settings files, as every command reads them: `.env.example`, then `.env` over it (a `.env`
 * holding only the changed lines keeps every other setting), `ENV_FILE` alone when given (a deploy's file
 * never inherits the local endpoints), the environment over any file; then the local ports and the endpoints
 * that follow them (PORT_BASE, infra/local/ports.mjs). Run through `make print-setting` in a folder of its
 * own, with the project's Makefile.
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
  const local = ['PORT_BASE', ...LOCAL_PORTS.flatMap((p) => [p.variable, ...p.endpoints])];
  for (const k of ['API_KEY', ...local]) if (!opts.env || !(k in opts.env)) delete env[k];
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

  it('PORT_BASE moves every local port and every endpoint that points at one', async () => {
    const env = { PORT_BASE: '24560' };
    expect(await setting('KINESIS_PORT', { env: { ...env, KINESIS_PORT: '' } })).toBe('24560');
    expect(await setting('DYNAMODB_ENDPOINT', { env })).toBe('http://127.0.0.1:24563');
    expect(await setting('SCHEDULER_ENDPOINT', { env })).toBe('http://127.0.0.1:24564');
    expect(await setting('TWILIO_API_BASE_URL', { env })).toBe('http://127.0.0.1:24565');
    expect(await setting('RESEND_BASE_URL', { env })).toBe('http://127.0.0.1:24565');
    expect(await setting('PUBLIC_BASE_URL', { env })).toBe('http://127.0.0.1:24566');
    expect(await setting('PAGING_HEALTH_PORT', { env })).toBe('24568');
  });

  it('one port set on its own moves its endpoint (DYNAMODB_PORT=24571 make up)', async () => {
    expect(await setting('DYNAMODB_ENDPOINT')).toBe('http://127.0.0.1:4570');
    expect(await setting('DYNAMODB_ENDPOINT', { env: { DYNAMODB_PORT: '24571' } })).toBe('http://127.0.0.1:24571');
    expect(await setting('PUBLIC_BASE_URL', { env: { PORT_BASE: '24560', PORT: '9090' } })).toBe(
      'http://127.0.0.1:9090',
    );
  });

  it('an endpoint set in .env wins, and an empty one (AWS) stays empty', async () => {
    fs.writeFileSync(path.join(dir, '.env'), 'PORT_BASE=24560\nS3_ENDPOINT=http://127.0.0.1:9000\nKINESIS_ENDPOINT=\n');
    try {
      expect(await setting('S3_ENDPOINT')).toBe('http://127.0.0.1:9000');
      expect(await setting('KINESIS_ENDPOINT')).toBe('');
      expect(await setting('DYNAMODB_ENDPOINT')).toBe('http://127.0.0.1:24563');
    } finally {
      fs.rmSync(path.join(dir, '.env'));
    }
  });

  it('a PORT_BASE that leaves no room for every port stops the command, naming the range', async () => {
    const err = await setting('PORT', { env: { PORT_BASE: '65530' } }).catch((e: { stderr?: string }) => e);
    expect((err as { stderr?: string }).stderr).toContain('PORT_BASE=65530: expected an integer from 1 to 65527');
  });
});
