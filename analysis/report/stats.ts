import type { FunnelRow, PercentileRow } from './charts.js';
import type { Failure, IncidentSummary, LakeData, PageFact } from './data.js';
import { explainFailure } from './provider-codes.js';
import { type IncidentTimes, summaryTimes, timeToAck, timeToResolve } from './incident-status.js';
import { percentile } from './values.js';

/** The overview's numbers, from the lake's incidents, pages and failures (pure: no I/O). */

const CHANNEL_ORDER = ['sms', 'whatsapp', 'email', 'voice', 'webhook', 'other'];
const byChannel = (a: string, b: string) =>
  CHANNEL_ORDER.indexOf(a) +
    99 * +!CHANNEL_ORDER.includes(a) -
    (CHANNEL_ORDER.indexOf(b) + 99 * +!CHANNEL_ORDER.includes(b)) || a.localeCompare(b);

export interface Totals {
  incidents: number;
  /** The sum of the incidents' `pages` column (sent or tried; never a notice). */
  pages: number;
  /** Acks and resolves told to people (not pages). */
  notices: number;
  /** Pages the provider did not get through (never a notice's). */
  failures: number;
  /** Pages failed over on silence: accepted, then no delivery receipt by their delivery deadline. */
  silent: number;
}

/** The report header's counts: the same numbers as the incident list's columns, so the two always agree. */
export function totals(data: LakeData): Totals {
  const sum = (f: (i: IncidentSummary) => number) => data.incidents.reduce((n, i) => n + f(i), 0);
  return {
    incidents: data.incidents.length,
    pages: sum((i) => i.pages),
    notices: sum((i) => i.notices),
    failures: data.failures.length,
    silent: sum((i) => i.silent_failovers),
  };
}

/** Pages per channel that were sent, delivered, opened/read and acknowledged (`pages` holds no notice). */
export function funnel(pages: readonly PageFact[]): FunnelRow[] {
  const channels = [...new Set(pages.map((p) => p.channel))].sort(byChannel);
  return channels.flatMap((channel) => {
    const ps = pages.filter((p) => p.channel === channel);
    return [
      { channel, stage: 'sent' as const, pages: ps.length },
      { channel, stage: 'delivered' as const, pages: ps.filter((p) => p.delivered_at !== undefined).length },
      { channel, stage: 'opened/read' as const, pages: ps.filter((p) => p.opened_at !== undefined).length },
      { channel, stage: 'acked' as const, pages: ps.filter((p) => p.acked_at !== undefined).length },
    ];
  });
}

export interface LatencyRow {
  channel: string;
  severity: string;
  metric: PercentileRow['metric'];
  n: number;
  p50?: number;
  p90?: number;
  p99?: number;
}

const METRICS: [PercentileRow['metric'], (p: PageFact) => number | undefined][] = [
  ['time to deliver', (p) => p.delivered_at],
  ['time to open', (p) => p.opened_at],
  ['time to ack', (p) => p.acked_at],
];

/** p50/p90/p99 seconds from the page's send to its delivery, open and ack, per channel and severity. */
export function latencies(pages: readonly PageFact[]): LatencyRow[] {
  const groups = new Map<string, PageFact[]>();
  for (const p of pages) {
    const key = `${p.channel}\u0000${p.severity ?? '—'}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  const keys = [...groups.keys()].sort((a, b) => {
    const [ca, sa] = a.split('\u0000');
    const [cb, sb] = b.split('\u0000');
    return byChannel(ca, cb) || sa.localeCompare(sb);
  });
  const out: LatencyRow[] = [];
  for (const key of keys) {
    const [channel, severity] = key.split('\u0000');
    for (const [metric, at] of METRICS) {
      const xs = groups
        .get(key)!
        .flatMap((p) => {
          const t = at(p);
          return p.sent_at !== undefined && t !== undefined ? [Math.max(0, (t - p.sent_at) / 1000)] : [];
        })
        .sort((a, b) => a - b);
      out.push({
        channel,
        severity,
        metric,
        n: xs.length,
        p50: percentile(xs, 0.5),
        p90: percentile(xs, 0.9),
        p99: percentile(xs, 0.99),
      });
    }
  }
  return out;
}

/**
 * The chart rows of `latencies` (groups with no sample left out). A group of one page is one row (`one sample`, drawn
 * as a dot labelled n = 1): its p50, p90 and p99 are the same number, and three bars would pretend otherwise.
 */
export function percentileRows(rows: readonly LatencyRow[]): PercentileRow[] {
  return rows.flatMap((r): PercentileRow[] => {
    if (r.n === 0) return [];
    const base = { metric: r.metric, group: `${r.channel} · ${r.severity}`, n: r.n };
    const seconds = (v: number | undefined) => Math.round(v! * 10) / 10;
    if (r.n === 1) return [{ ...base, p: 'one sample', seconds: seconds(r.p50) }];
    return (['p50', 'p90', 'p99'] as const).map((p) => ({ ...base, p, seconds: seconds(r[p]) }));
  });
}

export interface TeamMtta {
  team: string;
  incidents: number;
  acked: number;
  /** Mean seconds from the alarm (else the first page) to the first ack, over acknowledged incidents. */
  mtta?: number;
  p50?: number;
  /** Incidents whose alarm went back to OK. */
  resolved: number;
  /** Mean seconds from the alarm (else the first page) to its OK, over resolved incidents. */
  mttr?: number;
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined);

/** Mean time to acknowledge (and to resolve) per team, by the incident list's own durations (incident-status.ts). */
export function mttaPerTeam(incidents: readonly IncidentSummary[]): TeamMtta[] {
  const teams = [...new Set(incidents.map((i) => i.team))].sort();
  return teams.map((team) => {
    const its = incidents.filter((i) => i.team === team);
    const of = (f: (t: IncidentTimes) => number | undefined) =>
      its.flatMap((i) => f(summaryTimes(i)) ?? []).sort((a, b) => a - b);
    const secs = of(timeToAck);
    const toResolve = of(timeToResolve);
    return {
      team,
      incidents: its.length,
      acked: secs.length,
      mtta: mean(secs),
      p50: percentile(secs, 0.5),
      resolved: toResolve.length,
      mttr: mean(toResolve),
    };
  });
}

export interface FailureReason {
  provider: string;
  code: string;
  status: string;
  count: number;
  label?: string;
  detail?: string;
  example?: string;
}

/** Failures grouped by provider, code and status, most frequent first, with the code explained. */
export function failureReasons(failures: readonly Failure[]): FailureReason[] {
  const groups = new Map<string, FailureReason>();
  for (const f of failures) {
    const provider = f.provider ?? 'unknown';
    const code = f.error_code ?? '(no code)';
    const key = `${provider}\u0000${code}\u0000${f.status}`;
    const g = groups.get(key);
    if (g) g.count++;
    else {
      const e = explainFailure(f);
      groups.set(key, {
        provider,
        code,
        status: f.status,
        count: 1,
        label: e?.label,
        detail: e?.detail,
        example: f.error_message,
      });
    }
  }
  return [...groups.values()].sort(
    (a, b) => b.count - a.count || a.provider.localeCompare(b.provider) || a.code.localeCompare(b.code),
  );
}

/** Incidents that escalated before their first responder opened the page. */
export function notOpenedBeforeEscalation(incidents: readonly IncidentSummary[]): IncidentSummary[] {
  return incidents.filter((i) => i.first_responder_opened_before_escalation === 'no' && i.escalated_at !== undefined);
}
