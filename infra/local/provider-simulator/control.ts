/** The `/__sim/*` control routes: health, records, one-shot faults and behaviours at run time. */
import { Behaviour, ApiFaults } from './behaviours.js';
import type { SimApp, SimContext } from './context.js';

export function registerControl(app: SimApp, ctx: SimContext) {
  app.get('/__sim/health', (c) => c.json({ ok: true }));
  app.get('/__sim/requests', (c) => c.json(ctx.records.requests));
  app.get('/__sim/callbacks', (c) => c.json(ctx.records.callbacks));
  app.delete('/__sim/records', (c) => {
    ctx.records.clear();
    return c.body(null, 204);
  });
  app.put('/__sim/faults/:recipient', async (c) => {
    const parsed = ApiFaults.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success)
      return c.json({ error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) }, 400);
    ctx.faults.inject(decodeURIComponent(c.req.param('recipient')), parsed.data);
    return c.body(null, 204);
  });
  app.put('/__sim/behaviours/:recipient', async (c) => {
    const parsed = Behaviour.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success)
      return c.json({ error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) }, 400);
    ctx.behaviours.set(decodeURIComponent(c.req.param('recipient')), parsed.data);
    return c.body(null, 204);
  });
}
