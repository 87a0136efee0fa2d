import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * The incident list's index on INCIDENTS_TABLE: a sparse global secondary index that only incident items are in.
 * The paging processor writes its three attributes with every write of an incident's item (one PutItem, nothing
 * more: processors/paging/incident-store.ts `put`); the receiver Queries the index for the incident API's list and
 * the console (producers/receiver/api/incidents.ts). Aliases, alarm pointers, heartbeat checks and drills carry
 * none of them, so the index never holds one.
 *
 * | attribute | what | in the index |
 * |---|---|---|
 * | `listPk` (S) | the status: `open`, `acknowledged` or `resolved` | partition key |
 * | `listSk` (S) | `<openedAt, 15 digits>#<incident id>`: newest first with ScanIndexForward false | sort key |
 * | `listTeam` (S) | the incident's team (absent: unrouted) | projected (a team filter reads it) |
 *
 * The index projects the keys and `listTeam` only (KEYS_ONLY + INCLUDE): it is written when an incident opens and
 * when its status or team changes, not on each of the state's other writes (a page's receipts), so even an alarm
 * storm's writes stay far under a GSI partition's 1,000 writes a second; the list reads each incident of its page
 * by key afterwards (one BatchGetItem per page).
 */
export const INCIDENT_LIST_INDEX = 'byStatus';
export const INCIDENT_LIST_STATUSES = ['open', 'acknowledged', 'resolved'] as const;
export type IncidentListStatus = (typeof INCIDENT_LIST_STATUSES)[number];

/** The fields of an incident's state the index keys are made of. */
export interface ListedState {
  incidentId: string;
  openedAt: number;
  team?: string;
  ackedAt?: number;
  resolvedAt?: number;
  /** A drill's state (not an incident): never in the index. */
  drill?: unknown;
}

export const listStatusOf = (s: Pick<ListedState, 'ackedAt' | 'resolvedAt'>): IncidentListStatus =>
  s.resolvedAt !== undefined ? 'resolved' : s.ackedAt !== undefined ? 'acknowledged' : 'open';

/** The index's sort key: an incident's opening time (zero-padded: strings sort as the numbers) and its id. */
export const listSortKey = (openedAt: number, incidentId: string): string =>
  `${String(Math.max(0, Math.floor(openedAt))).padStart(15, '0')}#${incidentId}`;

/** The lowest sort key of incidents opened at `openedAt` or later (a prefix sorts before its extensions). */
export const listSortKeyFrom = (openedAt: number): string =>
  String(Math.max(0, Math.floor(openedAt))).padStart(15, '0');

/** The index attributes of an incident's item; none for a drill (the index stays sparse). */
export function listIndexAttributes(s: ListedState): Record<string, AttributeValue> {
  if (s.drill) return {};
  return {
    listPk: { S: listStatusOf(s) },
    listSk: { S: listSortKey(s.openedAt, s.incidentId) },
    ...(s.team ? { listTeam: { S: s.team } } : {}),
  };
}
