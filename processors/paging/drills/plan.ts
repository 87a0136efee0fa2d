import { drillId } from '../../../schemas/drill-record.js';
import type { OnCallConfig, PageChannel, Policy } from '../../../schemas/oncall/config.js';
import type { QuietHours } from '../../../schemas/oncall/quiet.js';
import type { IcalCalendar } from '../../../shared/schedules/ical.js';
import { handoffsOf } from '../../../shared/schedules/shifts.js';
import { withinWeekly } from '../quiet/windows.js';

/**
 * When reachability drills are due: one before every shift hand-off of every schedule that has a `drill` block, at
 * shift start − `lead_s`. A hand-off is an instant at which the schedule's answer (resolve.ts `onCallAt`, the same
 * resolution the pager and `make oncall` use: overrides, layers, restrictions, iCalendar events, DST) changes to a
 * person: asked at every instant the answer can change (shared/schedules/shifts.ts `handoffsOf`).
 * Pure: the tests drive it with any clock.
 */

export interface PlannedDrill {
  id: string;
  schedule: string;
  person: string;
  shiftStart: number;
  /** shift start − lead (epoch ms). */
  dueAt: number;
}

/**
 * The drills a planner tick at `now` plans: those of the shifts starting after `now` whose due time is before
 * `now + horizonMs` (a drill whose due time has passed but whose shift has not started — a schedule just added — is
 * due at once). Ordered by due time.
 */
export function plannedDrills(
  cfg: OnCallConfig,
  now: number,
  horizonMs: number,
  calendars?: ReadonlyMap<string, IcalCalendar>,
): PlannedDrill[] {
  const out: PlannedDrill[] = [];
  for (const [id, schedule] of Object.entries(cfg.schedules)) {
    if (!schedule.drill) continue;
    const lead = schedule.drill.lead_s * 1000;
    for (const h of handoffsOf(schedule, now + 1, now + horizonMs + lead, { people: cfg.people, calendars })) {
      const dueAt = h.at - lead;
      if (dueAt < now + horizonMs)
        out.push({ id: drillId(id, h.person, h.at), schedule: id, person: h.person, shiftStart: h.at, dueAt });
    }
  }
  return out.sort((a, b) => a.dueAt - b.dueAt || a.id.localeCompare(b.id));
}

/** The policies (own and default, of every team) with a level or fallback that targets `schedule:<id>`. */
export function policiesTargeting(cfg: OnCallConfig, scheduleId: string): { team: string; policy: Policy }[] {
  const target = `schedule:${scheduleId}`;
  const out: { team: string; policy: Policy }[] = [];
  for (const [team, def] of Object.entries(cfg.teams))
    for (const policy of [...Object.values(def.escalation), def.default_policy])
      if (policy?.levels.some((l) => l.targets.includes(target)) || policy?.fallback?.targets.includes(target))
        out.push({ team, policy });
  return out;
}

const ORDER: PageChannel[] = ['voice', 'sms', 'whatsapp', 'email'];

/**
 * The channels `person` is drilled on for `scheduleId`: the drill's `channels`, else every channel the policies that
 * target the schedule would page them on (their levels' and fallback's channels and their failover lists), among
 * those the person has an address for. WhatsApp only with an approved template (business-initiated messages need
 * one); voice only with a caller id.
 */
export function drillChannels(cfg: OnCallConfig, scheduleId: string, person: string): PageChannel[] {
  const drill = cfg.schedules[scheduleId]?.drill;
  const target = `schedule:${scheduleId}`;
  const wanted = new Set<PageChannel>(drill?.channels ?? []);
  if (!drill?.channels)
    for (const { policy } of policiesTargeting(cfg, scheduleId)) {
      for (const l of policy.levels) if (l.targets.includes(target)) for (const c of l.channels) wanted.add(c);
      if (policy.fallback?.targets.includes(target)) for (const c of policy.fallback.channels) wanted.add(c);
      for (const c of policy.failover) wanted.add(c);
    }
  const p = cfg.people[person];
  return ORDER.filter(
    (c) =>
      wanted.has(c) &&
      p?.[c] !== undefined &&
      (c !== 'whatsapp' || drillWhatsappTemplate(cfg) !== undefined) &&
      (c !== 'voice' || cfg.twilio.voice_from !== undefined),
  );
}

/** The severity whose approved WhatsApp template a drill is sent with: the first that has one (P1 first). */
export function drillWhatsappTemplate(cfg: OnCallConfig): 'P1' | 'P2' | 'P3' | 'P4' | undefined {
  for (const sev of ['P1', 'P2', 'P3', 'P4'] as const) if (cfg.whatsapp_templates[sev]) return sev;
  return undefined;
}

/** The quiet hours a drill of `scheduleId` keeps: those of every team whose policy targets the schedule. */
export function drillQuietHours(cfg: OnCallConfig, scheduleId: string): QuietHours[] {
  const teams = new Set(policiesTargeting(cfg, scheduleId).map((p) => p.team));
  return [...teams].flatMap((t) => (cfg.teams[t]?.quiet_hours ? [cfg.teams[t].quiet_hours] : []));
}

/**
 * When the quiet hours around `at` end (epoch ms, to the minute), or undefined when `at` is not in quiet hours.
 * Looks at most `limitMs` ahead (returns `at + limitMs` when they last that long).
 */
export function quietUntil(quiet: readonly QuietHours[], at: number, limitMs: number): number | undefined {
  const inQuiet = (t: number) => quiet.some((q) => withinWeekly(q, t));
  if (!inQuiet(at)) return undefined;
  const MINUTE = 60_000;
  let t = Math.floor(at / MINUTE) * MINUTE + MINUTE;
  while (t < at + limitMs && inQuiet(t)) t += MINUTE;
  return Math.min(t, at + limitMs);
}
