import { describe, expect, it } from 'vitest';
import { buildTimeline } from './timeline.js';
import { formatTimelineText, timelineJson } from './timeline-format.js';
import { BILLING, PEOPLE } from './timeline.fixtures.js';

/** `make incident` says where an alarm came from when it is not CloudWatch (issue 22 item 5). */
describe('the source of an incident in make incident', () => {
  const rows = (source: string | null) => ({ ...BILLING, incident: { ...BILLING.incident, source } });

  it('an Alertmanager alarm: the header and the opening step name the source', () => {
    const text = formatTimelineText(buildTimeline(rows('alertmanager'), PEOPLE)).split('\n');
    const header = 'Incident inc_b · alertmanager alarm billing-db-connections · P1 · 2026-11-28';
    expect(text[0]).toBe(`${header} · times in UTC`);
    expect(text[2]).toBe('12:00:00  alertmanager alarm billing-db-connections (P1) fired: incident opened');
    expect(timelineJson(buildTimeline(rows('events-v2'), PEOPLE))).toMatchObject({ source: 'events-v2' });
  });

  it.each(['cloudwatch', null])('a CloudWatch alarm (source %s) reads as before', (source) => {
    const text = formatTimelineText(buildTimeline(rows(source), PEOPLE)).split('\n');
    expect(text[0]).toBe('Incident inc_b · alarm billing-db-connections · P1 · 2026-11-28 · times in UTC');
    expect(text[2]).toBe('12:00:00  alarm billing-db-connections (P1) went to ALARM: incident opened');
  });

  it("an Alertmanager group's alerts resolving while it stays open, then the group resolving (demo story 7)", () => {
    const at = (sec: number) => (BILLING.incident.opened_at as number) + sec * 1000;
    const restated = (sec: number, firing: number, id: string) => ({
      event_id: id,
      timestamp: at(sec),
      source: 'alertmanager',
      detail: JSON.stringify({ restates: `am_${id}`, key: 'pagetrail/{}:{alertname="X"}', firing, team: 'db' }),
    });
    // any order, a duplicate, and the group's firing count going up as well as down
    const updates = [restated(60, 1, 'r2'), restated(0, 3, 'r1'), restated(60, 1, 'r2'), restated(120, 2, 'r3')];
    const t = buildTimeline({ ...rows('alertmanager'), updates }, PEOPLE);
    const text = formatTimelineText(t).split('\n');
    expect(text).toContain(
      "12:01:00  alertmanager: 2 of the group's 3 alerts resolved, 1 still firing: the incident stays open",
    );
    expect(text).toContain(
      '12:02:00  alertmanager: 1 more alert firing in the group (2 now): the same incident, no new page',
    );
    expect(text.filter((l) => l.includes('alertmanager: ')).length).toBe(3); // 2 changes + the resolve
    expect(text).toContain('12:15:00  alertmanager: every alert of the group resolved: incident resolved');
    // a CloudWatch incident's resolve reads as before
    expect(formatTimelineText(buildTimeline(rows('cloudwatch'), PEOPLE))).toContain(
      '12:15:00  alarm back to OK: incident resolved',
    );
  });
});
