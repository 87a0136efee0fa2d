/** What the deploy commands share: the stage argument, output that can never carry a secret value. */

/** Where a command writes (process.stdout / process.stderr, or a buffer in tests). */
export interface Io {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

/** A bad command line: the message, then exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A stage name: it goes into the stack name (`pagetrail-<stage>`) and every secret name. */
export const STAGE = /^[a-z0-9][a-z0-9-]{0,29}$/;

/** The value of `--name value` or `--name=value`; undefined when absent. */
export function option(argv: readonly string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === `--${name}`) return argv[i + 1];
    if (argv[i].startsWith(`--${name}=`)) return argv[i].slice(name.length + 3);
  }
  return undefined;
}

export const flag = (argv: readonly string[], name: string) => argv.includes(`--${name}`);

/** `--stage`, else STAGE from the environment; required, checked against STAGE. */
export function stageOf(argv: readonly string[], env: NodeJS.ProcessEnv): string {
  const stage = (option(argv, 'stage') ?? env.STAGE ?? '').trim();
  if (!stage) throw new UsageError('the stage is required: --stage <name> (make … STAGE=<name>), as in -c stage=…');
  if (!STAGE.test(stage))
    throw new UsageError(`stage "${stage}" is not a stage name (lowercase letters, digits, hyphens; at most 30)`);
  return stage;
}

/**
 * Output lines through a last guard: every value in `secrets` (added as they become known) is replaced
 * by `[redacted]` before a line is written, whichever path produced it.
 */
export class Printer {
  private readonly secrets = new Set<string>();

  constructor(private readonly io: Io) {}

  /** Values that must never be written (short ones are ignored: they would mask ordinary words). */
  guard(...values: (string | undefined)[]): void {
    for (const v of values) if (v && v.length >= 8) this.secrets.add(v);
  }

  redact(s: string): string {
    let out = s;
    for (const v of this.secrets) out = out.split(v).join('[redacted]');
    return out;
  }

  out(line = ''): void {
    this.io.stdout.write(`${this.redact(line)}\n`);
  }

  err(line: string): void {
    this.io.stderr.write(`${this.redact(line)}\n`);
  }
}

/** Runs a command: a UsageError → exit 2, any other error → its message and exit 1 (never a stack of values). */
export async function runCommand(
  io: Io,
  name: string,
  guarded: string[],
  run: (p: Printer) => Promise<number>,
): Promise<number> {
  const p = new Printer(io);
  p.guard(...guarded);
  try {
    return await run(p);
  } catch (err) {
    p.err(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    return err instanceof UsageError ? 2 : 1;
  }
}
