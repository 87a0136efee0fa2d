import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { OnCallConfig } from '../../../schemas/oncall/config.js';
import { parseIncidentItem } from '../../../shared/incident-item.js';
import { IncidentStateView, IncidentViewReader } from '../../../shared/incident-view.js';
import { UnavailableError } from '../errors.js';
import type { IncidentStatus, IncidentSummary } from './schemas.js';

/**
 * The incidents as the paging processor holds them now (INCIDENTS_TABLE, read-only): live, unlike the lake, which
 * is up to a minute behind. A list is a filtered Scan of the incident items (pointers and aliases skipped), at most
 * `maxItems` (default 20,000) per answer: the table keeps an incident for its TTL (days), so it stays small.
 */
export interface IncidentSource {
  get(incidentId: string): Promise<IncidentStateView | undefined>;
  list(): Promise<IncidentStateView[]>;
}

export class DynamoIncidentSource implements IncidentSource {
  private readonly reader: IncidentViewReader;
  constructor(private readonly opts: { dynamodb: Pick<DynamoDBClient, 'send'>; table: string; maxItems?: number }) {
    this.reader = new IncidentViewReader(opts);
  }

  async get(incidentId: string): Promise<IncidentStateView | undefined> {
    try {
      return await this.reader.incident(incidentId);
    } catch (cause) {
      throw new UnavailableError('incidents table (get)', { cause });
    }
  }

  async list(): Promise<IncidentStateView[]> {
    const out: IncidentStateView[] = [];
    const max = this.opts.maxItems ?? 20_000;
    let start: Record<string, AttributeValue> | undefined;
    try {
      do {
        const page = await this.opts.dynamodb.send(
          new ScanCommand({
            TableName: this.opts.table,
            FilterExpression: 'attribute_exists(stateZ) OR attribute_exists(#s)',
            ExpressionAttributeNames: { '#s': 'state' },
            ExclusiveStartKey: start,
          }),
        );
        for (const item of page.Items ?? []) {
          const view = viewOf(item);
          if (view) out.push(view);
        }
        start = page.LastEvaluatedKey;
      } while (start && out.length < max);
    } catch (cause) {
      throw new UnavailableError('incidents table (scan)', { cause });
    }
    return out;
  }
}

/** An item's state as a view; undefined for a drill, an alias, or a state the view cannot read. */
function viewOf(item: Record<string, AttributeValue>): IncidentStateView | undefined {
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

export const statusOf = (s: IncidentStateView): IncidentStatus =>
  s.resolvedAt !== undefined ? 'resolved' : s.ackedAt !== undefined ? 'acknowledged' : 'open';

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
