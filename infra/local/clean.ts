import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPORTS_DIR } from '../../analysis/report/out-dir.js';

/**
 * `make clean`: after `make down`, removes the local stack's data (DATA_DIR), the query cache
 * (QUERY_CACHE_DIR), `.cache/`, `cdk.out/` and `dist/`, and says exactly what it removed. The saved reports
 * (`reports/`, `make report`'s default: analysis/report/out-dir.ts) are the user's work, not a cache: clean
 * keeps them, and refuses a DATA_DIR or QUERY_CACHE_DIR that would take them (or the repo, or home) with it.
 */

/** Build output and caches, relative to the repo root, removed besides DATA_DIR and QUERY_CACHE_DIR. */
export const BUILD_DIRS = ['.cache', 'cdk.out', 'dist'] as const;

/** A folder clean must not remove: the repo, its parent, home, `/`, or one holding the saved reports. */
export class CleanRefusedError extends Error {
  constructor(
    readonly dir: string,
    reason: string,
  ) {
    super(`clean: refusing to remove ${dir} (${reason})`);
    this.name = 'CleanRefusedError';
  }
}

export interface CleanPlan {
  root: string;
  /** Absolute folders to remove, none inside another. */
  remove: string[];
  /** The saved reports' folder, never removed. */
  keep: string;
}

const within = (dir: string, p: string) => {
  const r = path.relative(dir, p);
  return r === '' || (!r.startsWith('..') && !path.isAbsolute(r));
};

/** What clean will remove under `root`, or CleanRefusedError before anything is stopped or removed. */
export function cleanPlan(opts: { root: string; dataDir: string; queryCacheDir: string; home?: string }): CleanPlan {
  const root = path.resolve(opts.root);
  const keep = path.join(root, REPORTS_DIR);
  const home = path.resolve(opts.home ?? os.homedir());
  const wanted = [opts.dataDir, opts.queryCacheDir, ...BUILD_DIRS].map((d) => path.resolve(root, d));
  for (const dir of wanted) {
    if (within(dir, root) || within(dir, home)) throw new CleanRefusedError(dir, 'it holds the repo or your home');
    if (within(dir, keep) || within(keep, dir))
      throw new CleanRefusedError(dir, `the saved reports in ${REPORTS_DIR}/ are kept`);
  }
  const unique = [...new Set(wanted)];
  const remove = unique.filter((d) => !unique.some((o) => o !== d && within(o, d)));
  return { root, remove, keep };
}

/** Removes the plan's folders; prints one line of what was removed and one of what was kept. */
export function runClean(plan: CleanPlan, say: (line: string) => void): { removed: string[]; kept: string[] } {
  const show = (d: string) => path.relative(plan.root, d) || d;
  const removed = plan.remove.filter((d) => fs.existsSync(d));
  for (const d of removed) fs.rmSync(d, { recursive: true, force: true });
  const kept = fs.existsSync(plan.keep) ? [plan.keep] : [];
  say(removed.length > 0 ? `removed ${removed.map(show).join(' ')}` : 'nothing to remove');
  if (kept.length > 0) say(`kept ${show(plan.keep)}/ (saved reports: make clean never removes them)`);
  return { removed: removed.map(show), kept: kept.map(show) };
}
