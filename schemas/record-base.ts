import { z } from 'zod';
import { Timestamp } from './time.js';

/** Version of the record envelope written to the stream. Readers accept every version they know. */
export const SCHEMA_VERSION = 1 as const;

/** Fields every record on the stream carries (an alarm record derives them from its event). */
export const RecordBase = z.object({
  v: z.literal(SCHEMA_VERSION),
  /** Deterministic dedupe key (schemas/ids.ts). */
  event_id: z.string().min(8).max(128),
  incident_id: z.string().min(4).max(128),
  /** The alarm ARN: the stream's partition key for every record of the incident. */
  alarm_arn: z.string().startsWith('arn:'),
  /** When it happened (not when it was written), ISO-8601; decoded to epoch ms. */
  event_time: Timestamp,
});
