import type { StreamRecordIn } from '../../schemas/envelope.js';
import { eventId } from '../../schemas/ids.js';
import type { Logger } from '../../platform/logger.js';
import { silentLogger } from '../../platform/logger.js';
import { crashpoint } from '../runtime/crashpoint.js';
import type { DeadlineScheduler } from './deadlines.js';
import { deadlineScheduleName } from './deadlines.js';
import type { PageRequest, PageResult } from './dispatcher.js';
import type { EscalationEngine } from './escalation.js';
import { remember, type IncidentState, type PageEffect } from './incident-state.js';
import type { DispatchLedger } from './ledger.js';
import { runbookFor, type OnCallConfig } from '../../schemas/oncall/config.js';

/**
 * Carries out an incident's outbox, every effect exactly once in effect:
 *
 * - page: claimed in the dispatch ledger (conditional write) before it is sent. A claim found without
 *   a result (a crash between claim and completion, or a send that outlived its budget) is settled
 *   through the provider: `dispatcher.find` looks the page up by the reference it carries (Twilio:
 *   messages to that number since the claim; Resend: the same idempotency key) and only a page that
 *   was not sent is sent again. The result goes to the ledger, then its dispatch record onto the
 *   stream; a claim found done re-puts the same record (same event id), so a send that reached the
 *   provider always gets its dispatch record.
 * - record: put on the stream (deterministic event id: a redo is a duplicate the readers drop).
 * - schedule: a one-time Scheduler schedule with a deterministic name; a deadline already due is put
 *   on the stream directly.
 *
 * A send still unanswered after `sendBudgetMs` is left in the outbox (its claim stays open) and a
 * `settle` wake-up is scheduled, so one slow provider call never holds up the shard's other
 * incidents; the wake-up settles it through the lookup above.
 */
export interface EffectRunnerOptions {
  engine: EscalationEngine;
  oncall: OnCallConfig;
  ledger: Pick<DispatchLedger, 'claim' | 'complete'>;
  dispatcher: {
    send(req: PageRequest): Promise<PageResult>;
    find(req: PageRequest, sinceMs: number): Promise<string | undefined>;
  };
  producer: { putStreamRecords(records: readonly StreamRecordIn[]): Promise<unknown> };
  deadlines: DeadlineScheduler;
  ackCodes: {
    allocate(entry: { incidentId: string; alarmArn: string; expiresAt: number }): Promise<string>;
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
   * The longest one send can take (the dispatcher's total time bound: attempts × timeout). An open
   * claim younger than this may still have its call in flight, so it is settled only after it (a
   * lookup before would miss a page still on its way, and resend it). The settle wake-up fires just
   * after it. Default 10 s.
   */
  maxSendMs?: number;
  /** Ack codes stay valid this long. Default 7 days. */
  ackCodeTtlMs?: number;
  /** Failed provider lookups of one page before it is sent again as a possible duplicate. Default 5. */
  maxLookupFailures?: number;
  /** Resend keeps an idempotency key 24 h: an email claim older than this is re-sent as a possible duplicate. */
  emailIdempotencyMs?: number;
  now?: () => number;
  logger?: Logger;
}

const BUDGET = Symbol('budget');

export class EffectRunner {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly sendBudgetMs: number;
  private readonly maxSendMs: number;

  constructor(private readonly opts: EffectRunnerOptions) {
    this.log = opts.logger ?? silentLogger;
    this.now = opts.now ?? Date.now;
    this.sendBudgetMs = opts.sendBudgetMs ?? 1000;
    this.maxSendMs = opts.maxSendMs ?? 10_000;
  }

  /** Runs the outbox in order; what cannot finish now (unsettled sends) stays in it, with a wake-up scheduled. */
  async run(state: IncidentState): Promise<void> {
    const unsettled: PageEffect[] = [];
    while (state.outbox.length > 0) {
      const effect = state.outbox[0];
      switch (effect.type) {
        case 'page':
          if (!(await this.page(state, effect))) unsettled.push(effect);
          break;
        case 'record':
          await this.opts.producer.putStreamRecords([effect.record]);
          crashpoint('after-escalation-record');
          break;
        case 'schedule':
          await this.schedule(effect.name, effect.at, effect.record);
          crashpoint('after-deadline-record');
          break;
      }
      state.outbox.shift();
    }
    if (unsettled.length === 0) return;
    state.outbox.push(...unsettled);
    if (state.settleDueAt !== undefined && state.settleDueAt > this.now()) return; // a wake-up is already on its way
    state.settleAttempts = (state.settleAttempts ?? 0) + 1;
    const attempt = state.settleAttempts;
    const at = this.now() + this.maxSendMs + 1000;
    state.settleDueAt = at;
    await this.schedule(deadlineScheduleName(`${state.incidentId}|settle|${attempt}`), at, {
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
    });
  }

  private async schedule(name: string, at: number, record: StreamRecordIn): Promise<void> {
    if (at <= this.now() + 1000) await this.opts.producer.putStreamRecords([record]);
    else await this.opts.deadlines.schedule({ name, at, record });
  }

  /** One page; false when its outcome is still unknown (left for a settle wake-up). */
  private async page(state: IncidentState, e: PageEffect): Promise<boolean> {
    const page = state.pages[e.stepKey];
    if (page?.dispatched) return true; // its dispatch record is already out
    const req = await this.request(state, e);
    const claim = await this.opts.ledger.claim(e.stepKey, this.now());
    let result: PageResult | typeof BUDGET;
    let possibleDuplicate = false;
    if (claim.claimed) {
      crashpoint('after-claim');
      result = await this.withinBudget(this.opts.dispatcher.send(req));
    } else if (claim.result) {
      const record = JSON.parse(claim.result.record) as Extract<StreamRecordIn, { kind: 'dispatch' }>;
      await this.report(state, e, record);
      return true;
    } else {
      const claimedAt = Date.parse(claim.claimedAt) || this.now();
      if (this.now() - claimedAt < this.maxSendMs) return false; // its call may still be in flight: settle after it
      // a receipt naming this dispatch already came back: the provider has it, under this message id
      const lookup = page?.messageId
        ? { found: page.messageId, possibleDuplicate: false }
        : await this.lookup(state, e, req, claimedAt);
      if (lookup === 'later') return false;
      if (lookup.found) {
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
        result = { ok: true, messageId: lookup.found, provider: req.channel === 'email' ? 'resend' : 'twilio' };
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
        result = await this.withinBudget(this.opts.dispatcher.send(req));
      }
    }
    crashpoint('after-send');
    if (result === BUDGET || (!result.ok && 'unknown' in result && result.unknown)) {
      this.log.warn(
        { incidentId: state.incidentId, person: e.person, channel: e.channel, messageId: null, stepKey: e.stepKey },
        'send outcome unknown (slow or timed out): settling it later through the provider',
      );
      return false;
    }
    const record = this.dispatchRecord(state, e, result, possibleDuplicate);
    await this.opts.ledger.complete(e.stepKey, { record: JSON.stringify(record) });
    await this.report(state, e, record);
    return true;
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
      const giveUp = !retryable || failures >= (this.opts.maxLookupFailures ?? 5);
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

  /** Puts the dispatch record on the stream and applies its outcome (a refusal fails over at once). */
  private async report(
    state: IncidentState,
    e: PageEffect,
    record: Extract<StreamRecordIn, { kind: 'dispatch' }>,
  ): Promise<void> {
    await this.opts.producer.putStreamRecords([record]);
    crashpoint('after-dispatch-record');
    const page = state.pages[e.stepKey];
    remember(state, record.event_id);
    if (!page) return;
    const note = this.opts.engine.dispatched(state, page, record.message_id ?? undefined, record.outcome, this.now());
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

  private withinBudget(p: Promise<PageResult>): Promise<PageResult | typeof BUDGET> {
    let timer: NodeJS.Timeout | undefined;
    const budget = new Promise<typeof BUDGET>((resolve) => {
      timer = setTimeout(() => resolve(BUDGET), this.sendBudgetMs);
    });
    return Promise.race([p, budget]).finally(() => clearTimeout(timer));
  }

  private async request(state: IncidentState, e: PageEffect): Promise<PageRequest> {
    if (!state.ackCode) {
      state.ackCode = await this.opts.ackCodes.allocate({
        incidentId: state.incidentId,
        alarmArn: state.alarmArn,
        expiresAt: this.now() + (this.opts.ackCodeTtlMs ?? 7 * 86_400_000),
      });
    }
    // a notice asks for nothing: its number is not one that may acknowledge
    if (e.channel !== 'email' && !e.notice)
      await this.opts.ackCodes.addRecipients(state.ackCode, state.incidentId, [
        { address: e.address, person: e.person },
      ]);
    const person = this.opts.oncall.people[e.person];
    return {
      incidentId: state.incidentId,
      alarmArn: state.alarmArn,
      dispatchId: e.dispatchId,
      channel: e.channel,
      address: e.address,
      content: {
        incidentId: state.incidentId,
        alarmName: state.alarmName,
        severity: state.severity,
        namespace: state.namespace,
        metric: state.metric,
        reason: state.reason,
        personName: person?.name ?? e.person,
        level: e.level,
        ackCode: state.ackCode,
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
    };
  }
}
