/**
 * The local stack's ports and the settings that point at them, derived in one place (plain JavaScript: the
 * Makefile loads it with `--import` before tsx, through ports-preload.mjs, so every command and every process
 * `make up` starts sees the same values; services.ts reads the same table).
 *
 * - A port set to a non-empty value (in the environment or .env) is used as it is.
 * - Else, with PORT_BASE set, it is PORT_BASE + its offset: one line moves the whole stack.
 * - Else its default (the ports the README and the docs name).
 * - An endpoint that is not set at all is `http://127.0.0.1:<its port>`, so it follows its port; one set,
 *   even to the empty string (the real AWS endpoint or provider API), is used as it is.
 *
 * Offset 1 is kinesis-local's TLS port (KINESIS_TLS_PORT, default KINESIS_PORT + 1: services.ts).
 */

/** @typedef {{ variable: string, offset: number, default: number, endpoints: readonly string[] }} LocalPort */

/** @type {readonly LocalPort[]} */
export const LOCAL_PORTS = [
  { variable: 'KINESIS_PORT', offset: 0, default: 4567, endpoints: ['KINESIS_ENDPOINT'] },
  { variable: 'S3_PORT', offset: 2, default: 4569, endpoints: ['S3_ENDPOINT'] },
  { variable: 'DYNAMODB_PORT', offset: 3, default: 4570, endpoints: ['DYNAMODB_ENDPOINT'] },
  { variable: 'SCHEDULER_PORT', offset: 4, default: 4581, endpoints: ['SCHEDULER_ENDPOINT'] },
  { variable: 'SIMULATOR_PORT', offset: 5, default: 4580, endpoints: ['TWILIO_API_BASE_URL', 'RESEND_BASE_URL'] },
  // the receiver: PUBLIC_BASE_URL is the origin the (simulated) providers sign and call, and ack links use
  { variable: 'PORT', offset: 6, default: 8080, endpoints: ['PUBLIC_BASE_URL'] },
  { variable: 'LAKE_HEALTH_PORT', offset: 7, default: 8081, endpoints: [] },
  { variable: 'PAGING_HEALTH_PORT', offset: 8, default: 8082, endpoints: [] },
];

/** The largest offset: PORT_BASE + it must still be a port. */
export const MAX_OFFSET = Math.max(...LOCAL_PORTS.map((p) => p.offset));

/** PORT_BASE is not a number from 1 to 65535 - MAX_OFFSET. */
export class PortBaseError extends Error {
  /** @param {string} raw */
  constructor(raw) {
    super(
      `PORT_BASE=${raw}: expected an integer from 1 to ${65535 - MAX_OFFSET} ` +
        `(the local ports are PORT_BASE + 0..${MAX_OFFSET}), or empty for the default ports`,
    );
    this.name = 'PortBaseError';
  }
}

/** @param {string | undefined} v */
const given = (v) => v !== undefined && v.trim() !== '';

/**
 * PORT_BASE as a number, or undefined when it is unset or empty.
 * @param {NodeJS.ProcessEnv} env
 * @returns {number | undefined}
 */
export function portBase(env) {
  const raw = env.PORT_BASE;
  if (!given(raw)) return undefined;
  const base = Number(raw);
  if (!Number.isInteger(base) || base < 1 || base + MAX_OFFSET > 65535) throw new PortBaseError(String(raw));
  return base;
}

/**
 * The port `row` gets under `env` (its own setting, else PORT_BASE + offset, else its default); the setting's
 * own value is returned as written (services.ts checks it is a port).
 * @param {LocalPort} row
 * @param {NodeJS.ProcessEnv} env
 * @returns {string}
 */
export function localPort(row, env) {
  const own = env[row.variable];
  if (own !== undefined && given(own)) return own.trim();
  const base = portBase(env);
  return String(base === undefined ? row.default : base + row.offset);
}

/**
 * The settings `env` lacks that follow from it: every port not set, every endpoint not set. Merge the result
 * into `env` (what ports-preload.mjs does); values `env` has are never in it.
 * @param {NodeJS.ProcessEnv} env
 * @returns {Record<string, string>}
 */
export function derivedSettings(env) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const row of LOCAL_PORTS) {
    const port = localPort(row, env);
    if (!given(env[row.variable])) out[row.variable] = port;
    for (const endpoint of row.endpoints) {
      if (env[endpoint] === undefined) out[endpoint] = `http://127.0.0.1:${port}`;
    }
  }
  return out;
}

/**
 * The variables that move a port's process: its own setting and the endpoints that follow it (for hints).
 * @param {string} variable
 * @returns {readonly string[]}
 */
export function endpointsOf(variable) {
  return LOCAL_PORTS.find((p) => p.variable === variable)?.endpoints ?? [];
}
