/** Lake object names and keys (`objectsOf` in processors/lake/objects.ts writes them; readers parse them back). */

/**
 * The object name of one flush in one partition: the shard and the sequence range it covers. A retry
 * or a replay of the same range yields the same name (and, rows being sorted, the same bytes): it
 * overwrites, never adds a second copy.
 */
export function objectName(shardId: string, firstSeq: string, lastSeq: string): string {
  return `${shardId}-${firstSeq}-${lastSeq}`;
}

const NAME_RE = /^(shardId-\d+)-(\d+)-(\d+)\.[a-z]+$/;

/** Parses a lake key written by `objectsOf` back into its partition, shard and range. */
export function parseObjectKey(
  key: string,
): { prefix: string; dt: string; shardId: string; firstSeq: string; lastSeq: string } | undefined {
  const m = /^(.*\/)dt=(\d{4}-\d{2}-\d{2})\/([^/]+)$/.exec(key);
  if (!m) return undefined;
  const n = NAME_RE.exec(m[3]);
  if (!n) return undefined;
  return { prefix: m[1], dt: m[2], shardId: n[1], firstSeq: n[2], lastSeq: n[3] };
}
