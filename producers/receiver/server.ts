import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { ConfigError } from '../../platform/config.js';

/**
 * The HTTP server around the receiver app: where it listens and how long a client may take to send a
 * request. Node's defaults let a client hold a request open for 300 s (requestTimeout) and check only
 * every 30 s; a handful of slow clients would then hold every socket.
 */

export interface ServerSettings {
  /** Interface to listen on. Default 127.0.0.1 (the container sets HOST=0.0.0.0: Dockerfile). */
  HOST: string;
  /** Port. Default 8080 (the receiver's PORT). */
  PORT: number;
  /**
   * Time a client has to send a whole request, headers and body, in ms. Default 10,000. Past it the
   * server answers 408 (when no answer started) and closes the connection.
   */
  REQUEST_TIMEOUT_MS: number;
}

const ServerSettingsSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(10_000),
});

/** HOST, PORT, REQUEST_TIMEOUT_MS from the environment (empty = default); ConfigError names a bad one. */
export function loadServerSettings(env: NodeJS.ProcessEnv = process.env): ServerSettings {
  const cleaned = Object.fromEntries(
    ['HOST', 'PORT', 'REQUEST_TIMEOUT_MS'].flatMap((k) => (env[k] ? [[k, env[k]]] : [])),
  );
  const parsed = ServerSettingsSchema.safeParse(cleaned);
  if (!parsed.success)
    throw new ConfigError(parsed.error.issues.map((i) => ({ name: String(i.path[0]), message: i.message })));
  return parsed.data;
}

/** The node:http options that enforce REQUEST_TIMEOUT_MS. */
export function timeoutOptions(requestTimeoutMs: number) {
  return {
    requestTimeout: requestTimeoutMs,
    // Headers are part of the request: the same bound (Node requires headersTimeout <= requestTimeout).
    headersTimeout: requestTimeoutMs,
    // How often Node checks the two timeouts (its default, 30 s, would let a request run 40 s).
    connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(requestTimeoutMs / 4))),
  };
}

/**
 * Serves `fetch` (the hono app's) on settings.HOST:PORT with the request timeouts. Resolves once
 * listening, with the server and the bound address (PORT 0: a free port).
 */
export function serveReceiver(
  fetch: (req: Request) => Response | Promise<Response>,
  settings: ServerSettings,
): Promise<{ server: ServerType; address: AddressInfo }> {
  return new Promise((resolve, reject) => {
    const server = serve(
      {
        fetch,
        port: settings.PORT,
        hostname: settings.HOST,
        serverOptions: timeoutOptions(settings.REQUEST_TIMEOUT_MS),
      },
      (info) => resolve({ server, address: info }),
    );
    server.once('error', reject);
  });
}
