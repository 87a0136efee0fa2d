import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackEnv, startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { childEnv } from '../helpers/clock.js';
import { archiveRangeNote } from '../../processors/lake/archive-days.js';

/**
 * `make backfill` on a range with no data (issue 20 row 12): rc 0 (nothing to do is not an error), the summary
 * on stdout as before, and on stderr a note that nothing arrived in the range with the days the raw archive
 * holds and a command that replays them. Without FROM/TO: the usage and the same days. The backfill CLI runs
 * as `make backfill` runs it, against a throw-away local stack whose raw archive holds two days.
 */
const ROOT = path.resolve(import.meta.dirname, '..', '..');
const run = promisify(execFile);
let stack: LocalStack;

async function backfill(...args: string[]) {
  // the stack's endpoints and names, as the services get them (make backfill reads the same settings)
  const env = childEnv(stackEnv(stack.config));
  const argv = ['--env-file=.env.example', '--import', 'tsx', 'processors/lake/backfill-cli.ts', ...args];
  return run(process.execPath, argv, { cwd: ROOT, env }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

beforeAll(async () => {
  stack = await startLocalStack({ shards: 1 });
  for (const dt of ['2026-11-28', '2026-11-30'])
    await stack.clients.s3.send(
      new PutObjectCommand({
        Bucket: stack.config.LAKE_BUCKET,
        Key: `raw/dt=${dt}/shardId-000000000000-49000000000000000001-49000000000000000002.parquet`,
        Body: 'not read: outside every range below',
      }),
    );
}, 60_000);
afterAll(async () => stack?.stop());

describe('make backfill on a range with no data', () => {
  it('exits 0 and says on stderr that nothing arrived, and which days have data', async () => {
    const { code, stdout, stderr } = await backfill('--from', '2020-01-01T00:00:00Z', '--to', '2020-01-02T00:00:00Z');
    expect(code).toBe(0);
    expect(stdout).toMatch(/"shards":0,"records":0/);
    expect(stderr).toContain(
      'note: nothing arrived in [2020-01-01T00:00:00.000Z, 2020-01-02T00:00:00.000Z): no record in the stream or ' +
        'the raw archive, nothing replayed',
    );
    expect(stderr).toContain(
      `the raw archive s3://${stack.config.LAKE_BUCKET}/raw/ holds arrivals from dt=2026-11-28 to dt=2026-11-30 ` +
        '(2 day(s) with data); to replay them all: make backfill FROM=2026-11-28 TO=2026-12-01',
    );
    expect(stdout).not.toMatch(/nothing arrived/);
  }, 60_000);

  it('without FROM/TO prints the usage and the days with data (exit 2)', async () => {
    const { code, stderr } = await backfill();
    expect(code).toBe(2);
    expect(stderr).toMatch(/^usage: make backfill FROM=/);
    expect(stderr).toContain('holds arrivals from dt=2026-11-28 to dt=2026-11-30');
  }, 60_000);

  it('an empty archive says so', () => {
    expect(archiveRangeNote([], 'b')).toBe(
      'the raw archive s3://b/raw/ is empty: nothing has been through the lake processor yet (make demo fills it)',
    );
  });
});
