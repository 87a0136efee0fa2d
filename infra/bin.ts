import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The built entry points: every command a `make` target runs and every process the local stack starts,
 * bundled once with esbuild into `dist/bin/<name>.mjs` (`infra/lambda/build.ts --bin`, run by the
 * Makefile when a source changed). This module is what a launcher needs to start one of them, without
 * esbuild: the names, their sources, and the command line.
 *
 * The rule: a launcher that itself runs from `dist/bin` (`make up`, `make run`, `make demo`) starts the
 * built entries; a launcher run through tsx (development, vitest) starts the TypeScript sources with tsx.
 */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BIN_DIR = path.join(REPO_ROOT, 'dist', 'bin');

/** Name (`dist/bin/<name>.mjs`) → entry module, relative to the repository root. */
export const BIN_ENTRIES = {
  // make targets
  stack: 'infra/local/stack.ts',
  demo: 'infra/local/demo.ts',
  run: 'infra/run.ts',
  query: 'analysis/query/cli.ts',
  incident: 'analysis/report/incident-cli.ts',
  report: 'analysis/report/cli.ts',
  backfill: 'processors/lake/backfill-cli.ts',
  'send-alarm': 'producers/receiver/send-alarm.ts',
  oncall: 'processors/paging/schedules/oncall-cli.ts',
  'oncall-check': 'processors/paging/schedules/check-cli.ts',
  smoke: 'infra/deploy/smoke.ts',
  // processes the local stack and `make run` start
  receiver: 'producers/receiver/main.ts',
  paging: 'processors/paging/main.ts',
  lake: 'processors/lake/main.ts',
  simulator: 'infra/local/provider-simulator/main.ts',
  scheduler: 'infra/local/scheduler/main.ts',
  engine: 'infra/local/engine-main.ts',
} as const;
export type BinName = keyof typeof BIN_ENTRIES;

/** The built file of an entry. */
export const binFile = (name: BinName, binDir = BIN_DIR) => path.join(binDir, `${name}.mjs`);

/** Whether this process runs a built entry of `binDir` (then it starts built entries too). */
export function runningBuilt(argv1 = process.argv[1], binDir = BIN_DIR): boolean {
  return argv1 !== undefined && path.dirname(path.resolve(argv1)) === binDir;
}

export interface EntryCommand {
  command: string;
  args: string[];
  /**
   * Strings one of which is in the command line of a process running this entry, built or not (a pid
   * file written by either kind of launcher is recognised by the other).
   */
  match: string[];
}

/**
 * How to start entry `name`: `node [nodeArgs] dist/bin/<name>.mjs ...args` when `built`, else
 * `node [nodeArgs] --import tsx <source> ...args`. Default `built`: whether this process runs built.
 */
export function entryCommand(
  name: BinName,
  args: string[] = [],
  opts: { nodeArgs?: string[]; built?: boolean } = {},
): EntryCommand {
  const source = BIN_ENTRIES[name];
  const built = opts.built ?? runningBuilt();
  const script = built ? binFile(name) : path.join(REPO_ROOT, source);
  return {
    command: process.execPath,
    args: [...(opts.nodeArgs ?? []), ...(built ? [] : ['--import', 'tsx']), script, ...args],
    match: [source.split('/').slice(-2).join('/'), `bin/${name}.mjs`],
  };
}
