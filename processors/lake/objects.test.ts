import { describe, expect, it } from 'vitest';
import { EventJoin } from './join.js';
import { objectName, objectsOf, parseObjectKey } from './objects.js';
import { ShardPipeline } from './shard-pipeline.js';
import { asShardRecords, dispatch, receipt } from '../../test/fixtures/records.js';

const MIDNIGHT = Date.parse('2026-11-28T00:00:00.000Z');

function batch(order: number[] = [0, 1, 2, 3]) {
  const recs = [
    dispatch('SM1', MIDNIGHT - 2000),
    receipt('SM1', 'delivered', MIDNIGHT - 1000),
    receipt('SM1', 'opened', MIDNIGHT + 1000),
    new TextEncoder().encode('not json'),
  ];
  const p = new ShardPipeline('shardId-000000000003', new EventJoin());
  const shard = asShardRecords(
    order.map((i) => recs[i]),
    { arrival: MIDNIGHT + 5000 },
  );
  for (const r of shard) p.push(r);
  return p.take()!;
}

describe('lake object keys', () => {
  it('names objects by table, partition day, shard and sequence range', () => {
    const b = batch();
    const keys = objectsOf(b).map((o) => o.key);
    const name = objectName(b.shardId, b.firstSeq, b.lastSeq);
    expect(keys).toEqual([
      `tables/events/dt=2026-11-27/${name}.parquet`, // the dispatch and the first receipt: event day
      `tables/events/dt=2026-11-28/${name}.parquet`,
      `raw/dt=2026-11-28/${name}.parquet`, // every record: arrival day
      `errors/dt=2026-11-28/${name}.jsonl`,
    ]);
    for (const k of keys)
      expect(parseObjectKey(k)).toMatchObject({
        shardId: 'shardId-000000000003',
        firstSeq: b.firstSeq,
        lastSeq: b.lastSeq,
      });
  });

  it('is deterministic: the same records give the same keys and bytes', () => {
    const a = objectsOf(batch());
    const b = objectsOf(batch());
    expect(b.map((o) => o.key)).toEqual(a.map((o) => o.key));
    b.forEach((o, i) => {
      expect(Buffer.compare(Buffer.from(o.body), Buffer.from(a[i].body))).toBe(0);
    });
  });

  it('sorts rows inside an object, so the emission order within a flush does not change the bytes', () => {
    // The receipt before its dispatch: emitted later (when the dispatch arrives), same rows.
    const inOrder = objectsOf(batch([0, 1, 2, 3]));
    const reordered = objectsOf(batch([1, 0, 2, 3]));
    const events = (objs: ReturnType<typeof objectsOf>) =>
      objs.filter((o) => o.key.startsWith('tables/')).map((o) => o.rows);
    expect(events(reordered)).toEqual(events(inOrder));
  });

  it('names a flush recorded after an abandonment in its epoch, and parses it back', () => {
    const b = batch();
    const keys = objectsOf(b, 3).map((o) => o.key);
    expect(keys[0]).toBe(`tables/events/dt=2026-11-27/${objectName(b.shardId, b.firstSeq, b.lastSeq)}-e3.parquet`);
    for (const k of keys)
      expect(parseObjectKey(k)).toMatchObject({ firstSeq: b.firstSeq, lastSeq: b.lastSeq, epoch: 3 });
    expect(parseObjectKey(objectsOf(b)[0].key)).toMatchObject({ epoch: 0 });
  });

  it('ignores keys that are not lake objects', () => {
    expect(parseObjectKey('tables/events/dt=2026-11-28/notes.txt')).toBeUndefined();
    expect(parseObjectKey('state/lake/shardId-000000000000/1.json.gz')).toBeUndefined();
  });
});
