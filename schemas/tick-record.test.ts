import { describe, expect, it } from 'vitest';
import { decodeRecord, decodeRecordOrTick, encodeRecord, encodeTick } from './envelope.js';
import { RecordDecodeError } from './errors.js';
import { T0, dispatch, receipt } from '../test/fixtures/records.js';

const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
// The example of schemas/tick-record.ts, as the lake handler writes it.
const EXAMPLE = {
  v: 1,
  kind: 'tick',
  event_id: 'evt_5f0c1e2a9b7d4c3e8a1f6b2d0c9e7a45',
  event_time: '2026-12-07T22:00:10.512Z',
} as const;

describe('tick record', () => {
  it('decodes a tick (kind, id, time) where a reader asks for records or ticks', () => {
    expect(decodeRecordOrTick(encodeTick(EXAMPLE))).toEqual({
      ...EXAMPLE,
      event_time: Date.parse(EXAMPLE.event_time),
    });
  });

  it('is no incident record: decodeRecord refuses it, as before ticks', () => {
    expect(() => decodeRecord(encodeTick(EXAMPLE))).toThrow(RecordDecodeError);
  });

  it('decodes records exactly as decodeRecord does', () => {
    for (const r of [dispatch('SM1', T0), receipt('SM1', 'delivered', T0 + 1)]) {
      const data = encodeRecord(r);
      expect(decodeRecordOrTick(data)).toEqual(decodeRecord(data));
    }
    const bad = bytes({ v: 1, kind: 'receipt', event_id: 'x' });
    expect(() => decodeRecordOrTick(bad)).toThrow(/invalid stream record at event_id/);
    expect(() => decodeRecordOrTick(new TextEncoder().encode('\u0000'))).toThrow(/not UTF-8 JSON/);
  });

  it('refuses a malformed tick with the failing field, and never writes one', () => {
    expect(() => decodeRecordOrTick(bytes({ ...EXAMPLE, event_time: 'yesterday' }))).toThrow(
      /invalid stream record at event_time/,
    );
    expect(() => decodeRecordOrTick(bytes({ ...EXAMPLE, v: 2 }))).toThrow(/at v/);
    expect(() => encodeTick({ ...EXAMPLE, event_id: 'short' })).toThrow(/at event_id/);
  });
});
