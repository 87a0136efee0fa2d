import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { down, up } from './stack.js';
import {
  PortInUseError,
  httpAnswers,
  pidAlive,
  portFree,
  runLogLines,
  stackContext,
  type ManagedProcess,
} from './supervisor.js';

const dirs: string[] = [];
const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function listen(): Promise<{ server: net.Server; port: number }> {
  return new Promise((resolve) => {
    const server = net.createServer((sock) => sock.destroy());
    server.listen(0, '127.0.0.1', () => {
      servers.push(server);
      resolve({ server, port: (server.address() as net.AddressInfo).port });
    });
  });
}

async function freePort(): Promise<number> {
  const { server, port } = await listen();
  await new Promise((r) => server.close(r));
  servers.splice(servers.indexOf(server), 1);
  return port;
}

function context() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stack-test-'));
  dirs.push(dir);
  // up() checks the endpoints are local; the processes below never reach provisioning
  return stackContext({
    DATA_DIR: dir,
    KINESIS_ENDPOINT: 'http://127.0.0.1:1',
    S3_ENDPOINT: 'http://127.0.0.1:1',
    DYNAMODB_ENDPOINT: 'http://127.0.0.1:1',
    SCHEDULER_ENDPOINT: '',
  });
}

/** A small HTTP server process on `port` (or one that logs and exits with `fail`). */
function proc(name: string, port: number, opts: { fail?: string; variable?: string } = {}): ManagedProcess {
  const script = opts.fail
    ? `console.log(JSON.stringify({level:30,msg:'starting'})); ` +
      `console.error(JSON.stringify({level:50,msg:${JSON.stringify(opts.fail)}})); process.exit(3)`
    : `require('http').createServer((q,s)=>s.end('ok')).listen(${port},'127.0.0.1'); ` +
      `process.on('SIGTERM',()=>process.exit(0))`;
  return {
    name,
    stage: 'engine',
    command: process.execPath,
    args: ['-e', script, `stack-test-${name}`],
    endpoint: `http://127.0.0.1:${port}`,
    port: { number: port, variable: opts.variable ?? `${name.toUpperCase()}_PORT` },
    health: () => httpAnswers(`http://127.0.0.1:${port}`),
    startTimeoutMs: 5000,
    stopTimeoutMs: 2000,
  };
}

const pidOf = (ctx: ReturnType<typeof context>, name: string) => {
  try {
    return Number(fs.readFileSync(path.join(ctx.pidDir, `${name}.pid`), 'utf8'));
  } catch {
    return undefined;
  }
};

describe('make up', () => {
  it('names a taken port in one line and stops what this run started', async () => {
    const ctx = context();
    const { port: taken } = await listen();
    const okPort = await freePort();
    const procs = [proc('kinesis', taken, { variable: 'KINESIS_PORT' }), proc('s3', okPort)];
    const err = await up(ctx, procs).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(
      `port ${taken} (kinesis) is in use by another process: stop it, set KINESIS_PORT, ` +
        'or set PORT_BASE to move every local port (e.g. PORT_BASE=24560 in .env: ports 24560..24568)',
    );
    // s3 started (in parallel) and was stopped again: no pid file, nothing on its port
    expect(pidOf(ctx, 's3')).toBeUndefined();
    expect(await portFree(okPort)).toBe(true);
    expect(fs.readFileSync(path.join(ctx.logDir, 's3.log'), 'utf8')).toContain('starting s3');
  }, 20_000);

  it('shows the lines this run logged, not older ones, and leaves running processes alone', async () => {
    const ctx = context();
    fs.mkdirSync(ctx.logDir, { recursive: true });
    fs.writeFileSync(
      path.join(ctx.logDir, 'dynamodb.log'),
      `${JSON.stringify({ level: 50, msg: 'an old failure' })}\n`,
    );
    // a process a previous `up` started
    const keep = proc('keep', await freePort());
    const child = spawn(keep.command, keep.args, { detached: true, stdio: 'ignore' });
    child.unref();
    fs.mkdirSync(ctx.pidDir, { recursive: true });
    fs.writeFileSync(path.join(ctx.pidDir, 'keep.pid'), `${child.pid}\n`);
    const keptPid = child.pid!;
    await vi.waitUntil(() => keep.health(), { timeout: 5000, interval: 50 });

    const err = await up(ctx, [keep, proc('dynamodb', await freePort(), { fail: 'table store is locked' })]).catch(
      (e: unknown) => e as Error,
    );
    expect((err as Error).message).toMatch(/dynamodb \(pid \d+\) exited( with code 3)? while starting/);
    expect((err as Error).message).toContain('ERROR table store is locked');
    expect((err as Error).message).not.toContain('an old failure');
    expect(pidAlive(keptPid)).toBe(true); // it ran before this `up`: left alone
    await down(ctx, [keep]);
    expect(pidAlive(keptPid)).toBe(false);
  }, 20_000);

  it('stops what it started when provisioning fails', async () => {
    const ctx = context();
    const port = await freePort();
    await expect(up(ctx, [proc('s3', port)])).rejects.toThrow(/provisioning failed|ECONNREFUSED/);
    expect(pidOf(ctx, 's3')).toBeUndefined();
    expect(await portFree(port)).toBe(true);
  }, 60_000);
});

describe('runLogLines', () => {
  it('keeps warnings and errors of a long run and its last lines, readable', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stack-log-'));
    dirs.push(dir);
    const file = path.join(dir, 'x.log');
    fs.writeFileSync(file, 'old line\n');
    const offset = fs.statSync(file).size;
    const lines = [
      '=== header',
      JSON.stringify({ level: 40, msg: 'early warning' }),
      ...Array.from({ length: 30 }, (_, i) => JSON.stringify({ level: 30, msg: `info ${i}` })),
      'Error: at the end',
    ];
    fs.appendFileSync(file, `${lines.join('\n')}\n`);
    const out = runLogLines(file, offset, 10);
    expect(out[0]).toBe('WARN early warning');
    expect(out.at(-1)).toBe('Error: at the end');
    expect(out).not.toContain('old line');
    expect(out.length).toBeLessThanOrEqual(10);
  });

  it('drops stack frames first, so the error headline of a crash stays', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stack-log-'));
    dirs.push(dir);
    const file = path.join(dir, 'x.log');
    const frames = Array.from({ length: 20 }, (_, i) => `    at frame${i} (/x.js:${i}:1)`);
    fs.writeFileSync(
      file,
      [
        'node:internal/modules/run_main:123',
        'Error [TransformError]: Transform failed with 1 error:',
        '/w/dispatcher.ts:335:44: ERROR: Unexpected end of file',
        ...frames,
        '',
        'Node.js v20.20.2',
      ].join('\n'),
    );
    expect(runLogLines(file, 0, 15)).toEqual([
      'node:internal/modules/run_main:123',
      'Error [TransformError]: Transform failed with 1 error:',
      '/w/dispatcher.ts:335:44: ERROR: Unexpected end of file',
      'Node.js v20.20.2',
    ]);
  });
});

it('PortInUseError carries its data', () => {
  const e = new PortInUseError('receiver', 8080, 'PORT');
  expect([e.process, e.port, e.variable]).toEqual(['receiver', 8080, 'PORT']);
});

it('PortInUseError names the endpoints that follow the port, and PORT_BASE', () => {
  expect(new PortInUseError('dynamodb', 4570, 'DYNAMODB_PORT', ['DYNAMODB_ENDPOINT']).message).toBe(
    'port 4570 (dynamodb) is in use by another process: stop it, set DYNAMODB_PORT (DYNAMODB_ENDPOINT follows it), ' +
      'or set PORT_BASE to move every local port (e.g. PORT_BASE=24560 in .env: ports 24560..24568)',
  );
  expect(
    new PortInUseError('simulator', 4580, 'SIMULATOR_PORT', ['TWILIO_API_BASE_URL', 'RESEND_BASE_URL']).message,
  ).toContain('set SIMULATOR_PORT (TWILIO_API_BASE_URL and RESEND_BASE_URL follow it)');
});
