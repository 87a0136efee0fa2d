import type { PagedChannel, Timeline, TimelineStep } from './timeline.js';

type Paged = Extract<TimelineStep, { kind: 'paged' }>;
type Acked = Extract<TimelineStep, { kind: 'acknowledged' }>;

/**
 * What a page's "opened before this page escalated" cell says. A page whose verdict is a `no` is not a page that
 * failed or went unseen when its person acknowledged the incident on another channel before the page's level
 * escalated (the SMS of someone who acked by voice): the page was not needed, and says so neutrally, naming the
 * channel of the ack. Any other page shows its verdict as the lake computed it.
 */
export type ShownVerdict =
  | { kind: 'verdict'; verdict: string | null }
  | { kind: 'not-needed'; ackChannel: string | null; ackVia: string | null };

export function shownVerdict(timeline: Timeline, step: Paged, page: PagedChannel): ShownVerdict {
  const asIs = { kind: 'verdict', verdict: page.verdict } as const;
  if (page.verdict === null || !page.verdict.startsWith('no') || step.person.id === null) return asIs;
  const ack = timeline.steps.find(
    (s): s is Acked =>
      s.kind === 'acknowledged' && s.person?.id === step.person.id && s.channel !== page.channel && s.at >= page.at,
  );
  if (!ack) return asIs;
  // the page's own level escalated before the ack: the page was missed (the escalation proves it)
  const missed = timeline.steps.some(
    (s) => s.kind === 'escalated' && s.fromLevel === step.level && s.at >= page.at && s.at <= ack.at,
  );
  return missed ? asIs : { kind: 'not-needed', ackChannel: ack.channel, ackVia: ack.via };
}
