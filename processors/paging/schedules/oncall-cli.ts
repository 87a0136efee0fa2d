/**
 * `make oncall [AT=<ISO time>] [FILE=<on-call file>]`: who is on call for each team and escalation
 * level at that time (default now), resolving schedules (rotations, overrides, iCalendar layers).
 */
import { checkOnCallFile, feedsOf, oncallFileOf, onCallReport } from './cli.js';

const argv = process.argv.slice(2);
const atArg = argv[argv.indexOf('--at') + 1];
const at = argv.includes('--at') && atArg && atArg !== 'now' ? Date.parse(atArg) : Date.now();
if (Number.isNaN(at)) {
  process.stderr.write(`oncall: AT="${atArg}" is not a time (use ISO 8601, e.g. 2026-12-24T20:00:00+01:00)\n`);
  process.exit(2);
}
const file = oncallFileOf(argv);
const { cfg, errors } = checkOnCallFile(file);
if (!cfg) {
  process.stderr.write(`${errors.join('\n')}\n`);
  process.exit(1);
}
const { calendars, warnings } = await feedsOf(file, cfg);
for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
process.stdout.write(
  `On call at ${new Date(at).toISOString()} (${file})\n${onCallReport(cfg, at, calendars).join('\n')}\n`,
);
