import { z } from 'zod';

/**
 * A schedule's reachability drill (processors/paging/drills): before each shift of the schedule starts, the person
 * coming on call gets a short test page on every channel they would be paged on, and must prove it reached them.
 *
 * Example (a schedule in the on-call file; README "Reachability drills"):
 * "drill": { "lead_s": 3600, "window_s": 900, "proof": { "delivery": true, "response": "any" },
 *            "owner": ["team:payments"], "allow_in_quiet_hours": false }
 */
export const DrillProof = z.strictObject({
  /** Every channel drilled must come back delivered (voice: answered by a person). Default true. */
  delivery: z.boolean().default(true),
  /**
   * The person must answer: `OK <code>` by SMS/WhatsApp, key 1 on the call, the link in the email. `any`: on one of
   * the channels (default); `every`: on each; `none`: a delivery receipt is proof enough.
   */
  response: z.enum(['any', 'every', 'none']).default('any'),
});
export type DrillProof = z.infer<typeof DrillProof>;

export const Drill = z.strictObject({
  /** Seconds before a shift starts that its drill is sent (shift start − lead). Default 3600 (1 h). */
  lead_s: z
    .number()
    .int()
    .min(60)
    .max(7 * 86_400)
    .default(3600),
  /** Seconds the person has, from the drill's send, to prove it reached them. Default 900 (15 min). */
  window_s: z.number().int().min(10).max(86_400).default(900),
  proof: DrillProof.default({ delivery: true, response: 'any' }),
  /**
   * Told when a drill fails (besides the person): people ids and/or `team:<id>` (every member), e.g. the team lead
   * or the whole team. Required: a failed drill nobody hears of proves nothing.
   */
  owner: z.array(z.string().min(1)).min(1),
  /**
   * Drill inside quiet hours (the `quiet_hours` windows of every team whose policy targets the schedule, whatever
   * their severities: a drill is never urgent). Default false: a drill due in quiet hours waits until they end; if the
   * shift starts first, it is skipped (outcome `skipped`, why `quiet_hours`: the person stays "not proven").
   */
  allow_in_quiet_hours: z.boolean().default(false),
  /** Channels to drill. Default: every channel the person would be paged on (the levels and failover of the policies
   * that target the schedule) that they have an address for. */
  channels: z
    .array(z.enum(['sms', 'whatsapp', 'email', 'voice']))
    .min(1)
    .optional(),
  /** Channels a failed drill is told on (to the person and the owner), the first each has. Default SMS, then email. */
  notify_channels: z
    .array(z.enum(['sms', 'email']))
    .min(1)
    .default(['sms', 'email']),
});
export type Drill = z.infer<typeof Drill>;
