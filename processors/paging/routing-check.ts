import type { SeveritySettings } from '../../schemas/alarm-routing.js';
import { levelPeople, policyRouteFor, type OnCallConfig } from '../../schemas/oncall/config.js';
import { Severity } from '../../schemas/status.js';

/**
 * What `make oncall-check` says about routing (no silent routing, schemas/oncall/config.ts `policyRouteFor`): every
 * (team, severity) pair without a policy — an alarm can reach any of them, since a `team` tag picks any team and a
 * `severity` tag any of P1..P4 — with what it pages instead and where that severity comes from (a tag, SEVERITY_MAP
 * entries, SEVERITY_DEFAULT, which also takes every tag outside P1..P4 such as `P9`).
 *
 * - warning: the pair pages a fallback (the team's `default_policy`, or the file's `unrouted_fallback`);
 * - error: the pair pages nobody (neither exists), or `unrouted_fallback` can reach nobody on its channels.
 */
export interface RoutingFindings {
  errors: string[];
  warnings: string[];
}

/** At most `n` items, then how many more. */
const some = (items: string[], n = 3) =>
  items.length <= n ? items.join(', ') : `${items.slice(0, n).join(', ')} and ${items.length - n} more`;

/** Where an alarm's severity `sev` can come from (schemas/alarm-routing.ts `resolveSeverity`). */
function sourcesOf(sev: Severity, settings: SeveritySettings): string {
  const out = [`a severity=${sev} tag`];
  const mapped = Object.entries(settings.SEVERITY_MAP)
    .filter(([, s]) => s === sev)
    .map(([name]) => JSON.stringify(name));
  if (mapped.length) out.push(`SEVERITY_MAP ${some(mapped)}`);
  if (settings.SEVERITY_DEFAULT === sev)
    out.push(`SEVERITY_DEFAULT=${sev} (alarms untagged and unmapped, or tagged outside P1..P4 such as P9)`);
  return out.join(', ');
}

export function routingFindings(cfg: OnCallConfig, settings: SeveritySettings, file: string): RoutingFindings {
  const errors: string[] = [];
  const warnings: string[] = [];
  const global = cfg.unrouted_fallback;
  const globalText = global ? `unrouted_fallback (${global.targets.join(', ')} on ${global.channels.join(', ')})` : '';
  for (const team of Object.keys(cfg.teams)) {
    for (const sev of Severity.options) {
      const route = policyRouteFor(cfg, team, sev);
      if (route.fallback === undefined) continue;
      const gap = `${file}: team ${team} has no ${sev} policy`;
      const from = `[${sev} from: ${sourcesOf(sev, settings)}]`;
      if (route.fallback === 'team_default')
        warnings.push(`${gap}: pages teams.${team}.default_policy, recorded unrouted → team_default ${from}`);
      else if (route.fallback === 'global')
        warnings.push(`${gap}: pages ${globalText} once, recorded unrouted → global ${from}`);
      else
        errors.push(
          `${gap}: pages NOBODY (recorded unrouted, logged as an error); add teams.${team}.escalation.${sev}, ` +
            `teams.${team}.default_policy or unrouted_fallback ${from}`,
        );
    }
  }
  // people and teams are known when the file is read; schedules depend on the time: only a fallback of fixed people
  if (global && !global.targets.some((t) => t.startsWith('schedule:'))) {
    const reachable = levelPeople(cfg, global).some((p) => global.channels.some((c) => cfg.people[p]?.[c]));
    if (!reachable)
      errors.push(
        `${file}: unrouted_fallback: no target has an address on ${global.channels.join(', ')}: pages nobody`,
      );
  }
  return { errors, warnings };
}
