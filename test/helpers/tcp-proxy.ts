/**
 * A TCP proxy for outage tests: clients connect to `url`, bytes are piped to the target. close()
 * stops listening and cuts every open connection (the client sees ECONNRESET, then ECONNREFUSED);
 * open() listens again on the same port, so the same client recovers without being rebuilt.
 *
 *   const proxy = await startTcpProxy(new URL(engine.endpoint));
 *   const client = new KinesisClient({ endpoint: proxy.url, ... });
 *   await proxy.close(); … await proxy.open();
 */
import net from 'node:net';

export interface TcpProxy {
  port: number;
  /** http://127.0.0.1:<port> */
  url: string;
  /** Connections accepted so far. */
  readonly connections: number;
  readonly isOpen: boolean;
  /** Stop accepting and destroy every open connection (both sides). */
  close(): Promise<void>;
  /** Listen again on the same port. */
  open(): Promise<void>;
}

export async function startTcpProxy(target: { hostname: string; port: string | number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  let server: net.Server | undefined;
  let port = 0;

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = net.createServer((client) => {
        connections++;
        const upstream = net.connect({ host: target.hostname, port: Number(target.port) });
        sockets.add(client);
        sockets.add(upstream);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
        client.pipe(upstream);
        upstream.pipe(client);
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as net.AddressInfo).port;
        server = s;
        resolve();
      });
    });

  await listen();
  return {
    get port() {
      return port;
    },
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get connections() {
      return connections;
    },
    get isOpen() {
      return server !== undefined;
    },
    async close() {
      const s = server;
      server = undefined;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    async open() {
      if (!server) await listen();
    },
  };
}
