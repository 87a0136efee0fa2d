import { describe, expect, it } from 'vitest';
import { DependencyHealth, withDependencies } from './dependency-health.js';

function logged() {
  const lines: { level: string; obj: Record<string, unknown>; msg?: string }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => lines.push({ level, obj: obj as never, msg });
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error') } };
}

describe('DependencyHealth', () => {
  it('degraded from the first failure, with its reason; one metric line per change, cleared by a success', () => {
    let now = 1_000;
    const { lines, logger } = logged();
    const h = new DependencyHealth({ now: () => now, logger });
    h.fail('scheduler', 'scheduler unreachable: ECONNREFUSED');
    now += 500;
    h.fail('scheduler', 'scheduler unreachable: ECONNREFUSED');
    expect(h.status()).toEqual({
      status: 'degraded',
      reasons: ['scheduler unreachable: ECONNREFUSED'],
      dependencies: {
        scheduler: { reason: 'scheduler unreachable: ECONNREFUSED', since: 1_000, lastAt: 1_500, failures: 2 },
      },
      failures: { scheduler: 2 },
    });
    now += 1_000;
    h.ok('scheduler');
    h.ok('scheduler');
    expect(h.status()).toMatchObject({ status: 'ok', reasons: [], dependencies: {}, failures: { scheduler: 2 } });
    // two lines: degraded, recovered (CloudWatch Embedded Metric Format)
    expect(lines.map((l) => [l.level, l.obj.Dependency, l.obj.PagingDependencyDegraded])).toEqual([
      ['warn', 'scheduler', 1],
      ['info', 'scheduler', 0],
    ]);
    expect(lines[0].obj._aws).toEqual({
      Timestamp: 1_000,
      CloudWatchMetrics: [
        {
          Namespace: 'pagetrail',
          Dimensions: [['Dependency']],
          Metrics: [
            { Name: 'PagingDependencyDegraded', Unit: 'Count' },
            { Name: 'PagingDependencyFailures', Unit: 'Count' },
          ],
        },
      ],
    });
    expect(lines[1].msg).toBe('scheduler recovered after 2 s (2 failure(s))');
  });

  it('a dependency nobody called for staleMs is no longer reported', () => {
    let now = 0;
    const h = new DependencyHealth({ now: () => now, staleMs: 60_000 });
    h.fail('twilio', 'twilio hanging: a send took over the 1000 ms send budget');
    now = 60_000;
    expect(h.get('twilio')?.reason).toMatch(/hanging/);
    now = 60_001;
    expect(h.get('twilio')).toBeUndefined();
    expect(h.status().status).toBe('ok');
  });

  it("joins the event source mapping's status: degraded when either is, every reason", () => {
    const h = new DependencyHealth();
    const mapping = {
      status: 'degraded' as const,
      reasons: ['kinesis unreachable: ECONNREFUSED'],
      shards: {},
      invocations: 3,
    };
    expect(withDependencies({ ...mapping, status: 'ok', reasons: [] }, h).status).toBe('ok');
    h.fail('resend', 'resend refusing: 503');
    expect(withDependencies(mapping, h)).toMatchObject({
      status: 'degraded',
      reasons: ['kinesis unreachable: ECONNREFUSED', 'resend refusing: 503'],
      dependencies: { resend: { reason: 'resend refusing: 503', failures: 1 } },
      dependencyFailures: { resend: 1 },
      invocations: 3,
    });
  });
});
