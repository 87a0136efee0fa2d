/**
 * Fixture times for tests whose records meet a real clock: the local engines stamp each record's
 * arrival with the machine's time (kinesalite's ApproximateArrivalTimestamp), and the lake refuses an
 * event time more than the stream's retention + the join window behind its arrival. Such a test takes
 * its times from here, relative to the clock it runs under, so it passes on any date; CI runs the
 * whole suite a second time with the clock a year ahead (`.ci/run`, `faketime`). Tests of pure code
 * inject a fixed `now` instead and never read the machine's clock.
 */
export const DAY_MS = 86_400_000;

/** The UTC day (YYYY-MM-DD) of an instant: the lake's `dt` partition. */
export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/**
 * `minutes` before the UTC midnight that began yesterday (relative to `now`): a scenario that starts
 * here crosses a midnight (two `dt` partitions), lies wholly in the past (1–2 days ago), and stays far
 * inside the lake's lateness bound.
 */
export function beforeMidnight(minutes: number, now = Date.now()): number {
  return (Math.floor(now / DAY_MS) - 1) * DAY_MS - minutes * 60_000;
}

/**
 * The environment a test's child process starts from: PATH, and the clock this process runs on when
 * `faketime` moved it (its LD_PRELOAD library and FAKETIME* settings), so that a child started with an
 * environment of its own keeps the suite's clock. `extra` wins.
 */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const clock = Object.entries(process.env).filter(
    ([k]) => k === 'LD_PRELOAD' || k.startsWith('FAKETIME') || k === 'DONT_FAKE_MONOTONIC',
  );
  return { PATH: process.env.PATH, ...Object.fromEntries(clock), ...extra };
}

/**
 * Polls `probe` until it returns a value (every `pollMs`, up to `timeoutMs`): a test waits on the
 * local engines' state this way, never with a fixed sleep.
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
  pollMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
