import fs from 'node:fs';
import path from 'node:path';
import { SERVICES } from './services.js';
import type { StackContext } from './supervisor.js';

/**
 * `make logs [SERVICE=<name>]`: the log files to follow (`$DATA_DIR/logs/<name>.log`, one per service of services.ts).
 * An unknown SERVICE is an error that lists the valid names (exit 2); a known one with no log yet, or no logs at all,
 * says that `make up` starts the services (exit 1). `stack.ts log-files [SERVICE]` prints the paths, one a line, for
 * the Makefile to hand to `tail`.
 */
export class LogFilesError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
    this.name = 'LogFilesError';
  }
}

/** The valid SERVICE names, in the order `make up` starts them. */
export const logServiceNames = (): string[] => SERVICES.map((s) => s.name);

export function logFiles(ctx: Pick<StackContext, 'logDir'>, service?: string): string[] {
  const rel = path.relative(process.cwd(), ctx.logDir) || '.';
  const name = service?.trim();
  if (name && !logServiceNames().includes(name))
    throw new LogFilesError(`no service "${name}"; SERVICE is one of: ${logServiceNames().join(', ')}`, 2);
  const names = name ? [name] : logServiceNames();
  const files = names.map((n) => path.join(ctx.logDir, `${n}.log`)).filter((f) => fs.existsSync(f));
  if (files.length === 0)
    throw new LogFilesError(`no logs under ${rel}${name ? ` for ${name}` : ''} (make up starts the services)`, 1);
  return files;
}
