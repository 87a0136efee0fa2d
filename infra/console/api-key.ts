/**
 * `make api-key`: API keys of the incident API (/api/v1) for machines, in CONSOLE_AUTH_TABLE.
 *
 *   make api-key NAME=ci-bot TEAMS=app,db ACTIONS=read,acknowledge   creates one; prints the key once
 *   make api-key LIST=1                                               lists them (id, name, teams, actions, state)
 *   make api-key REVOKE=<key id>                                      revokes one (the API refuses it at once)
 *
 * TEAMS: team ids of the on-call file, or `*` for every team. ACTIONS: read, acknowledge, resolve, note, escalate,
 * reassign, snooze (default
 * read). The key is
 * shown once and never stored: the table keeps its SHA-256 (producers/receiver/auth/api-keys.ts).
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../../platform/config.js';
import { dynamoClient } from '../../platform/aws.js';
import { loadOnCallConfig } from '../../schemas/oncall/config.js';
import { ApiKeys } from '../../producers/receiver/auth/api-keys.js';
import { ApiKeyAction, type ApiKeyEntry } from '../../producers/receiver/auth/store.js';

export interface ApiKeyCommand {
  create?: { name: string; teams: string[]; actions: ApiKeyAction[] };
  revoke?: string;
  list?: true;
}

const list = (s: string | undefined) =>
  (s ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);

/** The command from the arguments; throws an Error whose message says what is wrong. */
export function apiKeyCommand(argv: string[], teamsKnown: string[]): ApiKeyCommand {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string' },
      teams: { type: 'string' },
      actions: { type: 'string' },
      revoke: { type: 'string' },
      list: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.list) return { list: true };
  if (values.revoke) {
    if (!/^[0-9a-f]{16}$/.test(values.revoke)) throw new Error('REVOKE must be a key id (16 hex digits, from LIST=1)');
    return { revoke: values.revoke };
  }
  const name = values.name?.trim();
  if (!name || !/^[\w.@ -]{1,64}$/.test(name)) throw new Error('NAME is required (1-64 letters, digits, ._@- )');
  const teams = list(values.teams);
  if (teams.length === 0) throw new Error('TEAMS is required: team ids of the on-call file, or *');
  const unknown = teams.filter((t) => t !== '*' && !teamsKnown.includes(t));
  if (unknown.length) throw new Error(`unknown team(s): ${unknown.join(', ')} (known: ${teamsKnown.join(', ')})`);
  const actions = list(values.actions ?? 'read').map((a) => {
    const parsed = ApiKeyAction.safeParse(a);
    if (!parsed.success) throw new Error(`unknown action "${a}" (known: ${ApiKeyAction.options.join(', ')})`);
    return parsed.data;
  });
  return { create: { name, teams, actions } };
}

const line = (e: ApiKeyEntry) =>
  `${e.keyId}  ${e.name}  teams=${e.teams.join(',')}  actions=${e.actions.join(',')}  ` +
  `created=${new Date(e.createdAt).toISOString()}` +
  (e.revokedAt ? `  REVOKED ${new Date(e.revokedAt).toISOString()}` : '');

/** Runs the command; returns the lines to print. */
export async function runApiKey(cmd: ApiKeyCommand, keys: ApiKeys, now: number): Promise<string[]> {
  if (cmd.list) {
    const all = await keys.listApiKeys();
    return all.length ? all.map(line) : ['no API keys'];
  }
  if (cmd.revoke) {
    return (await keys.revokeApiKey(cmd.revoke, now))
      ? [`revoked ${cmd.revoke}`]
      : [`no active key ${cmd.revoke} (unknown, or revoked already)`];
  }
  const { key, entry } = await keys.createApiKey(cmd.create!, now);
  return [
    line(entry),
    '',
    `  ${key}`,
    '',
    'Shown once, not stored (the table keeps its SHA-256). Send it as: Authorization: Bearer <key>',
  ];
}

async function main(): Promise<void> {
  const config = loadConfig();
  const oncall = loadOnCallConfig(process.env.ONCALL_FILE || 'infra/local/oncall/demo.json');
  const cmd = apiKeyCommand(process.argv.slice(2), Object.keys(oncall.teams));
  const dynamodb = dynamoClient(config);
  try {
    const out = await runApiKey(cmd, new ApiKeys({ dynamodb, table: config.CONSOLE_AUTH_TABLE }), Date.now());
    for (const l of out) console.log(l);
  } finally {
    dynamodb.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(`api-key: ${(err as Error).message}`);
    process.exit(1);
  });
}
