/**
 * A local emulator of the EventBridge Scheduler API subset pagetrail uses, spoken the way the AWS SDK
 * (`@aws-sdk/client-scheduler`, restJson1) sends it:
 *
 *   POST   /schedule-groups/{Name}            CreateScheduleGroup  → { ScheduleGroupArn }
 *   GET    /schedule-groups/{Name}            GetScheduleGroup
 *   DELETE /schedule-groups/{Name}            DeleteScheduleGroup (and its schedules)
 *   POST   /schedules/{Name}                  CreateSchedule       → { ScheduleArn }
 *   GET    /schedules/{Name}?groupName=       GetSchedule
 *   DELETE /schedules/{Name}?groupName=       DeleteSchedule       → {}
 *   GET    /schedules?ScheduleGroup=&NamePrefix=&State=&MaxResults=&NextToken=   ListSchedules
 *   GET    /__scheduler/health                { ok, pending, retrying, fired, dropped, lastError }
 *
 * Errors as AWS answers them: status + `x-amzn-ErrorType` + `{ "Message": … }` — ConflictException
 * 409 (the name exists), ResourceNotFoundException 404, ValidationException 400 (bad name, expression,
 * target or field). Timestamps are epoch seconds, as restJson1 encodes them. Requests are not
 * authenticated (any SigV4 credentials work, like the other local engines).
 *
 * Schedules are kept under `dataDir` (see store.ts) and fired by Kinesis PutRecord (see engine.ts):
 * within ~100 ms of their `at()` time here, within 60 s on AWS.
 *
 *   const sched = await startSchedulerEmulator({ dataDir, kinesis });   // port 0: a free one
 *   new SchedulerClient({ endpoint: sched.url, ... })
 *   await sched.close();
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import type { ZodType } from 'zod';
import { silentLogger } from '../../../platform/logger.js';
import { SchedulerEngine, type SchedulerEngineOptions, type SchedulerHealth } from './engine.js';
import { SchedulerApiError, validationError } from './errors.js';
import { CreateGroupBody, CreateScheduleBody, describeIssues, type StoredGroup, type StoredSchedule } from './model.js';
import { ScheduleStore } from './store.js';

/** The engine's options (firing clock, retries, Kinesis client, ARNs: engine.ts), and where to listen and persist. */
export interface SchedulerEmulatorOptions extends Omit<SchedulerEngineOptions, 'store'> {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Where schedules and groups are persisted (created if missing), e.g. `$DATA_DIR/scheduler`. */
  dataDir: string;
}

export interface SchedulerEmulator {
  /** `http://127.0.0.1:PORT`: the SchedulerClient endpoint. */
  url: string;
  port: number;
  /** Records put since start. */
  fired(): number;
  health(): SchedulerHealth;
  /** Stops firing (puts in flight are aborted and fire again on the next start), closes the server. */
  close(): Promise<void>;
}

const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);

function scheduleOut(s: StoredSchedule) {
  return {
    Arn: s.arn,
    GroupName: s.groupName,
    Name: s.name,
    ScheduleExpression: s.scheduleExpression,
    ScheduleExpressionTimezone: s.scheduleExpressionTimezone,
    State: s.state,
    Description: s.description,
    StartDate: s.startDate,
    EndDate: s.endDate,
    KmsKeyArn: s.kmsKeyArn,
    CreationDate: seconds(s.creationDate),
    LastModificationDate: seconds(s.lastModificationDate),
    FlexibleTimeWindow: s.flexibleTimeWindow,
    Target: s.target,
    ActionAfterCompletion: s.actionAfterCompletion,
  };
}

function groupOut(g: StoredGroup) {
  return {
    Arn: g.arn,
    Name: g.name,
    State: 'ACTIVE',
    CreationDate: seconds(g.creationDate),
    LastModificationDate: seconds(g.lastModificationDate),
  };
}

async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw validationError('The request body is not valid JSON.');
  }
}

function parse<T>(schema: ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) throw validationError(describeIssues(r.error));
  return r.data;
}

export async function startSchedulerEmulator(opts: SchedulerEmulatorOptions): Promise<SchedulerEmulator> {
  const log = opts.logger ?? silentLogger;
  const engine = new SchedulerEngine({
    store: new ScheduleStore(opts.dataDir),
    kinesis: opts.kinesis,
    region: opts.region,
    accountId: opts.accountId,
    tickMs: opts.tickMs,
    putTimeoutMs: opts.putTimeoutMs,
    retryBaseMs: opts.retryBaseMs,
    retryMaxMs: opts.retryMaxMs,
    logger: log,
  });
  await engine.start();

  const app = new Hono();
  const name = (c: Context) => c.req.param('name') ?? ''; // Hono decodes it

  app.get('/__scheduler/health', (c) => c.json(engine.health()));

  app.post('/schedule-groups/:name', async (c) => {
    parse(CreateGroupBody, await jsonBody(c));
    const g = await engine.createGroup(name(c));
    return c.json({ ScheduleGroupArn: g.arn });
  });
  app.get('/schedule-groups/:name', (c) => c.json(groupOut(engine.getGroup(name(c)))));
  app.delete('/schedule-groups/:name', async (c) => {
    await engine.deleteGroup(name(c));
    return c.json({});
  });

  app.post('/schedules/:name', async (c) => {
    const body = parse(CreateScheduleBody, await jsonBody(c));
    const s = await engine.createSchedule(name(c), body);
    return c.json({ ScheduleArn: s.arn });
  });
  app.get('/schedules/:name', (c) =>
    c.json(scheduleOut(engine.getSchedule(name(c), c.req.query('groupName') || undefined))),
  );
  app.delete('/schedules/:name', async (c) => {
    await engine.deleteSchedule(name(c), c.req.query('groupName') || undefined);
    return c.json({});
  });
  app.get('/schedules', (c) => {
    const q = (k: string) => c.req.query(k) || undefined;
    const max = q('MaxResults') === undefined ? 100 : Number(q('MaxResults'));
    if (!Number.isInteger(max) || max < 1 || max > 100) throw validationError('MaxResults must be between 1 and 100.');
    const state = q('State');
    if (state !== undefined && state !== 'ENABLED' && state !== 'DISABLED')
      throw validationError('State must be ENABLED or DISABLED.');
    const all = engine.listSchedules({ groupName: q('ScheduleGroup'), namePrefix: q('NamePrefix'), state });
    let start = 0;
    const token = q('NextToken');
    if (token !== undefined) {
      start = Number(Buffer.from(token, 'base64url').toString('utf8'));
      if (!Number.isInteger(start) || start < 0) throw validationError('Invalid NextToken.');
    }
    const page = all.slice(start, start + max);
    const next = start + max < all.length ? Buffer.from(String(start + max)).toString('base64url') : undefined;
    return c.json({
      Schedules: page.map((s) => ({
        Arn: s.arn,
        Name: s.name,
        GroupName: s.groupName,
        State: s.state,
        CreationDate: seconds(s.creationDate),
        LastModificationDate: seconds(s.lastModificationDate),
        Target: { Arn: s.target.Arn },
      })),
      NextToken: next,
    });
  });

  const apiError = (c: Context, err: SchedulerApiError) => {
    c.header('x-amzn-ErrorType', err.type);
    return c.json({ Message: err.message }, err.status as 400);
  };
  app.notFound((c) =>
    apiError(
      c,
      new SchedulerApiError(
        'UnknownOperationException',
        `the local scheduler emulator has no ${c.req.method} ${new URL(c.req.url).pathname}`,
      ),
    ),
  );
  app.onError((err, c) => {
    if (err instanceof SchedulerApiError) return apiError(c, err);
    log.error({ err }, 'scheduler: request failed');
    return apiError(c, new SchedulerApiError('InternalServerException', `Internal error: ${err.message}`));
  });

  const host = opts.host ?? '127.0.0.1';
  let server: ReturnType<typeof serve>;
  try {
    server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, port: opts.port ?? 0, hostname: host }, () => resolve(s));
      s.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'EADDRINUSE'
            ? new Error(`scheduler emulator: port ${opts.port} on ${host} is already in use`, { cause: err })
            : err,
        ),
      );
    });
  } catch (err) {
    await engine.stop();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host}:${port}`;
  log.info({ url, dataDir: opts.dataDir }, 'scheduler emulator listening');

  let closed: Promise<void> | undefined;
  return {
    url,
    port,
    fired: () => engine.fired(),
    health: () => engine.health(),
    close() {
      closed ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        });
        await engine.stop();
      })();
      return closed;
    },
  };
}
