import type { KinesisStreamBatchResponse } from 'aws-lambda';
import { compareSequenceNumbers } from '../../schemas/sequence-number.js';

/** How the mapping reads a handler's answer (FunctionResponseTypes: ReportBatchItemFailures). */
export type BatchOutcome =
  | { kind: 'success' }
  /** Records from `index` on (the lowest failed sequence number) are retried; those before it are done. */
  | { kind: 'partial'; index: number; sequenceNumber: string }
  /** Not a valid response: the whole batch failed, as on AWS. */
  | { kind: 'malformed'; reason: string };

/**
 * AWS's rules: a null/undefined response, a null/undefined or empty `batchItemFailures` = complete
 * success. An item with a missing, empty or unknown `itemIdentifier` (or any other shape) = complete
 * failure. Otherwise the batch is checkpointed before the lowest failed sequence number and
 * retried from it. `sequenceNumbers` are the batch's, in shard order.
 */
export function interpretBatchResponse(response: unknown, sequenceNumbers: readonly string[]): BatchOutcome {
  if (response === undefined || response === null) return { kind: 'success' };
  if (typeof response !== 'object' || Array.isArray(response))
    return { kind: 'malformed', reason: `response is ${Array.isArray(response) ? 'an array' : typeof response}` };
  const failures = (response as Partial<KinesisStreamBatchResponse>).batchItemFailures as unknown;
  if (failures === undefined || failures === null) return { kind: 'success' };
  if (!Array.isArray(failures)) return { kind: 'malformed', reason: 'batchItemFailures is not an array' };
  if (failures.length === 0) return { kind: 'success' };
  const index = new Map(sequenceNumbers.map((s, i) => [s, i]));
  let lowest: string | undefined;
  for (const f of failures as unknown[]) {
    const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id === '') return { kind: 'malformed', reason: 'itemIdentifier missing or empty' };
    if (!index.has(id)) return { kind: 'malformed', reason: 'itemIdentifier is not a sequence number of the batch' };
    if (lowest === undefined || compareSequenceNumbers(id, lowest) < 0) lowest = id;
  }
  return { kind: 'partial', index: index.get(lowest!)!, sequenceNumber: lowest! };
}
