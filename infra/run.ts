import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `make run`: the services in the foreground, against whatever the environment points at (AWS when the
 * *_ENDPOINT variables are empty). SERVICES picks them (default: receiver,paging,lake — in production
 * one container runs one of them). Logs go to stdout/stderr; SIGTERM drains every service; if one
 * exits, the others are stopped and the exit code is non-zero.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ENTRIES: Record<string, string> = {
  receiver: 'producers/receiver/main.ts',
  paging: 'processors/paging/main.ts',
  lake: 'processors/lake/main.ts',
  simulator: 'infra/local/provider-simulator/main.ts',
};

const wanted = (process.env.SERVICES ?? 'receiver,paging,lake').split(',').map((s) => s.trim()).filter(Boolean);
const unknown = wanted.filter((s) => !(s in ENTRIES));
if (unknown.length) {
  console.error(`SERVICES: unknown ${unknown.join(', ')} (known: ${Object.keys(ENTRIES).join(', ')})`);
  process.exit(2);
}

const children = new Map<string, ChildProcess>();
let stopping = false;
let exitCode = 0;
const stopAll = (signal: NodeJS.Signals) => {
  stopping = true;
  for (const c of children.values()) c.kill(signal);
};

for (const name of wanted) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, ENTRIES[name])], { stdio: 'inherit', env: process.env });
  children.set(name, child);
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (!stopping) {
      console.error(`${name} exited (${signal ?? code}); stopping the others`);
      exitCode = 1;
      stopAll('SIGTERM');
    } else if (code) {
      exitCode = code;
    }
    if (children.size === 0) process.exit(exitCode);
  });
}
process.on('SIGTERM', () => stopAll('SIGTERM'));
process.on('SIGINT', () => stopAll('SIGTERM'));
