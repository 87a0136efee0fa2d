import { spawn, type ChildProcess } from 'node:child_process';
import { entryCommand, type BinName } from './bin.js';

/**
 * `make run`: the services in the foreground, against whatever the environment points at (AWS when the
 * *_ENDPOINT variables are empty). SERVICES picks them (default: receiver,paging,lake; simulator may be
 * added). Not how production runs: on AWS the receiver is the one container (Dockerfile, ECS Fargate)
 * and paging and lake are Lambda functions behind event source mappings (infra/cdk/processors.ts); the
 * paging and lake services here run the same handlers behind the local event source mapping. Logs go to
 * stdout/stderr; SIGTERM drains every service; if one exits, the others are stopped and the exit code is
 * non-zero. Run built (`make run`: dist/bin/run.mjs), it starts the built services; run through tsx,
 * their TypeScript sources (infra/bin.ts).
 */
const SERVICES: readonly BinName[] = ['receiver', 'paging', 'lake', 'simulator'];
/** Node flags per service (the lake: a larger young generation, as on the local stack). */
const NODE_ARGS: Partial<Record<BinName, string[]>> = { lake: ['--max-semi-space-size=64'] };

const wanted = (process.env.SERVICES ?? 'receiver,paging,lake')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const unknown = wanted.filter((s) => !SERVICES.includes(s as BinName));
if (unknown.length) {
  console.error(`SERVICES: unknown ${unknown.join(', ')} (known: ${SERVICES.join(', ')})`);
  process.exit(2);
}

const children = new Map<string, ChildProcess>();
let stopping = false;
let exitCode = 0;
const stopAll = (signal: NodeJS.Signals) => {
  stopping = true;
  for (const c of children.values()) c.kill(signal);
};

for (const name of wanted as BinName[]) {
  const { command, args } = entryCommand(name, [], { nodeArgs: NODE_ARGS[name] });
  const child = spawn(command, args, { stdio: 'inherit', env: process.env });
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
