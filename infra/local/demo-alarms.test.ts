import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEMO_STORIES, demoHeadline } from './demo-alarms.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('the demo says what it plays', () => {
  it('counts the stories, never a literal', () => {
    expect(demoHeadline()).toBe('six CloudWatch alarms (ECS and RDS)');
    expect(demoHeadline(DEMO_STORIES.slice(0, 4))).toBe('four CloudWatch alarms (ECS and RDS)');
    expect(demoHeadline(DEMO_STORIES.filter((s) => s.namespace === 'AWS/RDS'))).toBe('three CloudWatch alarms (RDS)');
    expect(demoHeadline(DEMO_STORIES.slice(0, 1))).toBe('one CloudWatch alarm (ECS)');
  });

  it("the README's counts of the demo's alarms and stories match the list", () => {
    const word = demoHeadline().split(' ')[0];
    const counts = [
      ...README.matchAll(/plays (\w+) alarms|posts (\w+) CloudWatch "Alarm State Change"|shows all (\w+) stories/g),
    ].map((m) => m[1] ?? m[2] ?? m[3]);
    expect(counts).toHaveLength(3);
    expect(counts).toEqual([word, word, word]);
    // and the numbered story list of "The demo" has one item per story
    const section = README.slice(README.indexOf('### The demo'), README.indexOf('## The on-call file'));
    expect(section.match(/^\d+\. /gm)).toHaveLength(DEMO_STORIES.length);
  });
});
