import { setTimeout as delay } from 'node:timers/promises';
import type { StreamRecordIn } from '../../schemas/envelope.js';
import { eventId } from '../../schemas/ids.js';
import type { Logger } from '../../platform/logger.js';
import { silentLogger } from '../../platform/logger.js';
import { crashpoint } from '../runtime/crashpoint.js';
import { dependencyReason } from '../runtime/health.js';
import type { DeadlineScheduler } from './deadlines.js';
import { deadlineScheduleName } from './deadlines.js';
import { DependencyHealth } from './dependency-health.js';
import type { PageRequest, PageResult } from './dispatcher.js';
import type { EscalationEngine } from './escalation.js';
import {
  isActive,
  remember,
  type Effect,
  type IncidentState,
  type PageEffect,
  type ScheduleEffect,
} from './incident-state.js';
import type { DispatchLedger } from './ledger.js';
import { runbookFor, type OnCallConfig, type PageChannel } from '../../schemas/oncall/config.js';
import { ProviderError } from './errors.js';

/**
 * Carries out an incident's outbox, every effect exactly once in effect:
 *
 * - page: claimed before it is sent — by the conditional put that saved its decision (the handler's one
 *   write before a send; incident-state.ts `claimPages`: only the run that follows that put sends it), or,
 *   for a page decided while the outbox runs (a failover after a refusal), in the dispatch ledger. The
 *   pages of a wave (a level's, with the records decided beside them) go out at once, each settled once,
 *   and their dispatch records with the wave's records in one PutRecords. A page's result is in the state
 *   the handler saves after the run (a ledger-claimed page's in the ledger too). A claim found without a
 *   result (a crash between claim and that save, or a send that outlived its budget; a ledger claim's
 *   result is asked for first) is settled through the provider: `dispatcher.find` looks the page up by the
 *   reference it carries (Twilio: messages to that number since the claim; Resend: the same idempotency
 *   key) and only a page that was not sent is sent again; a dispatch record of it already on the stream
 *   (same event id) settles it when the handler reads it back. So a send that reached the provider always
 *   gets its dispatch record.
 * - record: put on the stream (deterministic event id: a redo is a duplicate the readers drop).
 * - schedule: a one-time Scheduler schedule with a deterministic name; a deadline already due is put
 *   on the stream directly.
 *
 * Sends and records go first, deadlines last: a deadline never stands in front of a page.
 *
 * A send still unanswered after `sendBudgetMs` is left in the outbox (its claim stays open) and a
 * `settle` wake-up is scheduled, so one slow provider call never holds up the shard's other
 * incidents; the wake-up settles it through the lookup above.
 *
 * Degrade, don't stop: only deadlines need the Scheduler. A deadline it cannot take (unreachable,
 * an error, no answer within `scheduleBudgetMs`) stays in the outbox and the record succeeds — a
 * failed record would hold up its whole shard (Lambda retries from the lowest failed record, the
 * records after it included, and reads nothing new until that succeeds), so the shard's next new
 * incidents would wait for the Scheduler too. To try again, a `settle` wake-up record is put on the
 * stream itself (one per incident at a time, `state.wakeup`); each time it is read back the outbox runs
 * again, at most one wake-up per `wakeupIntervalMs` per incident (waiting out the rest of the interval
 * when the stream is read faster). After a failure the Scheduler is asked again after a backoff
 * (`schedulerRetryMs` doubling up to 8×) — meanwhile the deadline waits without a call. Once due, a
 * waiting deadline is put on the stream directly, Scheduler or not, with `late_ms` when it is late
 * (and a warn line): the escalation happens on time, or as soon as the handler runs; one whose incident
 * was acknowledged or resolved meanwhile is dropped (it would change nothing). An unsettled send
 * whose settle wake-up the Scheduler could not take rides the same wake-ups. Outages of the Scheduler
 * and the providers (hanging: over the send budget or timed out; refusing: 5xx, 429, connection
 * refused) are reported to `health` (dependency-health.ts: /healthz and a metric).
 */
export interface EffectRunnerOptions {
  engine: EscalationEngine;
  oncall: OnCallConfig;
  ledger: Pick<DispatchLedger, 'claim' | 'result' | 'complete'>;
  dispatcher: {
    send(req: PageRequest): Promise<PageResult>;
    find(req: PageRequest, sinceMs: number): Promise<string | undefined>;
  };
  producer: { putStreamRecords(records: readonly StreamRecordIn[]): Promise<unknown> };
  deadlines: DeadlineScheduler;
  ackCodes: {
    allocate(entry: { incidentId: string; alarmArn: string; expiresAt: number }): Promise<string>;
    /**
     * A new incident's code with its first recipients in one conditional write (shared/ack-codes.ts); undefined when
     * it lost (then `allocate`). Without it, `claimAckCode` does nothing and the first page allocates.
     */
    claimFirst?(
      entry: { incidentId: string; alarmArn: string; expiresAt: number },
      recipients: { address: string; person?: string }[],
    ): Promise<string | undefined>;
    addRecipients(
      code: string,
      incidentId: string,
      addresses: { address: string; person?: string }[],
    ): Promise<unknown>;
  };
  /**
   * The signed acknowledge link for a person's email. `expiresAt` derives from the decision time, so
   * every send of one page renders the same email (Resend refuses a reused idempotency key with
   * another payload).
   */
  ackLink: (ref: { incidentId: string; alarmArn: string; person: string; expiresAt: number }) => string;
  /** Acknowledge links stay valid this long after the page was decided. Default 24 h. */
  ackLinkTtlMs?: number;
  /** How long the handler waits for one send before leaving it to a settle wake-up. Default 1000 ms. */
  sendBudgetMs?: number;
  /**
   * The longest one send can take (the dispatcher's total time bound: attempts × timeout). An open claim whose call
   * this process still has in flight (over the send budget) is settled only after it (a lookup before would miss a
   * page still on its way, and resend it); the settle wake-up fires just after it. An open claim this process is not
   * sending was made by a run that has ended — a crash, or a timed-out invocation (Lambda restarts its environment),
   * since the event source mapping runs one invocation per shard at a time — so none of its calls is in flight: it
   * is settled at once, and a level's pages never wait behind a crash for longer than the lookup. Default 10 s.
   */
  maxSendMs?: number;
  /** Ack codes stay valid this long. Default 7 days. */
  ackCodeTtlMs?: number;
  /** Failed provider lookups of one page before it is sent again as a possible duplicate. Default 5. */
  maxLookupFailures?: number;
  /** Resend keeps an idempotency key 24 h: an email claim older than this is re-sent as a possible duplicate. */
  emailIdempotencyMs?: number;
  /** How long the handler waits for the Scheduler to create a deadline before keeping it for later. Default 1000 ms. */
  scheduleBudgetMs?: number;
  /** After a Scheduler failure, how long until it is asked again (doubles per failure, up to 8×). Default 500 ms. */
  schedulerRetryMs?: number;
  /**
   * Least time between two wake-ups of one incident while a deadline waits for the Scheduler: a wake-up read back
   * sooner waits out the rest (holding up its batch that long). Default 250 ms.
   */
  wakeupIntervalMs?: number;
  /** Where dependency outages are reported. Default: one of its own (logs only). */
  health?: DependencyHealth;
  /**
   * The channels a second route carries (as the engine's `secondRoute`). A Twilio page of such a channel whose send
   * outcome stayed unknown (timed out, over its budget) is not sent by Twilio again when Twilio does not have it, or
   * cannot be asked: its dispatch record says `failed` (`timeout`) and the engine sends it by the other route.
   */
  secondRoute?: readonly PageChannel[];
  now?: () => number;
  logger?: Logger;
}

const BUDGET = Symbol('budget');

/** The provider (the route) a page goes by. */
const providerOf = (e: Pick<PageEffect, 'channel' | 'route'>): 'twilio' | 'resend' | 'aws' =>
  e.channel === 'email' ? 'resend' : e.route === 'aws' ? 'aws' : 'twilio';
/** The code of a Scheduler call that outlived `scheduleBudgetMs`. */
const BUDGET_CODE = 'ScheduleBudgetExceeded';

/** What woke the run: the record being handled (its event id and time), when it may be a wake-up. */
export interface RunTrigger {
  eventId: string;
  at: number;
}

/** What the write before the run already did (the handler's): see `run`. */
export interface Prepared {
  /** Pages the decision's put just claimed (incident-state.ts `claimPages`): sent at once, each by this run only. */
  claimed?: Set<string>;
  /** Pages whose address the ack code already lists (`claimAckCode`). */
  recorded?: ReadonlySet<string>;
}

export class EffectRunner {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly sendBudgetMs: number;
  private readonly maxSendMs: number;
  private readonly scheduleBudgetMs: number;
  private readonly schedulerRetryMs: number;
  private readonly wakeupIntervalMs: number;
  /** Dependency outages (read by /healthz). */
  readonly health: DependencyHealth;
  /** Scheduler failures in a row, and when it may be asked again (process-wide: one Scheduler for all). */
  private schedulerFailures = 0;
  private schedulerRetryAt = 0;
  /** Step keys whose send this process has in flight (their calls outlive the send budget until they end). */
  private readonly inFlight = new Set<string>();
  /** Ack codes being allocated, by incident state (its pages go out at once). */
  private readonly allocating = new WeakMap<IncidentState, Promise<string>>();

  constructor(private readonly opts: EffectRunnerOptions) {
    this.log = opts.logger ?? silentLogger;
    this.now = opts.now ?? Date.now;
    this.sendBudgetMs = opts.sendBudgetMs ?? 1000;
    this.maxSendMs = opts.maxSendMs ?? 10_000;
    this.scheduleBudgetMs = opts.scheduleBudgetMs ?? 1000;
    this.schedulerRetryMs = opts.schedulerRetryMs ?? 500;
    this.wakeupIntervalMs = opts.wakeupIntervalMs ?? 250;
    this.health = opts.health ?? new DependencyHealth({ now: this.now, logger: this.log });
  }

  /**
   * The ack-code write that goes out beside a new incident's first put (the one round trip before its
   * first pages): the incident's first candidate code, claimed with the addresses of the outbox's pages
   * (`ackCodes.claimFirst`). Sets `state.ackCode` when it won and returns the pages whose addresses are
   * recorded (pass them to `run` as `recorded`); when it lost or failed, nothing: the first page allocates
   * (`allocate` + `addRecipients`). Never rejects. Call it after the put has read the state: the code is not
   * part of that write (a code that was not won must never be saved as the incident's).
   */
  async claimAckCode(state: IncidentState): Promise<Set<string>> {
    const claimFirst = this.opts.ackCodes.claimFirst?.bind(this.opts.ackCodes);
    const pages = state.outbox.filter((e): e is PageEffect => e.type === 'page');
    if (!claimFirst || state.ackCode || pages.length === 0) return new Set();
    const recipients = pages
      .filter((e) => e.channel !== 'email' && !e.notice)
      .map((e) => ({ address: e.address, person: e.person }));
    try {
      const code = await claimFirst(
        {
          incidentId: state.incidentId,
          alarmArn: state.alarmArn,
          expiresAt: this.now() + (this.opts.ackCodeTtlMs ?? 7 * 86_400_000),
        },
        recipients,
      );
      if (!code) return new Set();
      state.ackCode = code;
      return new Set(pages.map((e) => e.stepKey));
    } catch (err) {
      this.log.warn(
        { incidentId: state.incidentId, err: (err as Error).message },
        'ack code not claimed beside the decision: the first page allocates it',
      );
      return new Set();
    }
  }

  /**
   * Runs the outbox, sends and records first — all of them at once (the pages of a level go out
   * together), then the pages they decided (a failover after a refusal), then deadlines; what cannot
   * finish now (unsettled sends, deadlines the Scheduler cannot take) stays in it, with a wake-up on its
   * way. `trigger`: the record being handled (a wake-up of this incident is consumed by it). `prepared`:
   * what the write before this run did (its claims, the ack code's recipients). A failed effect fails the
   * run once the others of its wave have ended (none is abandoned half-way).
   */
  async run(state: IncidentState, trigger?: RunTrigger, prepared: Prepared = {}): Promise<void> {
    if (trigger && trigger.eventId === state.wakeup) {
      // read back faster than the interval (a busy poll): let the rest of it pass, not a hot loop
      const early = trigger.at + this.wakeupIntervalMs - this.now();
      if (early > 0) await delay(Math.min(early, this.wakeupIntervalMs));
      state.wakeup = undefined;
    }
    const unsettled: PageEffect[] = [];
    const waiting: ScheduleEffect[] = [];
    const remove = (e: Effect) => {
      const i = state.outbox.indexOf(e);
      if (i >= 0) state.outbox.splice(i, 1);
    };
    for (;;) {
      const wave = state.outbox.filter((e) => e.type !== 'schedule');
      if (wave.length === 0) break;
      // the wave's sends at once; their dispatch records and the wave's own records then go out in one request
      const out: { effect: Effect; record: StreamRecordIn }[] = [];
      const ended = await Promise.allSettled(
        wave.map(async (effect) => {
          if (effect.type === 'record') return void out.push({ effect, record: effect.record });
          const sent = await this.page(state, effect, prepared);
          if (typeof sent === 'object') return void out.push({ effect, record: sent });
          if (!sent) unsettled.push(effect);
          remove(effect);
        }),
      );
      // what was sent is reported even when another effect of the wave failed (its send is not repeated)
      if (out.length > 0) await this.opts.producer.putStreamRecords(out.map((o) => o.record));
      if (out.some((o) => o.effect.type === 'page')) crashpoint('after-dispatch-record');
      if (out.some((o) => o.effect.type === 'record')) crashpoint('after-escalation-record');
      for (const { effect, record } of out) {
        if (effect.type === 'page' && record.kind === 'dispatch') this.applyOutcome(state, effect, record);
        remove(effect);
      }
      const failed = ended.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
    for (const effect of state.outbox.filter((e): e is ScheduleEffect => e.type === 'schedule')) {
      if (!(await this.schedule(state, effect))) waiting.push(effect);
      crashpoint('after-deadline-record');
      remove(effect);
    }
    state.outbox.push(...unsettled, ...waiting);
    let wake = waiting.length > 0;
    if (unsettled.length > 0 && !(state.settleDueAt !== undefined && state.settleDueAt > this.now())) {
      // no settle wake-up on its way yet
      state.settleAttempts = (state.settleAttempts ?? 0) + 1;
      const attempt = state.settleAttempts;
      const at = this.now() + this.maxSendMs + 1000;
      const settle: ScheduleEffect = {
        type: 'schedule',
        name: deadlineScheduleName(`${state.incidentId}|settle|${attempt}`),
        at,
        record: {
          v: 1,
          kind: 'deadline',
          event_id: eventId('deadline', state.incidentId, 'settle', String(attempt)),
          incident_id: state.incidentId,
          alarm_arn: state.alarmArn,
          event_time: new Date(at).toISOString(),
          purpose: 'settle',
          round: state.round,
          level: Math.max(1, state.level),
          scheduled_at: new Date(this.now()).toISOString(),
        },
      };
      if (await this.schedule(state, settle)) state.settleDueAt = at;
      else wake = true; // the stream wake-ups settle it instead (after maxSendMs, as the settle would)
    }
    if (wake && state.wakeup === undefined) await this.wakeUpLater(state);
  }

  /**
   * Puts a wake-up of the incident on the stream (a `settle` deadline, due now): reading it back runs the
   * outbox again. Before the state is saved, so a saved `wakeup` always has its record on the stream.
   */
  private async wakeUpLater(state: IncidentState): Promise<void> {
    state.wakeups = (state.wakeups ?? 0) + 1;
    const id = eventId('deadline', state.incidentId, 'wakeup', String(state.wakeups));
    const now = new Date(this.now()).toISOString();
    await this.opts.producer.putStreamRecords([
      {
        v: 1,
        kind: 'deadline',
        event_id: id,
        incident_id: state.incidentId,
        alarm_arn: state.alarmArn,
        event_time: now,
        purpose: 'settle',
        round: state.round,
        level: Math.max(1, state.level),
        scheduled_at: now,
      },
    ]);
    state.wakeup = id;
  }

  /**
   * One deadline: put on the stream when due (late: with `late_ms`), else created on the Scheduler. False
   * when the Scheduler cannot take it now: it is kept for a later run.
   */
  private async schedule(state: IncidentState, e: ScheduleEffect): Promise<boolean> {
    const now = this.now();
    if (e.deferredAt !== undefined && !isActive(state) && (e.record as { purpose?: string }).purpose === 'level') {
      return true; // acknowledged or resolved while it waited: it would change nothing, so it is dropped
    }
    if (e.at <= now + 1000) {
      const lateMs = Math.max(0, now - e.at);
      if (e.deferredAt !== undefined || lateMs > 0) {
        this.log.warn(
          {
            incidentId: state.incidentId,
            deadlineAt: new Date(e.at).toISOString(),
            lateMs,
            waitedForSchedulerMs: e.deferredAt === undefined ? undefined : now - e.deferredAt,
          },
          lateMs > 0
            ? 'deadline put on the stream late (the Scheduler could not take it in time)'
            : 'deadline put on the stream directly (the Scheduler could not take it)',
        );
      }
      const record = lateMs > 0 && e.record.kind === 'deadline' ? { ...e.record, late_ms: lateMs } : e.record;
      await this.opts.producer.putStreamRecords([record]);
      return true;
    }
    if (now < this.schedulerRetryAt) {
      e.deferredAt ??= now; // failed a moment ago: not asked again yet
      return false;
    }
    try {
      await this.withinScheduleBudget(this.opts.deadlines.schedule({ name: e.name, at: e.at, record: e.record }));
      this.schedulerFailures = 0;
      this.schedulerRetryAt = 0;
      this.health.ok('scheduler');
      if (e.deferredAt !== undefined)
        this.log.info(
          { incidentId: state.incidentId, deadlineAt: new Date(e.at).toISOString(), waitedMs: now - e.deferredAt },
          'deadline scheduled after the Scheduler came back',
        );
      return true;
    } catch (err) {
      this.schedulerFailures++;
      this.schedulerRetryAt = now + this.schedulerRetryMs * 2 ** Math.min(this.schedulerFailures - 1, 3);
      const reason =
        (err as { code?: string }).code === BUDGET_CODE
          ? `scheduler hanging: no answer within ${this.scheduleBudgetMs} ms`
          : dependencyReason('scheduler', (err as { cause?: unknown }).cause ?? err);
      this.health.fail('scheduler', reason);
      this.log.warn(
        {
          incidentId: state.incidentId,
          deadlineAt: new Date(e.at).toISOString(),
          purpose: (e.record as { purpose?: string }).purpose,
          reason,
        },
        'deadline not scheduled: kept in the outbox and tried again (put on the stream directly once due)',
      );
      e.deferredAt ??= now;
      return false;
    }
  }

  /** The Scheduler call, or a rejection after `scheduleBudgetMs` (the call may still finish: its name makes it once) */
  private async withinScheduleBudget(p: Promise<unknown>): Promise<void> {
    p.catch(() => undefined);
    const ac = new AbortController();
    try {
      await Promise.race([
        p,
        delay(this.scheduleBudgetMs, undefined, { signal: ac.signal }).then(() => {
          throw Object.assign(new Error(`no answer within ${this.scheduleBudgetMs} ms`), { code: BUDGET_CODE });
        }),
      ]);
    } finally {
      ac.abort();
    }
  }

  /**
   * Whose send a page is: this run's (claimed by the decision's put just made, or by a ledger claim made
   * now), already `done` (its result recorded), or `open` (claimed earlier, outcome unknown).
   */
  private async claimOf(
    state: IncidentState,
    e: PageEffect,
    prepared: Prepared,
  ): Promise<{ send: true; ledger?: true } | { done: string } | { claimedAt: number; inFlight?: true }> {
    const page = state.pages[e.stepKey];
    // once only: a later run (the next record of the batch) finds the claim open
    if (prepared.claimed?.delete(e.stepKey)) return { send: true };
    // our own call, still on its way: settled after it (a call that outlives maxSendMs is settled like a dead one's)
    const since = page?.claimedAt ?? this.now();
    if (this.inFlight.has(e.stepKey) && this.now() - since < this.maxSendMs)
      return { claimedAt: since, inFlight: true };
    if (page?.claimedAt !== undefined) {
      const result = await this.opts.ledger.result(e.stepKey);
      return result ? { done: result.record } : { claimedAt: page.claimedAt };
    }
    // decided while an outbox ran (or saved by a release that claimed in the ledger only): claimed there
    const now = this.now();
    const claim = await this.opts.ledger.claim(e.stepKey, now);
    if (claim.claimed) {
      if (page) page.claimedAt = now;
      return { send: true, ledger: true };
    }
    if (claim.result) return { done: claim.result.record };
    const claimedAt = Date.parse(claim.claimedAt) || now;
    if (page) page.claimedAt = claimedAt;
    return { claimedAt };
  }

  /**
   * One page: its dispatch record to put on the stream; true when there is nothing to put (it is out already),
   * false when its outcome is still unknown (left for a settle wake-up).
   */
  private async page(
    state: IncidentState,
    e: PageEffect,
    prepared: Prepared = {},
  ): Promise<Extract<StreamRecordIn, { kind: 'dispatch' }> | boolean> {
    const page = state.pages[e.stepKey];
    if (page?.dispatched) return true; // its dispatch record is already out
    const claim = await this.claimOf(state, e, prepared);
    if ('done' in claim) {
      return JSON.parse(claim.done) as Extract<StreamRecordIn, { kind: 'dispatch' }>;
    }
    if ('inFlight' in claim) return false; // settled after its call
    const req = await this.request(state, e, prepared);
    let result: PageResult | typeof BUDGET;
    let possibleDuplicate = false;
    if ('send' in claim) {
      result = await this.withinBudget(this.sending(e.stepKey, req));
    } else {
      const claimedAt = claim.claimedAt;
      // a receipt naming this dispatch already came back: the provider has it, under this message id
      // a Twilio send that timed out (not a crash before the send): a second route takes it over
      const reroutable =
        !!page?.sendUnknown && providerOf(e) === 'twilio' && (this.opts.secondRoute ?? []).includes(e.channel);
      const lookup = page?.messageId
        ? { found: page.messageId, possibleDuplicate: false }
        : await this.lookup(state, e, req, claimedAt, reroutable);
      if (lookup === 'later') return false;
      if (!lookup.found && reroutable) {
        // Twilio timed out and does not have the page (or cannot say): not sent by Twilio again; the engine sends it
        // by the second route (a Twilio message that appears later after all is recorded by its callback)
        this.log.warn(
          { incidentId: state.incidentId, person: e.person, channel: e.channel, messageId: null, stepKey: e.stepKey },
          'unknown Twilio send not found: the page goes by the second route',
        );
        const why = lookup.possibleDuplicate ? 'and its message list could not be read' : 'and Twilio does not have it';
        result = {
          ok: false,
          provider: 'twilio',
          error: new ProviderError('twilio', 'timeout', undefined, true, `no answer in time ${why}`),
        };
      } else if (lookup.found) {
        this.log.info(
          {
            incidentId: state.incidentId,
            person: e.person,
            channel: e.channel,
            messageId: lookup.found,
            stepKey: e.stepKey,
          },
          'settled an unknown send: the provider has it',
        );
        result = { ok: true, messageId: lookup.found, provider: providerOf(e) };
      } else {
        possibleDuplicate =
          lookup.possibleDuplicate ||
          (req.channel === 'email' && this.now() - claimedAt > (this.opts.emailIdempotencyMs ?? 23 * 3600_000));
        this.log.warn(
          {
            incidentId: state.incidentId,
            person: e.person,
            channel: e.channel,
            messageId: null,
            stepKey: e.stepKey,
            possibleDuplicate,
          },
          possibleDuplicate
            ? 'unknown send could not be settled: sending it again, recorded as a possible duplicate'
            : 'settled an unknown send: not at the provider, sending it now',
        );
        result = await this.withinBudget(this.sending(e.stepKey, req));
      }
    }
    crashpoint('after-send');
    this.observe(providerOf(e), result);
    if (result === BUDGET || (!result.ok && 'unknown' in result && result.unknown)) {
      if (page) page.sendUnknown = true;
      this.log.warn(
        { incidentId: state.incidentId, person: e.person, channel: e.channel, messageId: null, stepKey: e.stepKey },
        'send outcome unknown (slow or timed out): settling it later through the provider',
      );
      return false;
    }
    const record = this.dispatchRecord(state, e, result, possibleDuplicate);
    // a page claimed in the ledger keeps its result there; one claimed by the decision's put has it in the state
    // saved after this run (a crash before that save is settled through the provider, as a crash before the send)
    if ('ledger' in claim) await this.opts.ledger.complete(e.stepKey, { record: JSON.stringify(record) }, this.now());
    return record;
  }

  /**
   * Looks an unknown send up at the provider. A lookup that fails (the provider's list API down or
   * slow, an email whose first request is still in progress) is retried at the next wake-up — the
   * record itself succeeds, so the shard is not held up; after `maxLookupFailures` such failures,
   * or one the provider says cannot succeed, the page is sent again and recorded as a possible
   * duplicate: losing a page is never the answer.
   */
  private async lookup(
    state: IncidentState,
    e: PageEffect,
    req: PageRequest,
    claimedAt: number,
    reroutable = false,
  ): Promise<'later' | { found?: string; possibleDuplicate: boolean }> {
    try {
      return { found: await this.opts.dispatcher.find(req, claimedAt), possibleDuplicate: false };
    } catch (err) {
      const page = state.pages[e.stepKey];
      let failures = Infinity;
      if (page) {
        page.lookupFailures = (page.lookupFailures ?? 0) + 1;
        failures = page.lookupFailures;
      }
      const retryable = (err as { retryable?: boolean }).retryable !== false;
      // a second route waits: no more lookups (the page goes by it)
      const giveUp = reroutable || !retryable || failures >= (this.opts.maxLookupFailures ?? 5);
      this.log.warn(
        {
          incidentId: state.incidentId,
          person: e.person,
          channel: e.channel,
          messageId: page?.messageId ?? null,
          stepKey: e.stepKey,
          failures,
          retryable,
          err: (err as Error).message,
        },
        giveUp ? 'provider lookup failed for good' : 'provider lookup failed: settling at the next wake-up',
      );
      return giveUp ? { possibleDuplicate: true } : 'later';
    }
  }

  /** Applies a dispatch record's outcome once it is on the stream (a refusal fails over at once). */
  private applyOutcome(state: IncidentState, e: PageEffect, record: Extract<StreamRecordIn, { kind: 'dispatch' }>) {
    const page = state.pages[e.stepKey];
    remember(state, record.event_id);
    if (!page) return;
    const note = this.opts.engine.dispatched(
      state,
      page,
      record.message_id ?? undefined,
      record.outcome,
      this.now(),
      record.error_code,
    );
    const log = record.outcome === 'failed' ? this.log.warn.bind(this.log) : this.log.info.bind(this.log);
    // `escalationLevel`, not `level`: pino's own `level` field would be overwritten
    log(
      {
        incidentId: state.incidentId,
        person: e.person,
        channel: e.channel,
        messageId: record.message_id,
        escalationLevel: e.level,
        round: e.round,
        reason: e.reason,
        outcome: record.outcome,
        errorCode: record.error_code,
      },
      note ? `${e.notice ? 'notice' : 'page'}; ${note}` : e.notice ? 'notice' : 'page',
    );
  }

  /** A send's outcome as its provider's health: hanging (over budget, timed out), refusing (5xx, 429, unreachable). */
  private observe(provider: 'twilio' | 'resend' | 'aws', result: PageResult | typeof BUDGET): void {
    if (result === BUDGET) {
      this.health.fail(provider, `${provider} hanging: a send took over the ${this.sendBudgetMs} ms send budget`);
    } else if (result.ok || !result.error.retryable) {
      this.health.ok(provider); // it answered (a refusal of this one page, a 4xx, is the page's problem)
    } else if (result.error.code === 'timeout') {
      this.health.fail(provider, `${provider} hanging: ${result.error.message}`);
    } else {
      this.health.fail(provider, `${provider} refusing: ${result.error.status ?? result.error.code}`);
    }
  }

  /** The dispatcher's send, known as in flight here until it ends (however long after the send budget). */
  private sending(stepKey: string, req: PageRequest): Promise<PageResult> {
    this.inFlight.add(stepKey);
    const call = Promise.resolve().then(() => this.opts.dispatcher.send(req));
    call.then(
      () => this.inFlight.delete(stepKey),
      () => this.inFlight.delete(stepKey),
    );
    return call;
  }

  private withinBudget(p: Promise<PageResult>): Promise<PageResult | typeof BUDGET> {
    let timer: NodeJS.Timeout | undefined;
    const budget = new Promise<typeof BUDGET>((resolve) => {
      timer = setTimeout(() => resolve(BUDGET), this.sendBudgetMs);
    });
    return Promise.race([p, budget]).finally(() => clearTimeout(timer));
  }

  /** The incident's ack code: allocated once however many of its pages ask at the same time. */
  private ackCodeOf(state: IncidentState): Promise<string> {
    if (state.ackCode) return Promise.resolve(state.ackCode);
    let code = this.allocating.get(state);
    if (!code) {
      code = this.opts.ackCodes
        .allocate({
          incidentId: state.incidentId,
          alarmArn: state.alarmArn,
          expiresAt: this.now() + (this.opts.ackCodeTtlMs ?? 7 * 86_400_000),
        })
        .then((c) => (state.ackCode = c))
        .finally(() => this.allocating.delete(state));
      this.allocating.set(state, code);
    }
    return code;
  }

  private async request(state: IncidentState, e: PageEffect, prepared: Prepared = {}): Promise<PageRequest> {
    const ackCode = await this.ackCodeOf(state);
    // a notice asks for nothing: its number is not one that may acknowledge
    if (e.channel !== 'email' && !e.notice && !prepared.recorded?.has(e.stepKey))
      await this.opts.ackCodes.addRecipients(ackCode, state.incidentId, [{ address: e.address, person: e.person }]);
    const person = this.opts.oncall.people[e.person];
    return {
      incidentId: state.incidentId,
      alarmArn: state.alarmArn,
      dispatchId: e.dispatchId,
      channel: e.channel,
      address: e.address,
      ...(e.route ? { route: e.route } : {}),
      content: {
        incidentId: state.incidentId,
        alarmName: state.alarmName,
        severity: state.severity,
        namespace: state.namespace,
        metric: state.metric,
        reason: state.reason,
        personName: person?.name ?? e.person,
        level: e.level,
        ackCode,
        ackUrl: this.opts.ackLink({
          incidentId: state.incidentId,
          alarmArn: state.alarmArn,
          person: e.person,
          expiresAt: e.decidedAt + (this.opts.ackLinkTtlMs ?? 86_400_000),
        }),
        runbookUrl: runbookFor(this.opts.oncall, state.alarmName),
        openedAt: state.openedAt,
        escalateAt: e.notice ? undefined : e.escalateAt,
        alarmArn: state.alarmArn,
        // a reachability drill's test page, or its failure told to the person and the owner (drills/engine.ts)
        ...(state.drill
          ? {
              drill: {
                schedule: state.drill.schedule,
                shiftStart: state.drill.shiftStart,
                windowEndsAt: state.drill.windowEndsAt ?? e.escalateAt,
                personName: this.opts.oncall.people[state.drill.person]?.name ?? state.drill.person,
                ...(e.drillFailure ? { failure: e.drillFailure } : {}),
              },
            }
          : {}),
        ...(e.notice
          ? {
              notice: {
                kind: e.notice.kind,
                at: e.notice.at,
                ...(e.notice.by ? { byName: this.opts.oncall.people[e.notice.by]?.name ?? e.notice.by } : {}),
              },
            }
          : {}),
      },
    };
  }

  private dispatchRecord(
    state: IncidentState,
    e: PageEffect,
    result: PageResult,
    possibleDuplicate: boolean,
  ): Extract<StreamRecordIn, { kind: 'dispatch' }> {
    return {
      v: 1,
      kind: 'dispatch',
      event_id: e.dispatchId,
      incident_id: state.incidentId,
      alarm_arn: state.alarmArn,
      event_time: new Date(this.now()).toISOString(),
      message_id: result.ok ? result.messageId : null,
      channel: e.channel,
      provider: result.provider,
      recipient: e.address,
      person: e.person,
      level: e.level,
      alarm_name: state.alarmName,
      severity: state.severity,
      outcome: result.ok ? 'sent' : 'failed',
      ...(result.ok ? {} : { error_code: result.error.code, error_message: result.error.message }),
      ...(e.round > 0 ? { round: e.round } : {}),
      ...(possibleDuplicate ? { possible_duplicate: true } : {}),
      ...(e.resolvedBy ? { resolved_by: e.resolvedBy } : {}),
      ...(e.quietHours ? { quiet_hours: true } : {}),
      ...(e.notice ? { notice: e.notice.kind } : { escalate_at: new Date(e.escalateAt).toISOString() }),
      route: result.provider,
      ...(e.rerouted ? { rerouted: e.rerouted } : {}),
    };
  }
}
