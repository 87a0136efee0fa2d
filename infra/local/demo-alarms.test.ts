import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AlertmanagerWebhook } from '../../schemas/alertmanager-webhook.js';
import { loadOnCallConfig } from '../../schemas/oncall/config.js';
import { sourceSeverity, sourceTeam } from '../../schemas/oncall/sources.js';
import {
  DEMO_GROUP_STORY,
  DEMO_STORIES,
  DEMO_STORY_COUNT,
  demoGroupNotification,
  demoHeadline,
  demoPlays,
  inWords,
  labelsFingerprint,
} from './demo-alarms.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const sample = (stage: string) =>
  AlertmanagerWebhook.parse(
    JSON.parse(
      readFileSync(new URL(`../../schemas/fixtures/alertmanager-group-${stage}.json`, import.meta.url), 'utf8'),
    ),
  );

describe('the demo says what it plays', () => {
  it('counts the stories, never a literal', () => {
    expect(demoHeadline()).toBe('six CloudWatch alarms (ECS and RDS)');
    expect(demoHeadline(DEMO_STORIES.slice(0, 4))).toBe('four CloudWatch alarms (ECS and RDS)');
    expect(demoHeadline(DEMO_STORIES.filter((s) => s.namespace === 'AWS/RDS'))).toBe('three CloudWatch alarms (RDS)');
    expect(demoHeadline(DEMO_STORIES.slice(0, 1))).toBe('one CloudWatch alarm (ECS)');
    expect(demoPlays()).toBe('six CloudWatch alarms (ECS and RDS) and an Alertmanager group');
    expect(DEMO_STORY_COUNT).toBe(DEMO_STORIES.length + 1);
  });

  it("the README's counts of the demo's alarms and stories match the list", () => {
    const word = demoHeadline().split(' ')[0];
    const counts = [
      ...README.matchAll(/plays (\w+) alarms|posts (\w+) CloudWatch "Alarm State Change"|shows all (\w+) stories/g),
    ].map((m) => m[1] ?? m[2] ?? m[3]);
    expect(counts).toHaveLength(3);
    // the CloudWatch alarms, then every story (the alarms and the Alertmanager group)
    expect(counts).toEqual([word, word, inWords(DEMO_STORY_COUNT)]);
    // and the numbered story list of "The demo" has one item per story, the group last
    const section = README.slice(README.indexOf('### The demo'), README.indexOf('## The on-call file'));
    const items = section.match(/^\d+\. .*/gm) ?? [];
    expect(items).toHaveLength(DEMO_STORY_COUNT);
    expect(items.at(-1)).toMatch(new RegExp(`^${DEMO_STORY_COUNT}\\. .*Alertmanager`));
  });
});

describe("the demo's Alertmanager group", () => {
  it("computes an alert's fingerprint as Alertmanager does (the samples' own)", () => {
    for (const a of sample('firing').alerts) expect(labelsFingerprint(a.labels)).toBe(a.fingerprint);
    // prometheus/alertmanager template/template_test.go pins {job=foo, severity=warning}
    expect(labelsFingerprint({ job: 'foo', severity: 'warning' })).toBe('9266ef3da838ad95');
  });

  it("is the samples with the story's team label, fresh times, fingerprints and groupKey following the labels", () => {
    const t0 = Date.parse('2030-01-02T03:04:05Z');
    const firing = AlertmanagerWebhook.parse(demoGroupNotification('firing', t0));
    const original = sample('firing');
    expect(firing.alerts.map((a) => a.startsAt)).toEqual(['2030-01-02T03:04:05.000Z', '2030-01-02T03:04:35.000Z']);
    expect(firing.alerts.map((a) => a.endsAt)).toEqual(original.alerts.map((a) => a.endsAt)); // Go's zero time
    expect(firing.commonLabels.team).toBe(DEMO_GROUP_STORY.team);
    expect(firing.groupKey).toBe(original.groupKey.replace('team="payments"', `team="${DEMO_GROUP_STORY.team}"`));
    for (const [i, a] of firing.alerts.entries()) {
      expect(a.labels).toEqual({ ...original.alerts[i].labels, team: DEMO_GROUP_STORY.team });
      expect(a.fingerprint).toBe(labelsFingerprint(a.labels));
      expect(a.fingerprint).not.toBe(original.alerts[i].fingerprint);
    }
    const partial = demoGroupNotification('partial', t0, [t0 + 5000]);
    expect(partial.alerts.map((a) => [a.status, a.endsAt])).toEqual([
      ['resolved', '2030-01-02T03:04:10.000Z'],
      ['firing', '0001-01-01T00:00:00Z'],
    ]);
    // the same alerts (fingerprints) through the group's notifications; the first keeps the time it resolved
    const resolved = demoGroupNotification('resolved', t0, [t0 + 5000, t0 + 9000]);
    expect(resolved.status).toBe('resolved');
    expect(resolved.alerts.map((a) => a.fingerprint)).toEqual(firing.alerts.map((a) => a.fingerprint));
    expect(resolved.alerts.map((a) => a.endsAt)).toEqual(['2030-01-02T03:04:10.000Z', '2030-01-02T03:04:14.000Z']);
  });

  it('routes to a demo team with a short policy that tells the people paged when it resolves', () => {
    const oncall = loadOnCallConfig('infra/local/oncall/demo.json');
    const labels = demoGroupNotification('firing', 0).commonLabels;
    expect(sourceTeam(oncall.sources, oncall.teams, labels)).toBe(DEMO_GROUP_STORY.team);
    expect(sourceSeverity(oncall.sources, labels)).toBe(DEMO_GROUP_STORY.severity);
    const policy = oncall.teams[DEMO_GROUP_STORY.team].escalation[DEMO_GROUP_STORY.severity]!;
    expect(policy.levels).toHaveLength(1);
    expect(policy.notify?.on).toContain('resolve');
  });
});
