import { ScanCommand, GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import { IncidentReader } from './incident-item.js';

/**
 * A read-only view of an incident's paging state, for the read side (`make incident`): what the paging
 * processor knows now, before the lake has it. The processor owns the state's full shape
 * (processors/paging/incident-state.ts); this schema names only the fields the view shows and lets the
 * rest through, so the processor may add fields freely. The state is read with `IncidentReader.get`
 * only, which keeps working however the item stores it (shared/incident-item.ts).
 */
const PageView = z
  .object({
    person: z.string(),
    level: z.number(),
    channel: z.string(),
    status: z.string(),
    /** The provider's message id, once the send answered (receipts name it). */
    messageId: z.string().optional(),
    round: z.number().optional(),
    claimedAt: z.number().optional(),
    failedOver: z.boolean().optional(),
    /** A notice (the incident was acked or resolved) to someone already paged: not a page. */
    notice: z.string().optional(),
  })
  .passthrough();

export const IncidentStateView = z
  .object({
    incidentId: z.string(),
    alarmArn: z.string(),
    alarmName: z.string(),
    severity: z.string(),
    team: z.string().optional(),
    openedAt: z.number(),
    level: z.number(),
    deadlineAt: z.number().optional(),
    pages: z.record(z.string(), PageView),
    ackedAt: z.number().optional(),
    ackedBy: z.string().optional(),
    resolvedAt: z.number().optional(),
    exhaustedAt: z.number().optional(),
    suppressedBy: z.string().optional(),
    /** round: the policy's repeat round; responder: made so by a reassign by hand. */
    round: z.number().optional(),
    responder: z.string().optional(),
    /** A snooze by hand in force (until when, by whom); `reopens`: how many times an ack was lifted. */
    snooze: z.object({ until: z.number(), by: z.string() }).passthrough().optional(),
    reopens: z.number().optional(),
  })
  .passthrough();
export type IncidentStateView = z.infer<typeof IncidentStateView>;
export type PageView = z.infer<typeof PageView>;

/** The paging state's item could not be read as an incident (its shape changed under the view). */
export class IncidentViewError extends Error {
  constructor(
    readonly incidentId: string,
    options?: { cause?: unknown },
  ) {
    super(`paging state of incident "${incidentId}" is not readable as an incident`, options);
    this.name = 'IncidentViewError';
  }
}

/**
 * The "latest incident of this alarm" pointer item's key: `alarm#<alarm ARN>`. The paging processor
 * writes it (processors/paging/incident-store.ts `openPointerKey`; shared/incident-view.test.ts holds
 * the two equal); this side only reads it.
 */
export const alarmPointerKey = (alarmArn: string) => `alarm#${alarmArn}`;

export interface AlarmPointer {
  alarmArn: string;
  incidentId: string;
  openedAt: number;
  resolvedAt?: number;
}

export interface IncidentViewReaderOptions {
  dynamodb: Pick<DynamoDBClient, 'send'>;
  table: string;
}

/** Read-only: an incident's paging state by incident id, or the latest incident of an alarm by its name. */
export class IncidentViewReader {
  private readonly reader: IncidentReader<unknown>;

  constructor(private readonly opts: IncidentViewReaderOptions) {
    this.reader = new IncidentReader<unknown>(opts);
  }

  /** The incident's state, undefined when the table has no such incident (or only an alias). */
  async incident(incidentId: string): Promise<IncidentStateView | undefined> {
    const found = await this.reader.get(incidentId);
    if (!found) return undefined;
    const parsed = IncidentStateView.safeParse(found.state);
    if (!parsed.success) throw new IncidentViewError(incidentId, { cause: parsed.error });
    return parsed.data;
  }

  /** The pointer of an alarm by its ARN. */
  async pointerOf(alarmArn: string): Promise<AlarmPointer | undefined> {
    const out = await this.opts.dynamodb.send(
      new GetItemCommand({ TableName: this.opts.table, Key: { pk: { S: alarmPointerKey(alarmArn) } } }),
    );
    const item = out.Item;
    if (!item?.incidentId?.S) return undefined;
    return pointerOf(alarmArn, item);
  }

  /**
   * The newest pointer of an alarm named `alarmName` (any account and region: people type the name, not
   * the ARN). A filtered scan of the pointer items: meant for a person's command, not for a hot path.
   */
  async latestByAlarmName(alarmName: string): Promise<AlarmPointer | undefined> {
    const suffix = `:alarm:${alarmName}`;
    let best: AlarmPointer | undefined;
    let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
    do {
      const out = await this.opts.dynamodb.send(
        new ScanCommand({
          TableName: this.opts.table,
          FilterExpression: 'begins_with(pk, :p) AND contains(pk, :n)',
          ExpressionAttributeValues: { ':p': { S: 'alarm#' }, ':n': { S: suffix } },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) {
        const pk = item.pk?.S ?? '';
        if (!pk.endsWith(suffix) || !item.incidentId?.S) continue;
        const p = pointerOf(pk.slice('alarm#'.length), item);
        if (!best || p.openedAt > best.openedAt) best = p;
      }
      start = out.LastEvaluatedKey;
    } while (start);
    return best;
  }
}

function pointerOf(
  alarmArn: string,
  item: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue>,
): AlarmPointer {
  return {
    alarmArn,
    incidentId: item.incidentId.S!,
    openedAt: Number(item.openedAt?.N ?? 0),
    ...(item.resolvedAt?.N ? { resolvedAt: Number(item.resolvedAt.N) } : {}),
  };
}
