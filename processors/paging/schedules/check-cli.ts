/**
 * `make oncall-check [FILE=<on-call file>]`: validates the on-call file without starting anything (cli.ts
 * `oncallCheck`). Errors (`error: file: path: what is wrong`, an invalid SEVERITY_MAP / SEVERITY_DEFAULT, a
 * (team, severity) pair that pages nobody) exit 1; warnings (`warning: …`: a pair that pages a fallback, an
 * iCalendar feed that cannot be read) are printed and exit 0.
 */
import { oncallCheck, oncallFileOf } from './cli.js';

const file = oncallFileOf(process.argv.slice(2));
const { stdout, stderr, code } = await oncallCheck(file);
if (stderr.length) process.stderr.write(`${stderr.join('\n')}\n`);
if (stdout.length) process.stdout.write(`${stdout.join('\n')}\n`);
process.exit(code);
