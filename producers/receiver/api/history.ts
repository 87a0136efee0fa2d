import { formatDataAge, type DataAge } from '../../../analysis/report/data-age.js';
import { clock, describeStep } from '../../../analysis/report/timeline-format.js';
import { LakeUnreachableError } from '../../../analysis/query/errors.js';
import { listSortKey } from '../../../shared/incident-list-index.js';
import type { ReceiverLogger } from '../http.js';
import { LakeTimeoutError } from './errors.js';
import { summaryOf, type IncidentListQuery, type IncidentPage } from './incidents.js';
import type { LakeHistory, LakeIncidentSummary, LakeReader, Timeline } from './lake.js';
import type { Freshness, IncidentSummary, LakeFreshness } from './schemas.js';

/**
 * The lake's part of an API answer (lake.ts): read within a deadline, with its data age, and never a failure of the
 * answer — a lake that cannot be read (S3 or Athena down, a timeout) is `available: false` and the live part answers
 * alone. A receiver with no lake (api/routes.ts `lake` unset) answers from the paging state and says nothing of one.
 * Also the lake's incidents in the API's shapes, and the resolved list's merge.
 */

/** How long an answer waits for the lake (its queries and its age) before it answers without it. */
export const LAKE_TIMEOUT_MS = 15_000;

export interface LakePart<T> {
  value?: T;
  freshness: LakeFreshness;
}

/** Rejects with LakeTimeoutError when `work` takes longer than `ms`. */
async function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LakeTimeoutError(ms)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Why the lake part is missing, in words an API client can show (details go to the log only). */
function whyUnavailable(err: unknown): string {
  if (err instanceof LakeTimeoutError) return `the lake did not answer within ${err.timeoutMs} ms`;
  if (err instanceof LakeUnreachableError) return 'S3 unreachable, and the local lake cache has no copy to answer from';
  return 'the lake could not be read';
}

/** The data age as the API says it. */
export function freshnessOf(engine: LakeReader['engine'], age: DataAge | undefined, ageError?: string): LakeFreshness {
  return {
    available: true,
    engine,
    data_as_of: age?.asOf === undefined ? null : new Date(age.asOf).toISOString(),
    age_seconds: age?.asOf === undefined ? null : Math.max(0, Math.round((age.now - age.asOf) / 1000)),
    from_cache: age?.offline !== undefined,
    text: age ? formatDataAge(age) : `lake data age unknown: ${ageError ?? 'not read'}`,
  };
}

/** `work` on a new reader of `lake`, then the lake's data age; within `timeoutMs`; never throws. */
export async function readLake<T>(
  lake: LakeHistory,
  work: (r: LakeReader) => Promise<T>,
  opts: { logger: ReceiverLogger; route: string; timeoutMs?: number },
): Promise<LakePart<T>> {
  const ms = opts.timeoutMs ?? LAKE_TIMEOUT_MS;
  try {
    const reader = lake.reader();
    return await within(
      (async () => {
        const value = await work(reader);
        // the age after the queries: with S3 down it says the answer came from the cache
        try {
          return { value, freshness: freshnessOf(reader.engine, await reader.dataAge()) };
        } catch (err) {
          return { value, freshness: freshnessOf(reader.engine, undefined, (err as Error).message) };
        }
      })(),
      ms,
    );
  } catch (err) {
    opts.logger.warn(
      { route: opts.route, err: err instanceof Error ? err.message : String(err) },
      'api: lake not read, answering without it',
    );
    return { freshness: { available: false, error: whyUnavailable(err) } };
  }
}

/** An answer's `source`: which parts it holds, and the lake's freshness when the lake was asked. */
export function sourceOf(parts: { live: boolean; lake?: LakePart<unknown> & { used: boolean } }, readAt: number) {
  const from: Freshness['from'] =
    parts.live && parts.lake?.used ? 'paging-state+lake' : parts.lake?.used ? 'lake' : 'paging-state';
  return {
    from,
    read_at: new Date(readAt).toISOString(),
    ...(parts.lake ? { lake: parts.lake.freshness } : {}),
  } satisfies Freshness;
}

const iso = (ms: number) => new Date(ms).toISOString();
const openedOf = (i: LakeIncidentSummary) => i.opened_at ?? i.first_paged_at ?? 0;

/** An incident of the lake as the API lists it. */
export function lakeSummaryOf(i: LakeIncidentSummary): IncidentSummary {
  return {
    id: i.incident_id,
    alarm_name: i.alarm_name ?? '',
    alarm_arn: i.alarm_arn ?? '',
    severity: i.severity ?? '',
    team: i.team === 'unknown' ? null : i.team,
    status: i.resolved_at !== undefined ? 'resolved' : i.acknowledged_at !== undefined ? 'acknowledged' : 'open',
    opened_at: iso(openedOf(i)),
    level: i.max_level ?? (i.pages > 0 ? 1 : 0),
    ...(i.acknowledged_at !== undefined ? { acked_at: iso(i.acknowledged_at) } : {}),
    ...(i.acknowledged_by ? { acked_by: i.acknowledged_by } : {}),
    ...(i.resolved_at !== undefined ? { resolved_at: iso(i.resolved_at) } : {}),
  };
}

/** The lake's timeline in `make incident`'s words (times in UTC, each step's sentence). */
export function lakeTimelineOf(t: Timeline): { at: string; what: string }[] {
  const time = clock('UTC').time;
  return t.steps.map((s) => ({ at: iso(s.at), what: describeStep(s, time) }));
}

/** The pages of the lake's timeline with what each provider reported last (notices are not pages). */
export function lakePagesOf(t: Timeline) {
  return t.steps.flatMap((s) =>
    s.kind !== 'paged'
      ? []
      : s.channels.map((ch) => {
          const last = ch.events.at(-1);
          return {
            person: s.person.id ?? s.person.name,
            ...(s.person.id && s.person.name !== s.person.id ? { person_name: s.person.name } : {}),
            level: s.level ?? 0,
            round: 0,
            channel: ch.channel,
            status: ch.outcome === 'failed' ? 'failed' : (last?.status ?? 'sent'),
            ...(ch.messageId ? { message_id: ch.messageId } : {}),
            sent_at: iso(ch.at),
          };
        }),
  );
}

/**
 * The list with the lake's resolved incidents the paging state no longer holds (its TTL), newest first: the live
 * page and the lake's candidates merged in the list's order, at most `q.limit`; an id the paging state still has is
 * the live one (checked with `isLive` for each lake incident taken). `next`: the last one taken when more follow.
 */
export async function mergeResolved(
  live: IncidentPage,
  lake: readonly LakeIncidentSummary[],
  q: IncidentListQuery,
  isLive: (id: string) => Promise<boolean>,
): Promise<{ incidents: IncidentSummary[]; next?: { openedAt: number; id: string }; fromLake: number }> {
  const liveIds = new Set(live.incidents.map((s) => s.incidentId));
  const afterKey = q.after ? listSortKey(q.after.openedAt, q.after.id) : undefined;
  // past the live page's end the next live page decides: no lake incident older than it on this page
  const floorKey = live.next ? listSortKey(live.next.openedAt, live.next.id) : undefined;
  type Row = { key: string; openedAt: number; id: string; summary: IncidentSummary; lake: boolean };
  const rows: Row[] = [
    ...live.incidents.map((s) => ({
      key: listSortKey(s.openedAt, s.incidentId),
      openedAt: s.openedAt,
      id: s.incidentId,
      summary: summaryOf(s),
      lake: false,
    })),
    ...lake
      .filter((i) => i.resolved_at !== undefined && !liveIds.has(i.incident_id))
      .filter((i) => !q.teams || q.teams.includes(i.team))
      .filter((i) => q.since === undefined || openedOf(i) >= q.since)
      .map((i) => ({
        key: listSortKey(openedOf(i), i.incident_id),
        openedAt: openedOf(i),
        id: i.incident_id,
        summary: lakeSummaryOf(i),
        lake: true,
      }))
      .filter((r) => (afterKey === undefined || r.key < afterKey) && (floorKey === undefined || r.key > floorKey)),
  ].sort((a, b) => (a.key < b.key ? 1 : a.key > b.key ? -1 : 0));
  const taken: Row[] = [];
  let i = 0;
  for (; i < rows.length && taken.length < q.limit; i++) {
    const r = rows[i];
    if (r.lake && (await isLive(r.id))) continue;
    taken.push(r);
  }
  const more = live.next !== undefined || i < rows.length;
  const last = taken.at(-1);
  const next = last ? { openedAt: last.openedAt, id: last.id } : live.next;
  return {
    incidents: taken.map((r) => r.summary),
    ...(more && next ? { next } : {}),
    fromLake: taken.filter((r) => r.lake).length,
  };
}
