/**
 * The `/__sim/*` control routes: health, records, one-shot faults and behaviours at run time, and an
 * outage (`PUT /__sim/outage` with one fault as JSON, e.g. `{"type":"hang","ms":30000}` or
 * `{"type":"error","status":503}`: every sending request gets it until `DELETE /__sim/outage`).
 */
import type { z } from 'zod';
import { ApiFault, ApiFaults, Behaviour } from './behaviours.js';
import type { SimApp, SimContext } from './context.js';

export function registerControl(app: SimApp, ctx: SimContext) {
  app.get('/__sim/health', (c) => c.json({ ok: true }));
  app.get('/__sim/requests', (c) => c.json(ctx.records.requests));
  app.get('/__sim/callbacks', (c) => c.json(ctx.records.callbacks));
  app.delete('/__sim/records', (c) => {
    ctx.records.clear();
    return c.body(null, 204);
  });
  /** PUT `<route>/:recipient`: the JSON body, checked by `schema`, set for that recipient; 400 with the issues. */
  const perRecipient = <T>(route: string, schema: z.ZodType<T>, set: (recipient: string, value: T) => void) =>
    app.put(`${route}/:recipient`, async (c) => {
      const parsed = schema.safeParse(await c.req.json().catch(() => undefined));
      if (!parsed.success)
        return c.json({ error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) }, 400);
      set(decodeURIComponent(c.req.param('recipient')), parsed.data);
      return c.body(null, 204);
    });
  perRecipient('/__sim/faults', ApiFaults, (recipient, faults) => ctx.faults.inject(recipient, faults));
  perRecipient('/__sim/behaviours', Behaviour, (recipient, steps) => ctx.behaviours.set(recipient, steps));
  app.put('/__sim/outage', async (c) => {
    const parsed = ApiFault.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success)
      return c.json({ error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) }, 400);
    ctx.faults.setOutage(parsed.data);
    ctx.log.info({ fault: parsed.data }, 'outage: every sending request gets this fault');
    return c.body(null, 204);
  });
  app.delete('/__sim/outage', (c) => {
    ctx.faults.setOutage(undefined);
    ctx.log.info('outage over');
    return c.body(null, 204);
  });
}
