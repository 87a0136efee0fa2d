/**
 * `make oncall [AT=<ISO time>] [FILE=<on-call file>]`: who is on call for each team and escalation
 * level at that time (default now), resolving schedules (rotations, overrides, iCalendar layers); people by
 * name with their id. An AT without an offset is read in the file's time zone (cli.ts `onCallTime`), and it says so.
 * Then, for the schedules with a drill, the current and coming shifts (24 h) as reachable / not proven / unreachable
 * from the latest drill results, read from the paging state in DynamoDB (drills/status.ts says why there).
 */
import { BatchGetItemCommand } from '@aws-sdk/client-dynamodb';
import { loadConfig } from '../../../platform/config.js';
import { awsClients } from '../../../platform/aws.js';
import { batchGetByPk } from '../../../platform/batch-get.js';
import { parseIncidentItem } from '../../../shared/incident-item.js';
import type { IncidentState, DrillState } from '../incident-state.js';
import { reachabilityLines, reachabilityOf, type ReadDrills } from '../drills/status.js';
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
if (Object.values(cfg.schedules).some((s) => s.drill)) {
  try {
    const config = loadConfig(process.env);
    const { dynamodb } = awsClients(config);
    const table = config.INCIDENTS_TABLE;
    // the drills' items by their ids, 100 keys per BatchGetItem, within 3 s in all
    const read: ReadDrills = async (ids) => {
      const out = new Map<string, DrillState>();
      const signal = AbortSignal.timeout(3000);
      for (let i = 0; i < ids.length; i += 100) {
        const items = await batchGetByPk(table, ids.slice(i, i + 100), (Keys) =>
          dynamodb.send(new BatchGetItemCommand({ RequestItems: { [table]: { Keys, ConsistentRead: true } } }), {
            abortSignal: signal,
          }),
        );
        for (const [id, item] of items) {
          const found = parseIncidentItem<IncidentState>(item);
          if (found && 'state' in found && found.state.drill) out.set(id, found.state.drill);
        }
      }
      return out;
    };
    const rows = await reachabilityOf(cfg, time.at, read, { calendars });
    process.stdout.write(`${reachabilityLines(cfg, rows).join('\n')}\n`);
  } catch (err) {
    process.stdout.write(
      `reachability (drills): unknown — the paging state (DynamoDB) could not be read: ${(err as Error).message}\n`,
    );
  }
}
