import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EscalationEngine } from './escalation.js';
import { createPagingHandler } from './handler.js';
import type { IncidentState } from './incident-state.js';
import type { StoredIncident } from './incident-store.js';
import { EventJoin } from '../lake/join.js';
import { parseOnCallConfig } from '../../schemas/oncall/config.js';
import {
  decodeRecord,
  encodeRecord,
  partitionKeyOf,
  StreamRecord,
  type StreamRecordIn,
} from '../../schemas/envelope.js';
import { setTrustedDecode } from '../../schemas/trusted-record.js';
import { toKinesisStreamRecord } from '../runtime/kinesis-event.js';
import { alarmEvent } from '../../test/fixtures/records.js';

/**
 * No silent routing (issue 17 row 4): an alarm tagged `severity=P9` for a team with no P2 policy used to be
 * "not paged" at info level. Now it pages the team's default_policy, else the file's unrouted_fallback, and is
 * recorded `unrouted` (an escalation record the lake keeps) with a warning; with neither, the record says nobody
 * was paged and the log line is an error.
 */
const demo = JSON.parse(readFileSync(new URL('../../infra/local/oncall/demo.json', import.meta.url), 'utf8'));
const T0 = Date.parse('2026-11-28T10:00:00.000Z');
const ARN = 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:tstorm-queue-depth';
const P1 = { levels: [{ targets: ['bob'], channels: ['sms'], deadline_s: 60 }] };
const TEAM_DEFAULT = { levels: [{ targets: ['carol'], channels: ['sms', 'email'], deadline_s: 120 }] };

/** The demo file plus team tstorm (P1 only) and the given fallbacks. */
function oncall(opts: { teamDefault?: boolean; global?: boolean }) {
  const { unrouted_fallback, ...rest } = structuredClone(demo);
  return parseOnCallConfig({
    ...rest,
    teams: {
      ...rest.teams,
      tstorm: { members: ['bob'], escalation: { P1 }, ...(opts.teamDefault ? { default_policy: TEAM_DEFAULT } : {}) },
    },
    ...(opts.global ? { unrouted_fallback: { targets: ['grace'], channels: ['sms', 'email'] } } : {}),
  });
}

/** The alarm as the EventBridge rule writes it (no severity: the engine resolves P9 → SEVERITY_DEFAULT P2). */
function p9AlarmIn(tags: Record<string, string> = { severity: 'P9', team: 'tstorm' }) {
  const a = alarmEvent({ arn: ARN, at: T0 });
  delete a.severity;
  a.event.detail.alarmTags = tags;
  return a;
}
const p9Alarm = (tags?: Record<string, string>) => StreamRecord.parse(p9AlarmIn(tags));

const describeOutbox = (s: IncidentState) =>
  s.outbox.map((e) =>
    e.type === 'page'
      ? `page L${e.level} ${e.person}:${e.channel}`
      : e.type === 'schedule'
        ? `schedule L${(e.record as { level: number }).level}`
        : `record ${(e.record as { reason: string }).reason}`,
  );
const unroutedRecord = (s: IncidentState) =>
  s.outbox.find(
    (e): e is Extract<typeof e, { type: 'record' }> =>
      e.type === 'record' && (e.record as { reason?: string }).reason === 'unrouted',
  )?.record;

describe('an alarm whose (team, severity) has no policy', () => {
  it("pages the team's default_policy, recorded unrouted → team_default, with a warning naming the P9 tag", () => {
    const engine = new EscalationEngine(oncall({ teamDefault: true, global: true }));
    const applied = engine.apply(undefined, p9Alarm(), T0 + 1000);
    const state = applied.state!;
    expect(state).toMatchObject({ team: 'tstorm', severity: 'P2', unrouted: 'team_default', level: 1 });
    expect(describeOutbox(state)).toEqual([
      'record unrouted',
      'page L1 carol:sms',
      'page L1 carol:email',
      'schedule L1',
    ]);
    expect(unroutedRecord(state)).toMatchObject({
      kind: 'escalation',
      reason: 'unrouted',
      fallback: 'team_default',
      team: 'tstorm',
      severity: 'P2',
      severity_tag: 'P9',
      from_level: 0,
      to_level: 1,
    });
    expect(applied.level).toBe('warn');
    expect(applied.note).toContain('severity tag "P9" is not P1..P4');
    expect(applied.note).toContain("team tstorm has no P2 policy: unrouted → the team's default_policy");
    // the default policy runs as the incident's policy: its deadline escalates past its last level to exhausted
    const due = StreamRecord.parse(
      (state.outbox.find((e) => e.type === 'schedule') as { record: StreamRecordIn }).record,
    );
    state.outbox = [];
    const next = engine.apply(state, due, T0 + 200_000).state!;
    expect(describeOutbox(next)).toEqual(['record exhausted']);
  });

  it('without a team default: pages unrouted_fallback once (no deadline), recorded unrouted → global', () => {
    const engine = new EscalationEngine(oncall({ global: true }));
    const applied = engine.apply(undefined, p9Alarm(), T0 + 1000);
    const state = applied.state!;
    expect(state.unrouted).toBe('global');
    expect(describeOutbox(state)).toEqual(['record unrouted', 'page L99 grace:sms', 'page L99 grace:email']);
    expect(unroutedRecord(state)).toMatchObject({ fallback: 'global', to_level: 99 });
    expect(applied).toMatchObject({ level: 'warn' });
    expect(applied.note).toContain('unrouted → unrouted_fallback (2 page(s))');
  });

  it('with no fallback anywhere: an unrouted record that says nobody was paged, and an error', () => {
    const engine = new EscalationEngine(oncall({}));
    const applied = engine.apply(undefined, p9Alarm(), T0 + 1000);
    const state = applied.state!;
    expect(describeOutbox(state)).toEqual(['record unrouted']);
    expect(unroutedRecord(state)).toMatchObject({ fallback: 'none', from_level: 0, to_level: 0 });
    expect(applied.level).toBe('error');
    expect(applied.note).toContain('NOT PAGED');
    // the OK still resolves it (an incident the lake can follow), and tells nobody
    const ok = alarmEvent({ arn: ARN, state: 'OK', at: T0 + 60_000, enteredAt: T0 }) as Extract<
      StreamRecordIn,
      { kind: 'alarm' }
    >;
    state.outbox = [];
    const resolved = engine.apply(state, StreamRecord.parse(ok), T0 + 61_000).state!;
    expect(resolved.resolvedAt).toBe(T0 + 60_000);
    expect(resolved.outbox).toEqual([]);
  });

  it('a P9 tag on a team that has the resolved severity pages its policy, still with a warning', () => {
    const engine = new EscalationEngine(oncall({ global: true }));
    const applied = engine.apply(undefined, p9Alarm({ severity: 'P9', team: 'app' }), T0 + 1000);
    expect(applied.state!.unrouted).toBeUndefined();
    expect(describeOutbox(applied.state!)).toEqual(['page L1 dave:sms', 'schedule L1']);
    expect(applied).toMatchObject({ level: 'warn' });
    expect(applied.note).toMatch(/^severity tag "P9" is not P1\.\.P4: ignored, paged as P2/);
  });

  it('the unrouted record decodes on both paths and reaches the lake with its fallback', () => {
    const engine = new EscalationEngine(oncall({ global: true }));
    const record = unroutedRecord(engine.apply(undefined, p9Alarm(), T0 + 1000).state!)!;
    const bytes = encodeRecord(record);
    const fast = decodeRecord(bytes);
    setTrustedDecode(false);
    try {
      expect(decodeRecord(bytes)).toEqual(fast);
    } finally {
      setTrustedDecode(true);
    }
    const join = new EventJoin({ allowedLatenessMs: 60_000, windowMs: 3600_000 });
    join.push(fast, { shardId: 'shardId-000000000000', sequenceNumber: '1', arrivalTime: T0 + 1000 });
    const [row] = join.drain();
    expect(row).toMatchObject({ kind: 'escalation', reason: 'unrouted', severity: 'P2', level: 0, to_level: 99 });
    expect(JSON.parse(row.detail!)).toMatchObject({ fallback: 'global', team: 'tstorm', severity_tag: 'P9' });
  });
});

describe('the paging handler logs an unrouted alarm above info', () => {
  function run(cfgOpts: { global?: boolean }) {
    const lines: { level: string; msg: string }[] = [];
    const log = (level: string) => (_obj: object, msg?: string) => lines.push({ level, msg: msg ?? '' });
    const logger = { info: log('info'), warn: log('warn'), error: log('error'), debug: log('debug') };
    const items = new Map<string, StoredIncident>();
    const carriedOut: StreamRecordIn[] = [];
    const handler = createPagingHandler({
      engine: new EscalationEngine(oncall(cfgOpts)),
      now: () => T0 + 1000,
      logger: logger as never,
      store: {
        get: async (id) => items.get(id),
        find: async (id) => items.get(id),
        put: async (state, version) => {
          const v = (version ?? 0) + 1;
          items.set(state.incidentId, { state: structuredClone(state), version: v });
          return v;
        },
        alias: async () => {},
        findWithPointer: async (id) => ({ found: items.get(id), pointer: undefined }),
        markOpen: async () => true,
        markResolved: async () => {},
      },
      effects: {
        run: async (state) => {
          for (const e of state.outbox) if (e.type === 'record') carriedOut.push(e.record);
          state.outbox = [];
        },
      },
    });
    const r = p9AlarmIn();
    const kinesis = toKinesisStreamRecord(
      {
        shardId: 'shardId-000000000000',
        sequenceNumber: '1',
        partitionKey: partitionKeyOf(r),
        data: encodeRecord(r),
        arrivalTime: T0,
      },
      { region: 'us-east-1', streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/s' },
    );
    return { lines, carriedOut, done: handler({ Records: [kinesis] } as never) };
  }

  it('paged by the fallback: a warn line, and the unrouted record is put on the stream', async () => {
    const { lines, carriedOut, done } = run({ global: true });
    await done;
    const line = lines.find((l) => l.msg.includes('unrouted'));
    expect(line?.level).toBe('warn');
    expect(carriedOut).toEqual([expect.objectContaining({ reason: 'unrouted', fallback: 'global' })]);
  });

  it('nobody paged: an error line, and the unrouted record is still put on the stream', async () => {
    const { lines, carriedOut, done } = run({});
    await done;
    expect(lines.filter((l) => l.msg.includes('unrouted')).map((l) => l.level)).toEqual(['error']);
    expect(lines.some((l) => l.level === 'info' && l.msg.includes('policy'))).toBe(false);
    expect(carriedOut).toEqual([expect.objectContaining({ reason: 'unrouted', fallback: 'none' })]);
  });
});
