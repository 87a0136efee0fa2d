import { BatchGetItemCommand, QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { OnCallConfig } from '../../../schemas/oncall/config.js';
import { batchGetByPk } from '../../../platform/batch-get.js';
import { parseIncidentItem } from '../../../shared/incident-item.js';
import {
  INCIDENT_LIST_INDEX,
  INCIDENT_LIST_STATUSES,
  listSortKey,
  listSortKeyFrom,
  listStatusOf,
  type IncidentListStatus,
} from '../../../shared/incident-list-index.js';
import { IncidentStateView, IncidentViewReader } from '../../../shared/incident-view.js';
import { UnavailableError } from '../errors.js';
import type { IncidentStatus, IncidentSummary } from './schemas.js';

/**
 * The incidents as the paging processor holds them now (INCIDENTS_TABLE, read-only): live, unlike the lake, which
 * is up to a minute behind. One incident: GetItem. A list: a Query of the table's sparse list index per status asked
 * (shared/incident-list-index.ts: newest first; only incident items are in it, never an alias, a pointer, a
 * heartbeat check or a drill), merged newest first, then one BatchGetItem of the page's incidents. It reads the
 * index entries of its page (and, with a team filter, those of other teams in between) and the page's items: not
 * the table.
 */
export interface IncidentListQuery {
  /** Default all three. */
  statuses?: readonly IncidentListStatus[];
  /** Only these teams' incidents (an unrouted one is in no team); default every incident. */
  teams?: readonly string[];
  /** Opened at or after (epoch ms); default any time. */
  since?: number;
  /** The last incident of the page before (a cursor): the list goes on after it. */
  after?: { openedAt: number; id: string };
  /** At most this many (1..1000). */
  limit: number;
}

export interface IncidentPage {
  /** Newest first (opened later first; at the same time, the greater id first). */
  incidents: IncidentStateView[];
  /** The last incident of this page when more follow (the next page's `after`). */
  next?: { openedAt: number; id: string };
}

export interface IncidentSource {
  get(incidentId: string): Promise<IncidentStateView | undefined>;
  list(query: IncidentListQuery): Promise<IncidentPage>;
}

/** The list's order: the index's (listSk descending). */
export const listOrder = (a: IncidentStateView, b: IncidentStateView) => {
  const ka = listSortKey(a.openedAt, a.incidentId);
  const kb = listSortKey(b.openedAt, b.incidentId);
  return ka < kb ? 1 : ka > kb ? -1 : 0;
};

/** Whether a state answers the query (the state decides: the index may lag it by a moment). */
export function inQuery(s: IncidentStateView, q: IncidentListQuery): boolean {
  if (q.statuses && !q.statuses.includes(listStatusOf(s))) return false;
  if (q.teams && (s.team === undefined || !q.teams.includes(s.team))) return false;
  if (q.since !== undefined && s.openedAt < q.since) return false;
  if (q.after && listSortKey(s.openedAt, s.incidentId) >= listSortKey(q.after.openedAt, q.after.id)) return false;
  return true;
}

export interface DynamoIncidentSourceOptions {
  dynamodb: Pick<DynamoDBClient, 'send'>;
  table: string;
  /** Index entries one Query reads at most (its Limit). Default 100. */
  queryLimit?: number;
  /** Gives up on one call (its retries included) after this long. Default 5000 ms. */
  timeoutMs?: number;
}

type Item = Record<string, AttributeValue>;

export class DynamoIncidentSource implements IncidentSource {
  private readonly reader: IncidentViewReader;
  constructor(private readonly opts: DynamoIncidentSourceOptions) {
    this.reader = new IncidentViewReader(opts);
  }

  async get(incidentId: string): Promise<IncidentStateView | undefined> {
    try {
      return await this.reader.incident(incidentId);
    } catch (cause) {
      throw new UnavailableError('incidents table (get)', { cause });
    }
  }

  async list(query: IncidentListQuery): Promise<IncidentPage> {
    if (query.teams?.length === 0) return { incidents: [] };
    const streams = (query.statuses ?? INCIDENT_LIST_STATUSES).map((status) => this.indexStream(status, query));
    // the page's ids in the index's order, merged across the statuses; one more tells whether a next page exists
    const keys: string[] = [];
    try {
      await Promise.all(streams.map((s) => s.peek())); // the statuses' first Query pages, side by side
      while (keys.length <= query.limit) {
        let best: { stream: (typeof streams)[number]; sk: string } | undefined;
        for (const stream of streams) {
          const sk = await stream.peek();
          if (sk !== undefined && (!best || sk > best.sk)) best = { stream, sk };
        }
        if (!best) break;
        best.stream.take();
        // an incident whose status just changed can be in two statuses' entries for a moment: listed once
        if (keys.at(-1) !== best.sk) keys.push(best.sk);
      }
      const page = keys.slice(0, query.limit).map((sk) => positionOf(sk).id);
      const items = await this.items(page);
      const incidents = page
        .map((id) => viewOf(items.get(id)))
        .filter((s): s is IncidentStateView => s !== undefined && inQuery(s, query));
      const last = keys.length > query.limit ? keys[query.limit - 1] : undefined;
      return { incidents, ...(last ? { next: positionOf(last) } : {}) };
    } catch (cause) {
      throw new UnavailableError('incidents table (list)', { cause });
    }
  }

  /** The index entries of one status that answer the query, newest first, a Query page at a time. */
  private indexStream(status: IncidentListStatus, q: IncidentListQuery) {
    const buffer: string[] = [];
    let start: Item | undefined;
    let done = false;
    const hi = q.after ? listSortKey(q.after.openedAt, q.after.id) : undefined;
    const values: Item = { ':s': { S: status }, ':lo': { S: listSortKeyFrom(q.since ?? 0) } };
    if (hi) values[':hi'] = { S: hi };
    const teams = q.teams ?? [];
    for (const [i, t] of teams.entries()) values[`:t${i}`] = { S: t };
    const fetch = async () => {
      const out = await this.opts.dynamodb.send(
        new QueryCommand({
          TableName: this.opts.table,
          IndexName: INCIDENT_LIST_INDEX,
          KeyConditionExpression: `listPk = :s AND listSk ${hi ? 'BETWEEN :lo AND :hi' : '>= :lo'}`,
          ...(teams.length ? { FilterExpression: `listTeam IN (${teams.map((_, i) => `:t${i}`).join(', ')})` } : {}),
          ExpressionAttributeValues: values,
          ScanIndexForward: false,
          // the page needs limit + 1 entries at most (the one more says a next page exists)
          Limit: Math.min(this.opts.queryLimit ?? 100, q.limit + 1),
          ExclusiveStartKey: start,
        }),
        { abortSignal: AbortSignal.timeout(this.opts.timeoutMs ?? 5000) },
      );
      for (const item of out.Items ?? []) {
        const sk = item.listSk?.S;
        // BETWEEN includes the cursor's own entry: the page before had it
        if (sk !== undefined && sk !== hi) buffer.push(sk);
      }
      start = out.LastEvaluatedKey;
      done = start === undefined;
    };
    return {
      async peek(): Promise<string | undefined> {
        while (buffer.length === 0 && !done) await fetch();
        return buffer[0];
      },
      take() {
        buffer.shift();
      },
    };
  }

  /** The page's items by id (eventually consistent, like the index), a BatchGetItem per 100. */
  private async items(ids: string[]): Promise<Map<string, Item>> {
    const found = new Map<string, Item>();
    for (let i = 0; i < ids.length; i += 100) {
      const part = await batchGetByPk(this.opts.table, ids.slice(i, i + 100), (Keys) =>
        this.opts.dynamodb.send(new BatchGetItemCommand({ RequestItems: { [this.opts.table]: { Keys } } }), {
          abortSignal: AbortSignal.timeout(this.opts.timeoutMs ?? 5000),
        }),
      );
      for (const [k, v] of part) found.set(k, v);
    }
    return found;
  }
}

/** An index sort key's incident: when it opened, its id. */
function positionOf(sk: string): { openedAt: number; id: string } {
  const hash = sk.indexOf('#');
  return { openedAt: Number(sk.slice(0, hash)), id: sk.slice(hash + 1) };
}

/** An item's state as a view; undefined for none, a drill, an alias, or a state the view cannot read. */
function viewOf(item: Item | undefined): IncidentStateView | undefined {
  try {
    const found = parseIncidentItem<Record<string, unknown>>(item);
    if (!found || !('state' in found) || found.state.drill) return undefined;
    const parsed = IncidentStateView.safeParse(found.state);
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

export const statusOf = (s: IncidentStateView): IncidentStatus => listStatusOf(s);

export function summaryOf(s: IncidentStateView): IncidentSummary {
  return {
    id: s.incidentId,
    alarm_name: s.alarmName,
    alarm_arn: s.alarmArn,
    severity: s.severity,
    team: s.team ?? null,
    status: statusOf(s),
    opened_at: iso(s.openedAt)!,
    level: s.level,
    ...(s.ackedAt !== undefined ? { acked_at: iso(s.ackedAt) } : {}),
    ...(s.ackedBy ? { acked_by: s.ackedBy } : {}),
    ...(s.resolvedAt !== undefined ? { resolved_at: iso(s.resolvedAt) } : {}),
    ...(s.exhaustedAt !== undefined ? { exhausted_at: iso(s.exhaustedAt) } : {}),
    ...(s.responder ? { responder: s.responder } : {}),
    ...(s.snooze && s.resolvedAt === undefined ? { snoozed_until: iso(s.snooze.until), snoozed_by: s.snooze.by } : {}),
  };
}

const CHANNEL: Record<string, string> = { sms: 'SMS', whatsapp: 'WhatsApp', email: 'email', voice: 'voice call' };

/** The pages with their delivery evidence, in the order they were sent (notices last in their level). */
export function pagesOf(s: IncidentStateView, cfg: OnCallConfig | undefined) {
  return Object.values(s.pages)
    .map((p) => {
      const sentAt = typeof p.sentAt === 'number' ? p.sentAt : undefined;
      return {
        person: p.person,
        ...(cfg?.people[p.person]?.name ? { person_name: cfg.people[p.person].name } : {}),
        level: p.level,
        round: p.round ?? 0,
        channel: p.channel,
        status: p.status,
        ...(p.messageId ? { message_id: p.messageId } : {}),
        ...(sentAt !== undefined ? { sent_at: iso(sentAt) } : {}),
        ...(p.failedOver ? { failed_over: true } : {}),
        ...(p.notice ? { notice: p.notice } : {}),
        _order: sentAt ?? p.claimedAt ?? Number.MAX_SAFE_INTEGER,
      };
    })
    .sort((a, b) => a._order - b._order || a.level - b.level)
    .map(({ _order, ...page }) => page);
}

/**
 * The incident's steps as the paging state knows them, in `make incident`'s words where the state has the same
 * fact (opened, paged … by …, acknowledged by …, resolved, policy exhausted). The lake's timeline has more
 * (every receipt with its time); this one is what is known now.
 */
export function timelineOf(s: IncidentStateView, cfg: OnCallConfig | undefined): { at: string; what: string }[] {
  const name = (p: string) => cfg?.people[p]?.name ?? p;
  const steps: { at: number; what: string }[] = [
    { at: s.openedAt, what: `alarm ${s.alarmName} went to ALARM: incident opened (${s.severity})` },
  ];
  for (const p of pagesOf(s, cfg)) {
    if (!p.sent_at) continue;
    const level = p.level >= 99 ? 'fallback' : `level ${p.level}`;
    const what = p.notice
      ? `told ${name(p.person)} (${p.notice} notice) by ${CHANNEL[p.channel] ?? p.channel} → ${p.status}`
      : `paged ${name(p.person)} (${level}${p.round > 0 ? `, repeat ${p.round}` : ''}) by ` +
        `${CHANNEL[p.channel] ?? p.channel} → ${p.status}${p.failed_over ? ', failed over' : ''}`;
    steps.push({ at: Date.parse(p.sent_at), what });
  }
  if (s.ackedAt !== undefined) steps.push({ at: s.ackedAt, what: `acknowledged by ${name(s.ackedBy ?? 'someone')}` });
  if (s.exhaustedAt !== undefined)
    steps.push({ at: s.exhaustedAt, what: 'escalation policy exhausted: the fallback was paged' });
  const snooze = s.snooze as { until: number; by: string; at?: number } | undefined;
  if (snooze?.at !== undefined && s.resolvedAt === undefined)
    steps.push({ at: snooze.at, what: `snoozed by ${name(snooze.by)} until ${iso(snooze.until)}: no page until then` });
  if (s.resolvedAt !== undefined) steps.push({ at: s.resolvedAt, what: 'alarm back to OK: incident resolved' });
  return steps.sort((a, b) => a.at - b.at).map((e) => ({ at: iso(e.at)!, what: e.what }));
}
