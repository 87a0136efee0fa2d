import { describe, expect, it } from 'vitest';
import type { StreamRecordIn } from '../../../schemas/envelope.js';
import { silentLogger } from '../../../platform/logger.js';
import type { KinesisStreamEvent } from '../../runtime/kinesis-event.js';
import { DrillPlannerMend } from './planner-mend.js';

/**
 * The drill planner's chain mended by a long-lived process: this hour's tick at start, and once more in each new hour
 * in which a batch comes (a Lambda environment kept warm for hours), a failed put tried again at the next batch.
 */
const T0 = Date.parse('2026-12-08T10:20:00.000Z');
const EMPTY = { Records: [] } as unknown as KinesisStreamEvent;

function setup(enabled = true) {
  const clock = { now: T0 };
  const puts: string[] = [];
  let failing = false;
  const mend = new DrillPlannerMend({
    drills: {
      enabled: () => enabled,
      tickRecord: (now) => ({ event_time: new Date(Math.floor(now / 3_600_000) * 3_600_000).toISOString() }) as never,
    },
    producer: {
      putStreamRecords: async (records: readonly StreamRecordIn[]) => {
        if (failing) throw new Error('ProvisionedThroughputExceededException');
        puts.push(...records.map((r) => (r as { event_time: string }).event_time));
      },
    },
    logger: silentLogger,
    now: () => clock.now,
  });
  let batches = 0;
  const handler = mend.around(async () => {
    batches++;
    return { batchItemFailures: [] };
  });
  return { clock, puts, mend, handler, fail: (f: boolean) => (failing = f), batches: () => batches };
}

describe('the drill planner mend', () => {
  it("puts this hour's tick at start, once per hour slot with batches, none without", async () => {
    const s = setup();
    await s.mend.check();
    expect(s.puts).toEqual(['2026-12-08T10:00:00.000Z']);
    await s.handler(EMPTY);
    s.clock.now = T0 + 30 * 60_000; // 10:50: same slot
    await s.handler(EMPTY);
    await s.mend.check();
    expect(s.puts).toHaveLength(1);
    s.clock.now = T0 + 3 * 3_600_000; // 13:20, no batch at 11 or 12: nothing was put for them
    await s.handler(EMPTY);
    await s.mend.check(); // the batch's check has ended: this one is a no-op
    expect(s.puts).toEqual(['2026-12-08T10:00:00.000Z', '2026-12-08T13:00:00.000Z']);
    expect(s.batches()).toBe(3);
  });

  it('a failed put is tried again at the next batch; the batch never waits for it or fails with it', async () => {
    const s = setup();
    s.fail(true);
    await s.mend.check();
    expect(s.puts).toEqual([]);
    s.fail(false);
    await expect(s.handler(EMPTY)).resolves.toEqual({ batchItemFailures: [] });
    await s.mend.check();
    expect(s.puts).toEqual(['2026-12-08T10:00:00.000Z']);
  });

  it('no schedule with a drill: nothing is ever put', async () => {
    const s = setup(false);
    await s.mend.check();
    await s.handler(EMPTY);
    expect(s.puts).toEqual([]);
  });
});
