import path from 'node:path';

/**
 * Where `make report` writes by default: `reports/<timestamp>/` at the repo root (git-ignored). Saved reports
 * are the user's, so they live outside `.cache/` and `.data/`, the folders `make clean` removes
 * (infra/local/clean.ts keeps this folder).
 */
export const REPORTS_DIR = 'reports';

/** The default folder of a report made at `now`: a timestamp a file name can hold (no `:` or `.`). */
export function defaultReportDir(now: number): string {
  return path.join(REPORTS_DIR, new Date(now).toISOString().replace(/[:.]/g, '-'));
}
