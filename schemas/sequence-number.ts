/**
 * Orders two Kinesis sequence numbers: decimal strings of varying length (up to 128 digits), which
 * sort neither as strings nor as JS numbers. Kinesis writes them without leading zeros, so the
 * longer is the larger, and equal lengths compare as strings (no BigInt per comparison: the lake
 * sorts and filters every record of a batch with this). The one comparator of the tree: the readers,
 * the local event source mapping, the paging handler and the lake all use it.
 */
export function compareSequenceNumbers(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
