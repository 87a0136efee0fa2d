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
});
