import { parseArgs } from 'node:util';
import { loadConfig } from '../../platform/config.js';
import { UsageError, runQueryCommand } from './command.js';
import { widthOf } from './text-table.js';

/** `make query SQL="…" | NAME=… [FORMAT=…]`: see command.ts. Exit 2 on a usage error, 1 when the query fails. */
async function main() {
  const { values, positionals } = parseArgs({
    options: { name: { type: 'string' }, format: { type: 'string' } },
    allowPositionals: true,
  });
  await runQueryCommand({
    sql: positionals.join(' '),
    name: values.name,
    format: values.format,
    config: loadConfig(),
    // The answer ends with its own newline (formatResult); a terminal gives its width to the table layouts.
    out: (text) => process.stdout.write(text),
    width: widthOf(process.stdout),
    err: (line) => process.stderr.write(`${line}\n`),
  });
}

main().catch((err) => {
  console.error(
    err instanceof UsageError ? err.message : `query failed: ${err instanceof Error ? err.message : String(err)}`,
  );
  process.exit(err instanceof UsageError ? 2 : 1);
});
