/**
 * `make oncall-check [FILE=<on-call file>] [WEEKS=2] [AT=<ISO time>]`: validates the on-call file without starting
 * anything (cli.ts `oncallCheck`).
 * - Errors exit 1: `error: file: path: what is wrong`, a JSON syntax error as `file: line:column: invalid JSON: …`,
 *   an invalid SEVERITY_MAP / SEVERITY_DEFAULT, a (team, severity) pair that pages nobody, a level that reaches a
 *   person on none of its channels.
 * - Warnings (`warning: …`) are printed and exit 0: a pair that pages a fallback, an iCalendar feed that cannot be
 *   read, a schedule's coverage gap in the `--weeks` (default 2) from `--at` (default now), a channel a paged person
 *   has no address for.
 */
import { oncallCheck, oncallFileOf } from './cli.js';

const argv = process.argv.slice(2);
const arg = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const weeksArg = arg('--weeks') || undefined;
const weeks = weeksArg === undefined ? undefined : Number(weeksArg);
const atArg = arg('--at');
const at = atArg && atArg !== 'now' ? Date.parse(atArg) : undefined;
if (weeks !== undefined && !(Number.isInteger(weeks) && weeks > 0 && weeks <= 52)) {
  process.stderr.write(`oncall-check: --weeks "${weeksArg}" is not a whole number of weeks from 1 to 52\n`);
  process.exit(2);
}
if (Number.isNaN(at)) {
  process.stderr.write(`oncall-check: --at "${atArg}" is not a time (use ISO 8601, e.g. 2026-12-24T20:00:00+01:00)\n`);
  process.exit(2);
}
const file = oncallFileOf(argv);
const { stdout, stderr, code } = await oncallCheck(file, process.env, { at, weeks });
if (stderr.length) process.stderr.write(`${stderr.join('\n')}\n`);
if (stdout.length) process.stdout.write(`${stdout.join('\n')}\n`);
process.exit(code);
