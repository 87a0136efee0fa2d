/**
 * What happens to a request that would create a message or email: created or not, answered late
 * (seeded hang, `hang` step, one-shot hang fault), answered with an error, or its connection reset.
 * An outage (`setOutage`, `PUT /__sim/outage`) applies one fault to every sending request, to any
 * recipient, until it is cleared: the provider hung or refusing as a whole (`make chaos`).
 */
import { createHash } from 'node:crypto';
import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import type { z } from 'zod';
import { ApiFault, ApiFaults, recipientKey, stepOf } from './behaviours.js';
import type { BehaviourBook, SimContext } from './context.js';
import type { ProviderSimulatorOptions } from './options.js';
import type { ApiRequestRecord } from './records.js';

/** Default answer delay of a `hang` step or fault when hangMs is 0. */
const DEFAULT_HANG_MS = 5_000;

export interface Plan {
  /** Create the message (its callbacks follow). */
  create: boolean;
  /** Answer late (ms). */
  delayMs: number;
  /** Answer with this error status instead of the result. */
  errorStatus?: number;
  /** Destroy the connection instead of answering. */
  reset?: boolean;
  fault?: string;
}

export interface FaultBook {
  /** Queues one-shot faults for a recipient's next sending requests (validated). */
  inject(recipient: string, list: ApiFault[]): void;
  /**
   * The plan of one sending request (consumes a one-shot fault and a seeded draw). `outage: false`: a provider the
   * outage is not about (AWS End User Messaging, the second route: `make chaos` takes down Twilio and Resend).
   */
  planFor(recipient: string, pageKey: string, o?: { outage?: boolean }): Plan;
  /**
   * Every sending request gets `fault` (validated) until it is cleared (`undefined`); one-shot faults
   * wait meanwhile.
   */
  setOutage(fault: ApiFault | undefined): void;
}

/** Validates hangFraction / hangMs and queues `opts.faults`. */
export function createFaultBook(opts: ProviderSimulatorOptions, behaviours: BehaviourBook): FaultBook {
  const hangFraction = opts.hangFraction ?? 0;
  if (!(hangFraction >= 0 && hangFraction <= 1))
    throw new Error(`hangFraction must be within 0..1, got ${hangFraction}`);
  const hangMs = opts.hangMs ?? 0;
  if (!(Number.isFinite(hangMs) && hangMs >= 0)) throw new Error(`hangMs must be >= 0, got ${hangMs}`);
  const seed = String(opts.seed ?? 0);
  type Fault = z.output<typeof ApiFault>;
  const faults = new Map<string, Fault[]>();
  /** How many sending requests each page (dispatch id / idempotency key / content) made: the draw index. */
  const sendCounts = new Map<string, number>();

  const inject = (recipient: string, list: ApiFault[]) => {
    const key = recipientKey(recipient);
    faults.set(key, [...(faults.get(key) ?? []), ...ApiFaults.parse(list)]);
  };
  for (const [k, v] of Object.entries(opts.faults ?? {})) inject(k, v);

  /** Deterministic: SHA-256(seed, page key, how many times this page was sent before) < hangFraction. */
  function seededHang(pageKey: string): number {
    const n = sendCounts.get(pageKey) ?? 0;
    sendCounts.set(pageKey, n + 1);
    if (hangFraction <= 0 || hangMs <= 0) return 0;
    const h = createHash('sha256').update(`${seed}\0${pageKey}\0${n}`).digest();
    return h.readUInt32BE(0) / 2 ** 32 < hangFraction ? hangMs : 0;
  }

  let outage: Fault | undefined;

  function faultPlan(f: Fault, prefix: string): Plan {
    if (f.type === 'error')
      return {
        create: f.accepted,
        delayMs: 0,
        errorStatus: f.status,
        fault: `${prefix}error ${f.status}${f.accepted ? ' after accepting' : ''}`,
      };
    if (f.type === 'reset')
      return {
        create: f.accepted,
        delayMs: 0,
        reset: true,
        fault: `${prefix}reset${f.accepted ? ' after accepting' : ''}`,
      };
    return { create: true, delayMs: f.ms ?? (hangMs || DEFAULT_HANG_MS), fault: `${prefix}hang` };
  }

  function planFor(recipient: string, pageKey: string, o: { outage?: boolean } = {}): Plan {
    const seeded = seededHang(pageKey);
    if (outage && o.outage !== false) return faultPlan(outage, 'outage: ');
    const f = faults.get(recipientKey(recipient))?.shift();
    if (f) return faultPlan(f, '');
    const step = behaviours
      .of(recipient)
      .map(stepOf)
      .find((s) => s.step === 'hang');
    if (step) return { create: true, delayMs: step.afterMs ?? (hangMs || DEFAULT_HANG_MS) };
    return { create: true, delayMs: seeded };
  }

  const setOutage = (fault: ApiFault | undefined) => {
    outage = fault === undefined ? undefined : ApiFault.parse(fault);
  };

  return { inject, planFor, setOutage };
}

/** Applies the plan's delay / reset to an answer; stamps answeredAt. */
export async function answer(
  ctx: SimContext,
  c: Context<{ Bindings: HttpBindings }>,
  record: ApiRequestRecord,
  plan: Plan,
  respond: () => Response,
): Promise<Response> {
  if (plan.delayMs > 0) {
    record.hungMs = plan.delayMs;
    ctx.log.info({ api: record.api, id: record.id, ms: plan.delayMs }, 'answer held back (hang)');
    await ctx.life.hold(plan.delayMs);
  }
  if (plan.reset) {
    record.status = 0;
    record.error = { code: 'reset', message: 'connection reset by the simulator' };
    c.env.incoming.socket.destroy();
    return c.body(null, 500);
  }
  record.answeredAt = Date.now();
  return respond();
}
