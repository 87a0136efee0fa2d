/**
 * `make oncall-check [FILE=<on-call file>]`: validates the on-call file without starting anything.
 * Prints every problem at once, one line each (`file: path: what is wrong`), and exits 1 if any;
 * an iCalendar feed that cannot be read is a warning (paging keeps its last good copy).
 */
import { checkOnCallFile, feedsOf, oncallFileOf } from './cli.js';

const file = oncallFileOf(process.argv.slice(2));
const { cfg, errors } = checkOnCallFile(file);
if (!cfg) {
  process.stderr.write(`${errors.join('\n')}\n${errors.length} problem${errors.length === 1 ? '' : 's'} in ${file}\n`);
  process.exit(1);
}
const { warnings } = await feedsOf(file, cfg);
for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
const schedules = Object.keys(cfg.schedules).length;
process.stdout.write(
  `${file}: OK (${Object.keys(cfg.people).length} people, ${Object.keys(cfg.teams).length} teams, ` +
    `${schedules} schedule${schedules === 1 ? '' : 's'})\n`,
);
