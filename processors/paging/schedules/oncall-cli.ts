/**
 * `make oncall [AT=<ISO time>] [FILE=<on-call file>]`: who is on call for each team and escalation
 * level at that time (default now), resolving schedules (rotations, overrides, iCalendar layers); people by
 * name with their id. An AT without an offset is read in the file's time zone (cli.ts `onCallTime`), and it says so.
 */
import { checkOnCallFile, feedsOf, oncallFileOf, onCallReport, onCallTime, type OnCallTime } from './cli.js';

const argv = process.argv.slice(2);
const atArg = argv.includes('--at') ? argv[argv.indexOf('--at') + 1] : undefined;
const file = oncallFileOf(argv);
const { cfg, errors } = checkOnCallFile(file);
if (!cfg) {
  process.stderr.write(`${errors.join('\n')}\n`);
  process.exit(1);
}
let time: OnCallTime;
try {
  time = onCallTime(atArg, cfg, Date.now());
} catch (err) {
  process.stderr.write(`oncall: ${(err as Error).message}\n`);
  process.exit(2);
}
if (time.note) process.stderr.write(`${time.note}\n`);
const { calendars, warnings } = await feedsOf(file, cfg);
for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
process.stdout.write(`On call at ${time.shown} (${file})\n${onCallReport(cfg, time.at, calendars).join('\n')}\n`);
