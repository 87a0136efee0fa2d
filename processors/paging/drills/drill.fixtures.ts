import type { DrillRecordIn } from '../../../schemas/drill-record.js';
import { StreamRecord, type StreamRecordIn } from '../../../schemas/envelope.js';
import { eventId } from '../../../schemas/ids.js';
import { parseOnCallConfig } from '../../../schemas/oncall/config.js';
import { EscalationEngine } from '../escalation.js';
import type { IncidentState, PageEffect, ScheduleEffect } from '../incident-state.js';

/**
 * A harness for reachability drills through the engine the paging handler runs (escalation.ts hands every drill
 * record to drills/engine.ts), on a clock the test sets: each record is applied at the time it says. What the effect
 * runner would do is done by hand: a page's send outcome (`dispatched`), the records and schedules of the outbox.
 * Used by engine.test.ts and test/paging/drills-lake.test.ts.
 */
export const at = (s: string) => Date.parse(s);
export const iso = (ms: number) => new Date(ms).toISOString();

export function onCall(drill: Record<string, unknown> = {}, handoff = '09:00') {
  return parseOnCallConfig(
    {
      people: {
        frank: { name: 'Frank', sms: '+15551230006', voice: '+15551230006', email: 'frank@example.com' },
        grace: { name: 'Grace', sms: '+15551230007', email: 'grace@example.com' },
        lee: { name: 'Lee Lead', sms: '+15551230009', email: 'lee@example.com' },
      },
      schedules: {
        primary: {
          time_zone: 'Europe/Berlin',
          layers: [{ participants: ['frank', 'grace'], rotation: 'daily', handoff, start: '2026-12-01' }],
          drill: { owner: ['lee'], window_s: 900, ...drill },
        },
      },
      teams: {
        payments: {
          members: ['frank', 'grace', 'lee'],
          escalation: {
            P1: {
              levels: [{ targets: ['schedule:primary'], channels: ['voice', 'sms'], deadline_s: 300 }],
              failover: ['sms', 'email'],
            },
          },
          // P3 by email only at night: a drill keeps the hours too, whatever their severities
          quiet_hours: {
            time_zone: 'Europe/Berlin',
            severities: ['P3'],
            channels: ['email'],
            windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], from: '20:00', to: '08:00' }],
          },
        },
      },
      default_team: 'payments',
      twilio: { sms_from: '+15550000000', voice_from: '+15550000001' },
      email: { from: 'alerts@example.com' },
    },
    'test',
  );
}

export const decode = (r: StreamRecordIn) => StreamRecord.parse(r);
/** Frank's shift of 7 December (the 7th day of the rotation: frank, grace, frank…) starts 09:00 Berlin = 08:00Z. */
export const SHIFT = at('2026-12-07T08:00:00Z');

export class Run {
  state?: IncidentState;
  /** Every record put on the stream and every page sent, in order. */
  readonly records: StreamRecordIn[] = [];
  readonly pages: PageEffect[] = [];
  readonly schedules: ScheduleEffect[] = [];
  notes: string[] = [];
  private n = 0;

  constructor(readonly engine: EscalationEngine) {}

  /** Applies a record at `now`, then carries out the outbox as the effect runner would (sends succeed). */
  apply(r: StreamRecordIn, now: number): this {
    const out = this.engine.apply(this.state, decode(r), now);
    if (out.note) this.notes.push(out.note);
    if (!out.state) return this;
    this.state = out.state;
    for (const e of this.state.outbox.splice(0)) {
      if (e.type === 'record') this.records.push(e.record);
      else if (e.type === 'schedule') this.schedules.push(e);
      else {
        this.pages.push(e);
        const messageId = `${e.channel === 'email' ? 're_' : e.channel === 'voice' ? 'CA' : 'SM'}${++this.n}`;
        this.records.push({
          v: 1,
          kind: 'dispatch',
          event_id: e.dispatchId,
          incident_id: this.state.incidentId,
          alarm_arn: this.state.alarmArn,
          event_time: iso(now),
          message_id: messageId,
          channel: e.channel,
          provider: e.channel === 'email' ? 'resend' : 'twilio',
          recipient: e.address,
          person: e.person,
          level: e.level,
          outcome: 'sent',
          escalate_at: iso(e.escalateAt),
        });
        this.engine.dispatched(this.state, this.state.pages[e.stepKey], messageId, 'sent', now);
      }
    }
    return this;
  }

  /** The due record the planner schedules for the drill of `shift` (as a plan tick at `now` does). */
  plan(now: number): DrillRecordIn[] {
    const tick = this.engine.drills.tickRecord(now);
    const before = this.schedules.length;
    this.apply(tick, now);
    this.state = undefined; // the tick's own state; the drill's is another item
    return this.schedules.slice(before).map((s) => s.record as DrillRecordIn);
  }

  page(channel: string, level = 1) {
    const p = this.pages.find((x) => x.channel === channel && x.level === level);
    if (!p) throw new Error(`no ${channel} page at level ${level}`);
    return { ...p, messageId: this.state!.pages[p.stepKey].messageId! };
  }

  receipt(channel: 'sms' | 'email' | 'voice', status: string, now: number, errorCode?: string): this {
    const p = this.page(channel);
    return this.apply(
      {
        v: 1,
        kind: 'receipt',
        event_id: eventId('receipt', p.messageId, status),
        incident_id: this.state!.incidentId,
        alarm_arn: this.state!.alarmArn,
        event_time: iso(now),
        provider: channel === 'email' ? 'resend' : 'twilio',
        channel,
        message_id: p.messageId,
        dispatch_id: p.dispatchId,
        status: status as 'delivered',
        provider_status: status,
        ...(errorCode ? { error_code: errorCode, error_message: 'Unreachable destination handset' } : {}),
      },
      now,
    );
  }

  reply(channel: 'sms' | 'voice', now: number): this {
    return this.apply(
      {
        v: 1,
        kind: 'ack',
        event_id: eventId('ack', 'twilio', `reply-${now}`),
        incident_id: this.state!.incidentId,
        alarm_arn: this.state!.alarmArn,
        event_time: iso(now),
        channel,
        via: channel === 'sms' ? 'sms_reply' : 'voice_key',
        person: 'frank',
      },
      now,
    );
  }

  /** The scheduled record of `phase` (the Scheduler puts it on the stream at its time). */
  scheduled(phase: string): { record: StreamRecordIn; at: number } {
    const s = this.schedules.filter((x) => (x.record as { phase?: string }).phase === phase).at(-1);
    if (!s) throw new Error(`nothing scheduled for ${phase}`);
    return { record: s.record, at: s.at };
  }

  results() {
    return this.records.filter((r): r is DrillRecordIn => r.kind === 'drill' && r.phase === 'result');
  }
}

export function dueDrill(cfg = onCall(), planAt = at('2026-12-07T06:30:00Z')) {
  const run = new Run(new EscalationEngine(cfg));
  const [due] = run.plan(planAt);
  return { run, due };
}
