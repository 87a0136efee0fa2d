import { describe, expect, it } from 'vitest';
import { buildTimeline, toEpochMs } from './timeline.js';
import { BILLING, EXHAUSTED, PEOPLE, T } from './timeline.fixtures.js';
import { describeStep } from './timeline-format.js';

/** The timeline builder on fixed lake rows: every step kind, names from the on-call people, masking. */
describe('buildTimeline', () => {
  it('tells the billing-db story step by step, with names', () => {
    const t = buildTimeline(BILLING, PEOPLE);
    expect(t.steps.map((x) => [x.kind, (x.at - T) / 1000])).toEqual([
      ['alarm', 0],
      ['paged', 3],
      ['escalated', 303],
      ['paged', 304],
      ['failover', 306],
      ['acknowledged', 370],
      ['deadline', 604], // level 2 came due, confirmed (acked): said; level 1's led to the escalation: not repeated
      ['resolved', 900],
    ]);
    const bob = t.steps[1];
    expect(bob).toMatchObject({ kind: 'paged', person: { id: 'bob', name: 'Bob Diaz' }, level: 1 });
    if (bob.kind !== 'paged') throw new Error('not a page');
    expect(bob.channels.map((c) => [c.channel, c.events.map((e) => e.word), c.verdict])).toEqual([
      ['sms', ['delivered'], 'no'], // `sent` says nothing to a reader
      ['email', ['delivered'], 'no'],
    ]);
    const carol = t.steps[3];
    if (carol.kind !== 'paged') throw new Error('not a page');
    expect(
      carol.channels.map((c) => [c.channel, c.events.map((e) => `${e.word}${e.errorCode ? `:${e.errorCode}` : ''}`)]),
    ).toEqual([
      ['whatsapp', ['delivered', 'read']],
      ['sms', ['undelivered:30003']],
    ]);
    expect(t.steps[4]).toMatchObject({ kind: 'failover', person: { name: 'Carol Otieno' }, fromChannel: 'sms' });
    // the reply names no person: mapped from the address paged
    expect(t.steps[5]).toMatchObject({
      kind: 'acknowledged',
      person: { id: 'carol', name: 'Carol Otieno' },
      via: 'whatsapp_reply',
    });
    expect(t.verdicts).toMatchObject({
      firstResponderOpenedBeforeEscalation: 'no',
      anyResponderOpenedBeforeEscalation: 'yes',
      acknowledgedBy: { id: 'carol', name: 'Carol Otieno' },
    });
    expect(t.verdicts.pages.map((p) => `${p.person.id}:${p.channel}:${p.verdict}`)).toEqual([
      'bob:sms:no',
      'bob:email:no',
      'carol:whatsapp:yes',
      'carol:sms:no',
    ]);
  });

  it('tells notices apart from pages, and says when an alarm was suppressed or flapped back', () => {
    const rows = structuredClone(BILLING);
    rows.events.push(
      {
        event_id: 'n1',
        kind: 'dispatch',
        status: 'sent',
        reason: 'notice_ack',
        timestamp: T + 371_000,
        person: 'bob',
        level: 1,
        channel: 'sms',
        provider: 'twilio',
        message_id: 'SMN',
        recipient: '+15551230002',
      },
      { event_id: 'n1r', kind: 'receipt', status: 'delivered', timestamp: T + 372_000, message_id: 'SMN' },
      {
        event_id: 'f1',
        kind: 'escalation',
        status: 'escalated',
        reason: 'retrigger',
        level: 2,
        to_level: 2,
        timestamp: T + 950_000,
      },
    );
    const t = buildTimeline(rows, PEOPLE);
    const told = t.steps.find((x) => x.kind === 'told');
    expect(told).toMatchObject({ kind: 'told', person: { name: 'Bob Diaz' }, notice: 'ack' });
    if (told?.kind !== 'told') throw new Error('no notice');
    expect(told.channels.map((c) => [c.channel, c.events.map((e) => e.word)])).toEqual([['sms', ['delivered']]]);
    expect(t.verdicts.pages).toHaveLength(4); // a notice is not a page
    expect(t.steps.at(-1)).toMatchObject({ kind: 'retriggered' });
    const quiet = buildTimeline(
      {
        incident: { ...BILLING.incident, acknowledged_at: null, escalated_at: null, resolved_at: null },
        events: [
          {
            event_id: 's1',
            kind: 'escalation',
            status: 'escalated',
            reason: 'suppressed',
            level: 0,
            to_level: 0,
            detail: '{"maintenance_window":"db-patching"}',
            timestamp: T + 100,
          },
        ],
      },
      PEOPLE,
    );
    expect(quiet.steps.map((x) => x.kind)).toEqual(['alarm', 'suppressed']);
    expect(quiet.steps[1]).toMatchObject({ window: 'db-patching' });
  });

  it('an unrouted alarm: the step says which fallback paged, or that nobody was', () => {
    const unrouted = (fallback: string) =>
      buildTimeline(
        {
          incident: { ...BILLING.incident, acknowledged_at: null, escalated_at: null, resolved_at: null },
          events: [
            {
              event_id: 'u1',
              kind: 'escalation',
              status: 'escalated',
              reason: 'unrouted',
              severity: 'P2',
              level: 1,
              to_level: 1,
              detail: JSON.stringify({ fallback, team: 'tstorm', severity_tag: 'P9' }),
              timestamp: T + 100,
            },
          ],
        },
        PEOPLE,
      ).steps[1];
    const global = unrouted('global');
    expect(global).toMatchObject({ kind: 'unrouted', fallback: 'global', team: 'tstorm', severityTag: 'P9' });
    const at = (ms: number) => String(ms);
    expect(describeStep(global, at)).toBe(
      "team tstorm has no P2 policy (severity tag P9 maps to no severity): unrouted → the on-call file's " +
        'unrouted_fallback',
    );
    expect(describeStep(unrouted('none'), at)).toMatch(/and no fallback: unrouted, nobody paged$/);
    expect(describeStep(unrouted('team_default'), at)).toMatch(/unrouted → the team's default policy$/);
  });

  it('a page a schedule chose says why this person, in the words of the report', () => {
    const why = { resolved_by: { schedule: 'db-primary', layer: 0, source: 'rotation' } };
    const rows = BILLING.events.map((r) =>
      r.kind === 'dispatch' && r.person === 'bob' ? { ...r, detail: JSON.stringify(why) } : r,
    );
    const bob = buildTimeline({ ...BILLING, events: rows }, PEOPLE).steps.find((x) => x.kind === 'paged')!;
    expect(describeStep(bob, String)).toMatch(
      /^paged Bob Diaz \(level 1, on call by schedule db-primary · layer layers\[0\] \(rotation\)\) /,
    );
    const plain = buildTimeline(BILLING, PEOPLE).steps.find((x) => x.kind === 'paged')!;
    expect(describeStep(plain, String)).toMatch(/^paged Bob Diaz \(level 1\) /);
  });

  it('a failover on silence says how long the page went without a delivery receipt', () => {
    const rows = BILLING.events.map((r) =>
      r.reason === 'failover' ? { ...r, detail: JSON.stringify({ cause: 'no_receipt', silence_ms: 90_000 }) } : r,
    );
    const step = buildTimeline({ ...BILLING, events: rows }, PEOPLE).steps.find((x) => x.kind === 'failover')!;
    expect(step).toMatchObject({ kind: 'failover', silenceMs: 90_000 });
    expect(describeStep(step, String)).toBe(
      "Carol Otieno's SMS page had no delivery receipt after 1 min 30 s: failed over on silence to the next channel",
    );
    const plain = buildTimeline(BILLING, PEOPLE).steps.find((x) => x.kind === 'failover')!;
    expect(describeStep(plain, String)).toMatch(/page failed: failing over/);
  });

  it('holds no phone number or email address in clear', () => {
    const json = JSON.stringify([buildTimeline(BILLING, PEOPLE), buildTimeline(EXHAUSTED, PEOPLE)]);
    expect(json).not.toMatch(/\+1555\d{7}|[a-z]+@example\.com/);
    expect(json).toContain('*');
  });

  it('repeat, exhausted, the fallback, a refused send and a receipt of no page', () => {
    const t = buildTimeline(EXHAUSTED, PEOPLE);
    expect(t.steps.map((x) => [x.kind, (x.at - T) / 1000])).toEqual([
      ['alarm', 0],
      ['paged', 1],
      ['escalated', 60],
      ['paged', 61],
      ['escalated', 121],
      ['paged', 122],
      ['paged', 122],
      ['receipt', 125],
    ]);
    const first = t.steps[1];
    if (first.kind !== 'paged') throw new Error('not a page');
    expect(first.channels.map((c) => [c.channel, c.outcome, c.errorCode])).toEqual([
      ['sms', 'failed', '21211'],
      ['email', 'sent', null],
    ]);
    expect(t.steps[2]).toMatchObject({ reason: 'repeat', fromLevel: 1, toLevel: 1 });
    expect(t.steps[4]).toMatchObject({ reason: 'exhausted' });
    expect(t.steps[5]).toMatchObject({ person: { name: 'Erin Rossi' }, level: 99 });
    // an address no person owns, masked
    expect(t.steps[6]).toMatchObject({ person: { id: null, name: '+*********00' } });
    expect(t.steps[7]).toMatchObject({ kind: 'receipt', messageId: 'SMx', event: { word: 'delivered' } });
  });

  it('shows ids when the on-call file does not know the person', () => {
    expect(buildTimeline(BILLING, {}).verdicts.acknowledgedBy).toEqual({ id: 'carol', name: 'carol' });
  });
});

describe('toEpochMs', () => {
  it.each([
    ['2026-11-28 12:00:00+00', T],
    ['2026-11-28 12:00:00.250+00', T + 250],
    ['2026-11-28 13:00:00+01:00', T],
    ['2026-11-28 12:00:00.000 UTC', T],
    ['2026-11-28T12:00:00Z', T],
    [new Date(T), T],
    [T, T],
    [null, null],
  ])('%s', (v, want) => expect(toEpochMs(v)).toBe(want));

  it('refuses what is no timestamp', () => expect(() => toEpochMs('soon')).toThrow(/not a timestamp/));
});

describe('buildTimeline: by hand (incident API, console)', () => {
  it('says an escalate, a reassign, a snooze and its end with who, in words', () => {
    const rows = structuredClone(BILLING);
    const at = (s: number) => T + s * 1000;
    rows.events.push(
      {
        event_id: 'm1',
        kind: 'escalation',
        status: 'escalated',
        reason: 'manual',
        level: 1,
        to_level: 2,
        timestamp: at(100),
        detail: '{"by":"carol"}',
      },
      {
        event_id: 'x1',
        kind: 'escalation',
        status: 'escalated',
        reason: 'exhausted',
        level: 2,
        to_level: 2,
        timestamp: at(110),
        detail: '{"by":"carol"}',
      },
      {
        event_id: 'r1',
        kind: 'escalation',
        status: 'escalated',
        reason: 'reassign',
        level: 2,
        to_level: 2,
        person: 'bob',
        timestamp: at(120),
        detail: '{"by":"carol"}',
      },
      {
        event_id: 'z1',
        kind: 'action',
        status: 'snoozed',
        reason: 'console',
        person: 'bob',
        timestamp: at(130),
        detail: '{"minutes":30}',
      },
      {
        event_id: 'u1',
        kind: 'escalation',
        status: 'escalated',
        reason: 'resume',
        level: 2,
        to_level: 2,
        timestamp: at(1930),
        detail: '{"by":"bob"}',
      },
    );
    const t = buildTimeline(rows, PEOPLE);
    const said = t.steps
      .filter((x) => x.at >= at(100) && x.at < at(300))
      .concat(t.steps.filter((x) => x.at === at(1930)));
    expect(said.map((x) => describeStep(x, () => ''))).toEqual([
      'escalated by hand to level 2 by Carol Otieno (manual)',
      'escalated by hand by Carol Otieno past the last level: escalation policy exhausted, only the fallback ' +
        '(if any) is paged (exhausted)',
      'reassigned to Bob Diaz by Carol Otieno: paged now, the responder',
      'snoozed 30 min by Bob Diaz (console): no page until it ends',
      'snooze by Bob Diaz ended: acknowledgement lifted, level 2 paged again',
    ]);
  });
});
