/**
 * The one path every process of the local stack goes through, whatever it runs (what differs per process
 * is a row of services.ts; `make up | down | status` is stack.ts):
 *
 * - start: detached, cwd = repo root, output appended to $DATA_DIR/logs/<name>.log, pid in
 *   $DATA_DIR/pids/<name>.pid; then polled until it answers. A process whose pid file names a live
 *   process of ours is left alone (waited on, not started again); a port taken by anything else fails
 *   with the setting that chooses it.
 * - stop: SIGTERM to its process group, SIGKILL after its grace; the pid file goes.
 * - a failed start shows this run's lines of its log (warnings, errors and the last lines).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { REPO_ROOT } from '../bin.js';
import { MAX_OFFSET } from './ports.mjs';

/** One background process `make up` starts and `make down` stops. */
export interface ManagedProcess {
  /** Pid file `$DATA_DIR/pids/<name>.pid`, log `$DATA_DIR/logs/<name>.log`. */
  name: string;
  /** 'engine' processes start before provisioning, 'app' processes after (and stop first). */
  stage: 'engine' | 'app';
  /** Executable and arguments; run with cwd = repo root. */
  command: string;
  args: string[];
  /** Added to the inherited environment. */
  env?: Record<string, string>;
  /** Shown by `up` and `status`. */
  endpoint?: string;
  /**
   * The TCP port it listens on, the setting that chooses it and the settings that follow that one (its
   * endpoints): `up` checks the port is free before it starts the process, and names them when it is not.
   */
  port?: { number: number; variable: string; follows?: readonly string[] };
  /** True once the process serves (called repeatedly while starting, and by `status`). */
  health(): Promise<boolean>;
  /** Default 30 s. */
  startTimeoutMs?: number;
  /** SIGTERM grace before SIGKILL. Default 10 s. */
  stopTimeoutMs?: number;
  /**
   * A string (or one of several) that must appear in /proc/<pid>/cmdline for a pid file to count as
   * ours (guards against a recycled pid). Defaults to the last argument.
   */
  match?: string | string[];
}

export interface StackContext {
  env: NodeJS.ProcessEnv;
  dataDir: string;
  pidDir: string;
  logDir: string;
}

/** $DATA_DIR (default `.data`): engine data, pid files and logs. */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.DATA_DIR?.trim() || '.data');
}

export function stackContext(env: NodeJS.ProcessEnv = process.env): StackContext {
  const dir = dataDir(env);
  return { env, dataDir: dir, pidDir: path.join(dir, 'pids'), logDir: path.join(dir, 'logs') };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves true when `GET url` answers with any HTTP status (or with `status` when given). */
export function httpAnswers(url: string, opts: { timeoutMs?: number; status?: number } = {}): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: opts.timeoutMs ?? 1000, agent: false }, (res) => {
      res.resume();
      resolve(opts.status === undefined || res.statusCode === opts.status);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
  });
}

/**
 * Polls `ready` every `intervalMs` until it holds ('ready'), `gone()` says why it never will (that
 * reason), or `timeoutMs` has passed ('timeout').
 */
export async function waitReady(
  ready: () => Promise<boolean>,
  gone: () => string | undefined,
  timeoutMs: number,
  intervalMs: number,
): Promise<'ready' | 'timeout' | { gone: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await ready()) return 'ready';
    const why = gone();
    if (why) return { gone: why };
    if (Date.now() > deadline) return 'timeout';
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------------
// pids

const pidFile = (ctx: StackContext, p: ManagedProcess) => path.join(ctx.pidDir, `${p.name}.pid`);
const logFile = (ctx: StackContext, p: ManagedProcess) => path.join(ctx.logDir, `${p.name}.log`);
/** `file` relative to the working directory when it is below it. */
export const rel = (file: string) => {
  const r = path.relative(process.cwd(), file);
  return r && !r.startsWith('..') && !path.isAbsolute(r) ? r : file;
};

function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function writePid(file: string, pid: number) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${pid}\n`);
  fs.renameSync(tmp, file);
}

/** Alive and not a zombie. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
  } catch {
    // no procfs: trust kill(0)
  }
  return true;
}

function pidIsOurs(pid: number, p: ManagedProcess): boolean {
  const match = [p.match ?? p.args[p.args.length - 1] ?? p.command].flat();
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    return match.some((m) => cmdline.includes(m));
  } catch {
    return true; // no procfs
  }
}

interface ProcState {
  pid?: number;
  running: boolean;
  stalePidFile: boolean;
}

export function inspect(ctx: StackContext, p: ManagedProcess): ProcState {
  const pid = readPid(pidFile(ctx, p));
  if (pid === undefined) return { running: false, stalePidFile: fs.existsSync(pidFile(ctx, p)) };
  const running = pidAlive(pid) && pidIsOurs(pid, p);
  return { pid, running, stalePidFile: !running };
}

/** The pid of `p` when a process this stack started runs it (its pid file names a live process of ours). */
export function runningPid(ctx: StackContext, p: ManagedProcess): number | undefined {
  const state = inspect(ctx, p);
  return state.running ? state.pid : undefined;
}

/** The environment a running process started with (/proc/<pid>/environ), or undefined where unreadable. */
export function processEnv(pid: number): Record<string, string> | undefined {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
    const env: Record<string, string> = {};
    for (const entry of raw.split('\0')) {
      const i = entry.indexOf('=');
      if (i > 0) env[entry.slice(0, i)] = entry.slice(i + 1);
    }
    return env;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// logs

/** A pino JSON line as `LEVEL msg (err)`; any other line as it is. */
function readable(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const o = JSON.parse(line) as {
      level?: number;
      msg?: string;
      err?: { message?: string } | string;
      reason?: string;
    };
    const level =
      ({ 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' } as Record<number, string>)[
        o.level ?? 30
      ] ?? 'INFO';
    const err = typeof o.err === 'string' ? o.err : o.err?.message;
    return `${level} ${o.msg ?? ''}${err ? ` (${err})` : o.reason ? ` (${o.reason})` : ''}`;
  } catch {
    return line;
  }
}

/**
 * The lines this run wrote to an append-only log (from byte `offset`, where the run started): the
 * warnings and errors among them and the last lines, at most `lines`.
 */
export function runLogLines(file: string, offset: number, lines = 15): string[] {
  let text: string;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const buf = Buffer.alloc(Math.max(0, size - offset));
      fs.readSync(fd, buf, 0, buf.length, offset);
      text = buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return [];
  }
  const all = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('=== '));
  const important = (l: string) => !l.startsWith('{') || /"level":(4|5|6)0/.test(l);
  // too long: without stack frames (the error's headline stays), then the warnings and errors and the end
  let picked = all.length <= lines ? all : all.filter((l) => !/^\s+at /.test(l));
  if (picked.length > lines) {
    const tail = Math.ceil(lines / 2);
    picked = [
      ...picked
        .slice(0, -tail)
        .filter(important)
        .slice(-(lines - tail)),
      ...picked.slice(-tail),
    ];
  }
  return picked.map(readable);
}

function logExcerpt(file: string, offset: number): string {
  const lines = runLogLines(file, offset);
  return lines.length ? lines.map((l) => `    | ${l}`).join('\n') : '    | (nothing logged)';
}

// ---------------------------------------------------------------------------------------------
// ports

/**
 * A port a managed process needs is taken by a process this stack did not start. The message names the one
 * setting that moves it (and the endpoints that follow it, so nothing else needs changing), and PORT_BASE,
 * which moves every local port at once (ports.mjs).
 */
export class PortInUseError extends Error {
  constructor(
    readonly process: string,
    readonly port: number,
    readonly variable: string,
    readonly follows: readonly string[] = [],
  ) {
    const along = follows.length ? ` (${follows.join(' and ')} ${follows.length > 1 ? 'follow' : 'follows'} it)` : '';
    super(
      `port ${port} (${process}) is in use by another process: stop it, set ${variable}${along}, ` +
        `or set PORT_BASE to move every local port (e.g. PORT_BASE=24560 in .env: ports 24560..${24560 + MAX_OFFSET})`,
    );
    this.name = 'PortInUseError';
  }
}

/** True when nothing listens on `port` (a listen on 127.0.0.1 succeeds). */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => resolve(err.code !== 'EADDRINUSE' && err.code !== 'EACCES'));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

// ---------------------------------------------------------------------------------------------
// start / stop

async function waitHealthy(
  ctx: StackContext,
  p: ManagedProcess,
  pid: number,
  exited: () => string | undefined,
  logOffset = 0,
): Promise<void> {
  const timeoutMs = p.startTimeoutMs ?? 30_000;
  const gone = () => exited() ?? (pidAlive(pid) ? undefined : 'exited');
  const result = await waitReady(() => p.health(), gone, timeoutMs, 150);
  if (result === 'ready') return;
  const log = logFile(ctx, p);
  const why =
    result === 'timeout'
      ? `did not answer${p.endpoint ? ` on ${p.endpoint}` : ''} within ${timeoutMs / 1000} s`
      : `${result.gone} while starting`;
  throw new Error(`${p.name} (pid ${pid}) ${why}; this run's lines of ${rel(log)}:\n${logExcerpt(log, logOffset)}`);
}

export type StartResult = { name: string; pid: number; started: boolean };

/** Starts `p` unless a process of ours runs it already; resolves once it answers. */
export async function startProcess(ctx: StackContext, p: ManagedProcess): Promise<StartResult> {
  const state = inspect(ctx, p);
  if (state.running && state.pid) {
    // alive: either serving already, or still starting (another `up` launched it)
    await waitHealthy(ctx, p, state.pid, () => undefined);
    return { name: p.name, pid: state.pid, started: false };
  }
  if (state.stalePidFile) fs.rmSync(pidFile(ctx, p), { force: true });
  if (p.port && !(await portFree(p.port.number)))
    throw new PortInUseError(p.name, p.port.number, p.port.variable, p.port.follows);
  if (await p.health()) {
    throw new Error(
      `${p.name}: something already answers on ${p.endpoint ?? 'its port'} ` +
        `but it is not a process this stack started ` +
        `(no live pid in ${rel(pidFile(ctx, p))}); stop it or change the port`,
    );
  }

  fs.mkdirSync(ctx.logDir, { recursive: true });
  const log = logFile(ctx, p);
  const fd = fs.openSync(log, 'a');
  const logOffset = fs.fstatSync(fd).size;
  fs.writeSync(fd, `\n=== ${new Date().toISOString()} starting ${p.name}: ${[p.command, ...p.args].join(' ')}\n`);
  let exitInfo: string | undefined;
  try {
    const child = spawn(p.command, p.args, {
      cwd: REPO_ROOT,
      env: { ...ctx.env, ...p.env },
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.once('error', (err) => (exitInfo = `failed to spawn (${err.message})`));
    child.once('exit', (code, signal) => (exitInfo = `exited with ${signal ?? `code ${code}`}`));
    child.unref();
    if (child.pid === undefined) {
      await sleep(50);
      throw new Error(`${p.name}: ${exitInfo ?? 'failed to spawn'}: ${p.command}`);
    }
    writePid(pidFile(ctx, p), child.pid);
    try {
      await waitHealthy(ctx, p, child.pid, () => exitInfo, logOffset);
    } catch (err) {
      await stopPid(child.pid, 2000);
      fs.rmSync(pidFile(ctx, p), { force: true });
      throw err;
    }
    return { name: p.name, pid: child.pid, started: true };
  } finally {
    fs.closeSync(fd);
  }
}

function signal(pid: number, sig: NodeJS.Signals) {
  // detached children lead their own process group: signal the group, then the pid
  try {
    process.kill(-pid, sig);
    return;
  } catch {
    // not a group leader or already gone
  }
  try {
    process.kill(pid, sig);
  } catch {
    // gone
  }
}

/** SIGTERM, wait up to `graceMs`, SIGKILL. Resolves 'term', 'kill' or 'gone'. */
export async function stopPid(pid: number, graceMs: number): Promise<'term' | 'kill' | 'gone'> {
  if (!pidAlive(pid)) return 'gone';
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) return 'term';
    await sleep(100);
  }
  signal(pid, 'SIGKILL');
  const hard = Date.now() + 5000;
  while (pidAlive(pid) && Date.now() < hard) await sleep(50);
  if (pidAlive(pid)) throw new Error(`pid ${pid} survived SIGKILL`);
  return 'kill';
}

/** Stops `p` by its pid file; the line `down` prints. */
export async function stopProcess(ctx: StackContext, p: ManagedProcess): Promise<string> {
  const state = inspect(ctx, p);
  if (!state.pid) return `${p.name}: not running`;
  if (!state.running) {
    fs.rmSync(pidFile(ctx, p), { force: true });
    return `${p.name}: not running (removed stale pid file)`;
  }
  const how = await stopPid(state.pid, p.stopTimeoutMs ?? 10_000);
  fs.rmSync(pidFile(ctx, p), { force: true });
  return `${p.name}: stopped pid ${state.pid}${how === 'kill' ? ' (SIGKILL after timeout)' : ''}`;
}

/** Runs fn over items in parallel; throws one error listing every failure. */
export async function all<T, R>(items: T[], fn: (t: T) => Promise<R>): Promise<R[]> {
  const results = await Promise.allSettled(items.map(fn));
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (errors.length) {
    throw new Error(errors.map((e) => (e instanceof Error ? e.message : String(e))).join('\n'));
  }
  return results.map((r) => (r as PromiseFulfilledResult<R>).value);
}
