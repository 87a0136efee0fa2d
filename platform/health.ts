import http from 'node:http';

/**
 * A tiny health endpoint for the stream processors (they serve no other HTTP): `GET /healthz` answers
 * 200 with a JSON status while `healthy()` holds, else 503. Used by `make up` and by container health checks.
 */
export function startHealthServer(
  port: number,
  status: () => { healthy: boolean; [k: string]: unknown },
): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.url !== '/healthz') {
      res.writeHead(404).end();
      return;
    }
    const s = status();
    res.writeHead(s.healthy ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(s));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
