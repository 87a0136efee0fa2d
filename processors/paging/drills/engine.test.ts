import { describe, expect, it } from 'vitest';
import { drillId } from '../../../schemas/drill-record.js';
import { EscalationEngine } from '../escalation.js';
import { emailSubject, smsBody, type PageContent } from '../message-content.js';
import { at, dueDrill, iso, onCall, Run, SHIFT } from './drill.fixtures.js';

/**
 * Reachability drills through the engine (drill.fixtures.ts: a test-controlled clock, the effect runner's part done
 * by hand): planning, passing, failing and telling the owner, quiet hours, a plan that changed.
 */
describe('reachability drills', () => {
  it('the planner schedules each drill once, at shift start − lead, and the next ticks', () => {
    const { run, due } = dueDrill();
    expect(due).toMatchObject({ phase: 'due', schedule: 'primary', person: 'frank', shift_start: iso(SHIFT) });
    expect(due.incident_id).toBe(drillId('primary', 'frank', SHIFT));
    const planned = run.schedules.filter((s) => (s.record as { phase?: string }).phase === 'due');
    expect(planned.map((s) => s.at)).toEqual([SHIFT - 3600_000]);
    expect(
      run.schedules.filter((s) => (s.record as { phase?: string }).phase === 'plan').map((s) => iso(s.at)),
    ).toEqual(['2026-12-07T07:00:00.000Z', '2026-12-07T08:00:00.000Z']);
    // the next tick plans the same drill under the same schedule name and event id (the Scheduler answers `exists`)
    const again = new Run(run.engine);
    again.plan(at('2026-12-07T06:59:00Z'));
    const same = again.schedules.find((s) => (s.record as { event_id?: string }).event_id === due.event_id);
    expect(same?.name).toBe(planned[0].name);
  });

  it('a reachable person passes: every channel delivered, and an OK reply', () => {
    const { run, due } = dueDrill();
    const t = SHIFT - 3600_000;
    run.apply(due, t);
    expect(run.pages.map((p) => [p.channel, p.reason, p.level])).toEqual([
      ['voice', 'drill', 1],
      ['sms', 'drill', 1],
      ['email', 'drill', 1],
    ]);
    run.receipt('sms', 'delivered', t + 4000).receipt('email', 'delivered', t + 5000);
    run.receipt('voice', 'opened', t + 9000); // answered by a person
    expect(run.results()).toEqual([]); // no answer yet
    run.reply('sms', t + 60_000);
    expect(run.results()).toMatchObject([
      { outcome: 'passed', person: 'frank', summary: expect.stringMatching(/^reachable/) },
    ]);
    // the window's end then changes nothing, nor does a late receipt; nobody else is told
    run.apply(run.scheduled('window_end').record, run.scheduled('window_end').at);
    expect(run.results()).toHaveLength(1);
    expect(run.pages.filter((p) => p.level === 2)).toEqual([]);
  });

  it('an unreachable number fails the drill, in words, and the person and the owner are told', () => {
    const { run, due } = dueDrill();
    const t = SHIFT - 3600_000;
    run.apply(due, t);
    run.receipt('sms', 'undelivered', t + 4000, '30003').receipt('email', 'delivered', t + 5000);
    // the call is never answered, nobody replies: the window closes
    const end = run.scheduled('window_end');
    expect(end.at).toBe(t + 900_000);
    run.apply(end.record, end.at);
    const [result] = run.results();
    expect(result).toMatchObject({ outcome: 'failed' });
    expect(result.channels).toContainEqual(
      expect.objectContaining({ channel: 'sms', delivered: false, status: 'undelivered', error_code: '30003' }),
    );
    expect(result.channels?.find((c) => c.channel === 'sms')?.explanation).toMatch(/^unreachable handset: /);
    expect(result.summary).toContain('sms: undelivered (Twilio 30003: unreachable handset)');
    expect(result.summary).toContain('voice: no delivery receipt');
    expect(result.summary).toContain('no answer on any channel');
    // told: frank on the channel that reached him (email, not the broken SMS), lee (the owner) on SMS
    const told = run.pages.filter((p) => p.level === 2).map((p) => [p.person, p.channel]);
    expect(told).toEqual([
      ['frank', 'email'],
      ['lee', 'sms'],
    ]);
    const notice = run.pages.find((p) => p.person === 'lee')!;
    const content: PageContent = {
      incidentId: run.state!.incidentId,
      alarmName: run.state!.alarmName,
      severity: 'P1',
      reason: '',
      personName: 'Lee Lead', // the recipient: the owner
      level: 2,
      ackCode: 'K7Q2MX',
      ackUrl: 'https://example.com/ack',
      openedAt: t,
      drill: {
        schedule: 'primary',
        shiftStart: SHIFT,
        windowEndsAt: end.at,
        failure: notice.drillFailure,
        personName: 'Frank',
      },
    };
    expect(smsBody(content, 'REF12345')).toMatch(/^\[DRILL\] Reachability drill FAILED for Frank .*30003/);
    expect(emailSubject(content)).toBe('[DRILL FAILED] Frank is not reachable for primary');
    // a reply after the window is recorded on the page but does not turn the result
    run.reply('sms', end.at + 60_000);
    expect(run.results()).toHaveLength(1);
  });

  it('a drill due in quiet hours waits until they end, then runs', () => {
    // lead 1.5 h: due 07:30 Berlin, inside the team's 20:00–08:00 quiet hours
    const { run, due } = dueDrill(onCall({ lead_s: 5400 }), at('2026-12-07T05:30:00Z'));
    run.apply(due, SHIFT - 5400_000);
    expect(run.pages).toEqual([]);
    const later = run.scheduled('due');
    expect(iso(later.at)).toBe('2026-12-07T07:00:00.000Z'); // 08:00 Berlin
    expect(run.notes.at(-1)).toMatch(/waits for quiet hours to end/);
    run.apply(later.record, later.at);
    expect(run.pages.map((p) => p.channel)).toEqual(['voice', 'sms', 'email']);
    // the first due record read again (a redelivery) changes nothing
    run.apply(due, later.at + 1000);
    expect(run.pages).toHaveLength(3);
  });

  it('a drill whose quiet hours last until the shift starts is skipped, with a clear status; opting in drills', () => {
    // an 08:00 hand-off: due 07:00, quiet until 08:00 = the shift's start
    const { run, due } = dueDrill(onCall({}, '08:00'), at('2026-12-07T05:30:00Z'));
    run.apply(due, Date.parse(due.event_time));
    expect(run.pages).toEqual([]);
    expect(run.results()).toMatchObject([{ outcome: 'skipped', why: 'quiet_hours' }]);
    expect(run.results()[0].summary).toMatch(/^not proven: quiet hours last until the shift starts/);
    const opted = dueDrill(onCall({ allow_in_quiet_hours: true }, '08:00'), at('2026-12-07T05:30:00Z'));
    opted.run.apply(opted.due, Date.parse(opted.due.event_time));
    expect(opted.run.pages).toHaveLength(3);
  });

  it('a drill for someone no longer coming on call (an override since) is skipped, nobody paged', () => {
    const { run, due } = dueDrill();
    const cfg = onCall();
    cfg.schedules.primary.overrides.push({
      person: 'grace',
      from: '2026-12-07T08:00:00Z',
      to: '2026-12-07T20:00:00Z',
    });
    const later = new Run(new EscalationEngine(cfg));
    later.apply(due, SHIFT - 3600_000);
    expect(later.pages).toEqual([]);
    expect(later.results()).toMatchObject([{ outcome: 'skipped', why: 'not_on_call' }]);
    expect(run.pages).toEqual([]);
  });
});
