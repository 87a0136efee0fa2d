import type { StreamRecordIn } from '../../../schemas/envelope.js';
import type { Logger } from '../../../platform/logger.js';
import type { KinesisBatchHandler } from '../../runtime/kinesis-event.js';
import type { DrillEngine } from './engine.js';

const HOUR = 3_600_000;

/**
 * Keeps the drill planner's chain of hourly ticks going (engine.ts `plan`: each tick schedules the next two on the
 * Scheduler). The process puts the tick of the hour slot it is in at start, and again for each new hour slot in which
 * it handles a batch: a long-lived process (a warm Lambda environment) mends a chain whose tick was lost (a schedule
 * dead-lettered after a Scheduler outage) within the hour, not at its next cold start. A tick put twice is one tick
 * (its event id is the slot's: the engine sees it once). A stream with no records at all and a broken chain waits for
 * the next start. One PutRecords per process and hour; a failed put is tried again at the next batch.
 */
export class DrillPlannerMend {
  private slot = -1;
  private readonly now: () => number;

  constructor(
    private readonly opts: {
      drills: Pick<DrillEngine, 'enabled' | 'tickRecord'>;
      producer: { putStreamRecords(records: readonly StreamRecordIn[]): Promise<unknown> };
      logger: Logger;
      now?: () => number;
    },
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** Puts this hour slot's tick unless this process put it already. Never throws; resolves once the put ended. */
  async check(): Promise<void> {
    if (!this.opts.drills.enabled()) return;
    const now = this.now();
    const slot = Math.floor(now / HOUR);
    if (slot === this.slot) return;
    this.slot = slot;
    try {
      await this.opts.producer.putStreamRecords([this.opts.drills.tickRecord(now)]);
    } catch (err) {
      if (this.slot === slot) this.slot = -1;
      this.opts.logger.warn({ err: (err as Error).message }, 'drill planner tick not put; the next batch puts it');
    }
  }

  /** `handler`, with this hour's tick checked before each batch (not waited for: the batch goes on). */
  around(handler: KinesisBatchHandler): KinesisBatchHandler {
    return (event) => {
      void this.check();
      return handler(event);
    };
  }
}
