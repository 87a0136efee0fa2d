import { describe, expect, it } from 'vitest';
import { abandonPending, fateOf, uncommittedKeys, type Head, type PendingFlush } from './head.js';

const flush = (first: string, last: string, epoch = 0): PendingFlush => ({
  first,
  last,
  keys: [`raw/dt=2026-11-28/shardId-000000000000-${first}-${last}${epoch ? `-e${epoch}` : ''}.parquet`],
  stateKey: `state/lake-head/shardId-000000000000/${last}${epoch ? `-e${epoch}` : ''}.json.gz`,
  ...(epoch ? { epoch } : {}),
});
const head = (over: Partial<Head>): Head => ({ version: 5, epoch: 0, abandoned: [], ...over });

describe('lake head fencing', () => {
  it('abandoning a pending flush moves the epoch on and lists its keys and state to delete', () => {
    const p = flush('10', '20');
    const next = abandonPending(head({ pending: p }), 1_000);
    expect(next).toEqual({
      epoch: 1,
      abandoned: [{ epoch: 0, first: '10', last: '20', keys: [...p.keys, p.stateKey], at: 1_000, deleted: false }],
    });
    expect(abandonPending(head({}), 1_000)).toEqual({ epoch: 0, abandoned: [] });
    expect(uncommittedKeys(head({ ...next }))).toEqual(new Set([...p.keys, p.stateKey]));
  });

  it('tells a writer whose commit lost whether its flush was committed by a twin or abandoned', () => {
    const mine = flush('10', '20');
    const abandoned = abandonPending(head({ pending: mine }), 0);
    expect(fateOf(head({ pending: mine }), mine)).toBe('pending');
    expect(fateOf(head({ lastSeq: '20' }), mine)).toBe('committed'); // the epoch did not move
    expect(fateOf(head({ lastSeq: '5', ...abandoned }), mine)).toBe('abandoned');
    // committed, then a later flush of the same epoch was abandoned
    const later = abandonPending(head({ pending: flush('21', '30') }), 0);
    expect(fateOf(head({ lastSeq: '20', ...later }), mine)).toBe('committed');
    expect(fateOf(head({ epoch: 7, abandoned: [] }), mine)).toBe('unknown');
    expect(fateOf(head({ epoch: 2, ...{ abandoned: abandoned.abandoned } }), flush('10', '20', 1))).toBe('unknown');
  });
});
