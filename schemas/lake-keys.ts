/** Lake object names and keys (`objectsOf` in processors/lake/objects.ts writes them; readers parse them back). */

/**
 * The object name of one flush in one partition: the shard, the sequence range it covers and the
 * shard head's abandon epoch when the flush was recorded (`-e<n>`, left out while it is 0: a shard
 * whose flushes were never abandoned keeps the plain names). A retry or a replay of the same range in
 * the same epoch yields the same name (and, rows being sorted, the same bytes): it overwrites, never
 * adds a second copy. An abandoned flush's names are never used again (the epoch moves on), so
 * deleting them can never remove a committed object (processors/lake/handler.ts).
 */
export function objectName(shardId: string, firstSeq: string, lastSeq: string, epoch = 0): string {
  return `${shardId}-${firstSeq}-${lastSeq}${epoch > 0 ? `-e${epoch}` : ''}`;
}

const NAME_RE = /^(shardId-\d+)-(\d+)-(\d+)(?:-e(\d+))?\.[a-z]+$/;

/** Parses a lake key written by `objectsOf` back into its partition, shard, range and epoch (0 if none). */
export function parseObjectKey(
  key: string,
): { prefix: string; dt: string; shardId: string; firstSeq: string; lastSeq: string; epoch: number } | undefined {
  const m = /^(.*\/)dt=(\d{4}-\d{2}-\d{2})\/([^/]+)$/.exec(key);
  if (!m) return undefined;
  const n = NAME_RE.exec(m[3]);
  if (!n) return undefined;
  return { prefix: m[1], dt: m[2], shardId: n[1], firstSeq: n[2], lastSeq: n[3], epoch: Number(n[4] ?? 0) };
}
