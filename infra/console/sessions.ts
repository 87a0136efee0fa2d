/**
 * `make sessions`: a person's console sessions, in CONSOLE_AUTH_TABLE.
 *
 *   make sessions PERSON=alice             lists them (issued, expires; the key names a session without being it)
 *   make sessions PERSON=alice REVOKE=1    ends them all: every receiver task refuses their cookies within
 *                                          CONSOLE_SESSION_CHECK_MS (default 5 s)
 *
 * PERSON: a person id of the on-call file (ONCALL_FILE). Signing out ends one session (POST /console/sign-out); this
 * is for a lost phone, a person who left, or a cookie that was copied (producers/receiver/auth/sessions-admin.ts).
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../../platform/config.js';
import { dynamoClient } from '../../platform/aws.js';
import { loadOnCallConfig } from '../../schemas/oncall/config.js';
import { SessionsAdmin, type SessionEntry } from '../../producers/receiver/auth/sessions-admin.js';

export interface SessionsCommand {
  person: string;
  revoke: boolean;
}

/** The command from the arguments; throws an Error whose message says what is wrong. */
export function sessionsCommand(argv: string[], peopleKnown: string[]): SessionsCommand {
  const { values } = parseArgs({
    args: argv,
    options: { person: { type: 'string' }, revoke: { type: 'boolean' } },
    strict: true,
  });
  const person = values.person?.trim();
  if (!person) throw new Error('PERSON is required: a person id of the on-call file');
  if (!peopleKnown.includes(person)) throw new Error(`unknown person "${person}" (known: ${peopleKnown.join(', ')})`);
  return { person, revoke: values.revoke === true };
}

const iso = (ms: number) => new Date(ms).toISOString();
const line = (s: SessionEntry, now: number) => {
  const id = s.key.slice('session#'.length, 'session#'.length + 12);
  return `${id}…  issued=${iso(s.issuedAt)}  expires=${iso(s.expiresAt)}${s.expiresAt <= now ? '  (expired)' : ''}`;
};

/** Runs the command; returns the lines to print. */
export async function runSessions(cmd: SessionsCommand, admin: SessionsAdmin, now: number): Promise<string[]> {
  if (cmd.revoke) {
    const ended = await admin.revokeAll(cmd.person);
    return [
      `ended ${ended.length} session(s) of ${cmd.person}: refused by every receiver within CONSOLE_SESSION_CHECK_MS`,
    ];
  }
  const all = await admin.sessionsOf(cmd.person);
  return all.length ? all.map((s) => line(s, now)) : [`no session of ${cmd.person}`];
}

async function main(): Promise<void> {
  const config = loadConfig();
  const oncall = loadOnCallConfig(process.env.ONCALL_FILE || 'infra/local/oncall/demo.json');
  const cmd = sessionsCommand(process.argv.slice(2), Object.keys(oncall.people));
  const dynamodb = dynamoClient(config);
  try {
    const out = await runSessions(cmd, new SessionsAdmin({ dynamodb, table: config.CONSOLE_AUTH_TABLE }), Date.now());
    for (const l of out) console.log(l);
  } finally {
    dynamodb.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(`sessions: ${(err as Error).message}`);
    process.exit(1);
  });
}
