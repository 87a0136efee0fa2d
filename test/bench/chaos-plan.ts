/**
 * `make chaos`'s plan, pure: its settings (environment variables with their defaults), the outages it
 * runs in turn, and which outage an alarm belongs to (test/bench/chaos.ts runs the plan).
 */
import { z } from 'zod';

/** The outages, in the order they run; each is one engine stopped or one fault of the provider. */
export const OUTAGES = [
  'stream', // kinesalite stopped
  'tables', // dynalite stopped
  'bucket', // s3rver stopped
  'scheduler', // the Scheduler emulator stopped
  'provider_hung', // every send to the provider simulator accepted, answered CHAOS_HANG_MS late
  'provider_refusing', // every send answered 503, nothing created
  'second_lake_writer', // a second lake process on the same shards
] as const;
export type Outage = (typeof OUTAGES)[number];

const seconds = (def: number) => z.coerce.number().nonnegative().default(def);

/** The settings; every one an environment variable, documented with its default in docs/performance.md. */
export const ChaosSettings = z.object({
  /** Comma-separated subset of OUTAGES (in any order; they run in OUTAGES' order). Default: all. */
  CHAOS_OUTAGES: z
    .string()
    .default(OUTAGES.join(','))
    .transform((s, ctx) => {
      const names = s
        .split(',')
        .map((x) => x.trim().replaceAll('-', '_'))
        .filter(Boolean);
      const bad = names.filter((n) => !(OUTAGES as readonly string[]).includes(n));
      if (bad.length) ctx.addIssue({ code: 'custom', message: `unknown ${bad.join(', ')}; expected ${OUTAGES}` });
      return OUTAGES.filter((o) => names.includes(o));
    }),
  /** How long each outage lasts (s). */
  CHAOS_OUTAGE_S: seconds(10),
  /** Traffic between the end of one outage and the start of the next (s): the recovery. */
  CHAOS_GAP_S: seconds(8),
  /** Traffic before the first outage (s). */
  CHAOS_WARMUP_S: seconds(5),
  /** Alarms per second, throughout. */
  CHAOS_RATE: z.coerce.number().positive().default(2),
  /** Distinct alarms (ARNs); each post is a new episode (a new incident) of one of them. */
  CHAOS_ARNS: z.coerce.number().int().positive().default(60),
  /** After the traffic: how long pages, dispatch records and checkpoints may take to settle (s). */
  CHAOS_SETTLE_S: seconds(90),
  /** How late a hung provider answers (ms). */
  CHAOS_HANG_MS: z.coerce.number().int().positive().default(30_000),
  /** The first-page target during a Scheduler outage (ms; issue 17). */
  CHAOS_FIRST_PAGE_TARGET_MS: z.coerce.number().positive().default(2000),
  /** 1: keep the run's DATA_DIR (engine data, logs) even when every target is met. */
  CHAOS_KEEP: z.enum(['0', '1']).default('0'),
});
export type ChaosSettings = z.infer<typeof ChaosSettings>;

/** The settings from `env` (unset or empty variables take their defaults). */
export function chaosSettings(env: NodeJS.ProcessEnv): ChaosSettings {
  const raw = Object.fromEntries(
    Object.keys(ChaosSettings.shape).flatMap((k) => (env[k]?.trim() ? [[k, env[k]!.trim()]] : [])),
  );
  return ChaosSettings.parse(raw);
}

/** An outage as it happened: from the moment its engine was told to stop to the moment it served again. */
export interface Window {
  outage: Outage;
  start: number;
  end: number;
}

/** The outage in force at `t` (start ≤ t < end), if any. */
export function outageAt(windows: readonly Window[], t: number): Outage | undefined {
  return windows.find((w) => w.start <= t && t < w.end)?.outage;
}

/**
 * The phase of an alarm posted at `t`: the last outage that started at or before `t` (its outage and
 * the recovery after it), else 'warmup'.
 */
export function phaseAt(windows: readonly Window[], t: number): Outage | 'warmup' {
  let phase: Outage | 'warmup' = 'warmup';
  for (const w of [...windows].sort((a, b) => a.start - b.start)) if (w.start <= t) phase = w.outage;
  return phase;
}

/** Shards whose consumer checkpoint is short of the shard's last record (`group:shardId`, sorted). */
export function jammedShards(
  tips: ReadonlyMap<string, string>,
  checkpoints: ReadonlyMap<string, { sequenceNumber?: string; ended?: boolean } | undefined>,
  groups: readonly string[],
): string[] {
  const jammed: string[] = [];
  for (const group of groups)
    for (const [shardId, last] of tips) {
      const cp = checkpoints.get(`${group}:${shardId}`);
      const done = cp?.ended || (cp?.sequenceNumber !== undefined && BigInt(cp.sequenceNumber) >= BigInt(last));
      if (!done) jammed.push(`${group}:${shardId}`);
    }
  return jammed.sort();
}
