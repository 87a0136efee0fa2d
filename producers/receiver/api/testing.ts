/**
 * Test support for the console's sign-in and the incident API: a dynalite-backed auth table, an in-memory incident
 * source holding paging states, a mailer that keeps the mails, and the receiver app with the console mounted.
 */
import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { until } from '../../../test/helpers/clock.js';
import { parseOnCallConfig, type OnCallConfig } from '../../../schemas/oncall/config.js';
import type { IncidentStateView } from '../../../shared/incident-view.js';
import { silentLogger } from '../../../platform/logger.js';
import { createApp } from '../app.js';
import { FakeAckCodes, FakeErrorSink, FakeProducer, testConfig } from '../testing.js';
import type { SignInMail, SignInMailer } from '../auth/mailer.js';
import { ApiKeys } from '../auth/api-keys.js';
import { AuthStore } from '../auth/store.js';
import { DependencyHealthCheck } from '../dependency-health.js';
import { inQuery, listOrder, type IncidentListQuery, type IncidentPage, type IncidentSource } from './incidents.js';
import type { ConsoleUiOptions } from '../console/routes.js';
import type { LakeHistory } from './lake.js';

export const SESSION_SECRET = 'test-console-session-secret-0123456789abcdef';

/**
 * Creates a console auth table (HASH pk) named `name`, and waits until it is ACTIVE (dynalite answers CreateTable
 * before: an item written at once can meet ResourceNotFoundException on a loaded machine).
 */
export async function createAuthTable(dynamodb: DynamoDBClient, name: string): Promise<void> {
  await dynamodb.send(
    new CreateTableCommand({
      TableName: name,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await until(
    `table ${name} ACTIVE`,
    async () =>
      (await dynamodb.send(new DescribeTableCommand({ TableName: name }))).Table?.TableStatus === 'ACTIVE' || undefined,
    10_000,
    10,
  );
}

/** Keeps every mail; `next()` resolves with the next one sent. */
export class MailBox implements SignInMailer {
  readonly mails: SignInMail[] = [];
  private waiting: ((m: SignInMail) => void)[] = [];
  failWith?: Error;
  async send(mail: SignInMail): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.mails.push(mail);
    for (const w of this.waiting.splice(0)) w(mail);
  }
  next(): Promise<SignInMail> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}

/** The paging states in memory, listed in the index's order with the same query semantics (api/incidents.ts). */
export class MemoryIncidents implements IncidentSource {
  constructor(readonly states: IncidentStateView[] = []) {}
  async get(id: string) {
    return this.states.find((s) => s.incidentId === id);
  }
  async list(q: IncidentListQuery): Promise<IncidentPage> {
    const all = this.states.filter((s) => inQuery(s, q)).sort(listOrder);
    const page = all.slice(0, q.limit);
    const last = page.at(-1);
    return { incidents: page, ...(all.length > q.limit && last ? { next: nextOf(last) } : {}) };
  }
}

const nextOf = (s: IncidentStateView) => ({ openedAt: s.openedAt, id: s.incidentId });

/** People and teams of the tests: alice (responder, app), bob (responder, db), vera (viewer), ada (admin). */
export const CONSOLE_ONCALL: OnCallConfig = parseOnCallConfig({
  people: {
    alice: { name: 'Alice Ng', sms: '+15551230001', email: 'alice@example.com' },
    bob: { name: 'Bob Diaz', sms: '+15551230002', email: 'bob@example.com' },
    vera: { name: 'Vera Viewer', email: 'vera@example.com', role: 'viewer' },
    ada: { name: 'Ada Admin', email: 'ada@example.com', role: 'admin' },
  },
  teams: {
    app: {
      members: ['alice'],
      escalation: {
        P1: { levels: [{ targets: ['alice'], channels: ['sms'], deadline_s: 60 }] },
        P2: { levels: [{ targets: ['schedule:app-primary'], channels: ['sms'], deadline_s: 60 }] },
      },
    },
    db: {
      members: ['bob'],
      escalation: { P1: { levels: [{ targets: ['bob'], channels: ['sms'], deadline_s: 60 }] } },
    },
  },
  schedules: {
    'app-primary': {
      time_zone: 'Europe/Berlin',
      layers: [
        {
          name: 'weekly',
          participants: ['alice', 'bob'],
          rotation: 'weekly',
          handoff: '09:00',
          handoff_day: 'monday',
          start: '2026-11-30',
        },
      ],
      overrides: [{ person: 'ada', from: '2026-12-08T18:00:00+01:00', to: '2026-12-09T09:00:00+01:00' }],
    },
  },
  default_team: 'app',
  twilio: { sms_from: '+15550000000' },
  email: { from: 'pagetrail <alerts@example.com>' },
});

/** An incident's paging state as the paging processor stores it (the fields the view reads, and pages). */
export function incidentState(
  id: string,
  opts: { team?: string; openedAt: number; ackedAt?: number; ackedBy?: string; resolvedAt?: number },
): IncidentStateView {
  return {
    incidentId: id,
    alarmArn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${id}-cpu`,
    alarmName: `${id}-cpu`,
    severity: 'P1',
    ...(opts.team ? { team: opts.team } : {}),
    openedAt: opts.openedAt,
    level: 1,
    round: 0,
    pages: {
      [`${id}#0#1#alice#sms`]: {
        person: 'alice',
        level: 1,
        round: 0,
        channel: 'sms',
        status: 'delivered',
        messageId: 'SM0123456789abcdef0123456789abcdef',
        sentAt: opts.openedAt + 1200,
        claimedAt: opts.openedAt + 900,
      },
    },
    ...(opts.ackedAt !== undefined ? { ackedAt: opts.ackedAt, ackedBy: opts.ackedBy } : {}),
    ...(opts.resolvedAt !== undefined ? { resolvedAt: opts.resolvedAt } : {}),
  };
}

export function consoleTestApp(opts: {
  /** The auth table's client (a wrapper that fails on demand: an outage). */
  dynamodb: Pick<DynamoDBClient, 'send'>;
  table: string;
  incidents?: MemoryIncidents;
  now: () => number;
  publicBaseUrl?: string;
  signInLimits?: { perEmail: number; perIp: number; windowMs: number };
  /** The console pages' options (live poll: console/routes.ts). */
  ui?: ConsoleUiOptions;
  /** The lake (api/lake.ts): history and analytics; default none (the paging state alone). */
  lake?: LakeHistory;
  lakeTimeoutMs?: number;
}) {
  const producer = new FakeProducer();
  const mailbox = new MailBox();
  const store = new AuthStore({ dynamodb: opts.dynamodb, table: opts.table });
  // the auth table's reachability on /healthz, on the test's clock (cached 5 s like the receiver's)
  const authHealth = new DependencyHealthCheck({
    name: 'console auth table',
    probe: (signal) => store.sessions.probe(signal),
    now: opts.now,
  });
  const keys = new ApiKeys({ dynamodb: opts.dynamodb, table: opts.table });
  const incidents = opts.incidents ?? new MemoryIncidents();
  const pending: Promise<unknown>[] = [];
  const app = createApp({
    config: testConfig(opts.publicBaseUrl ? { PUBLIC_BASE_URL: opts.publicBaseUrl } : {}),
    producer,
    errorSink: new FakeErrorSink(),
    ackCodes: new FakeAckCodes(),
    logger: silentLogger,
    now: opts.now,
    console: {
      sessionSecret: SESSION_SECRET,
      store,
      oncall: () => CONSOLE_ONCALL,
      mailer: mailbox,
      incidents,
      authHealth,
      ...(opts.signInLimits ? { signInLimits: opts.signInLimits } : {}),
      ...(opts.lake ? { lake: opts.lake } : {}),
      ...(opts.lakeTimeoutMs ? { lakeTimeoutMs: opts.lakeTimeoutMs } : {}),
      background: (work) => pending.push(work.catch(() => undefined)),
      ...opts.ui,
    },
  });
  /** Waits for the work the answers left behind (sign-in mails). */
  const settled = async () => {
    while (pending.length) await pending.shift();
  };
  return { app, producer, mailbox, store, keys, incidents, settled };
}
