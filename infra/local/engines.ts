/**
 * The local AWS engines. Every starter resolves once its engine serves and returns the same handle:
 *
 *   { endpoint: 'http://127.0.0.1:PORT', port, close(): Promise<void> }
 *
 * kinesalite 3.3.3 (Kinesis), dynalite 4.0.0 (DynamoDB) and s3rver 3.7.1 (S3) run in this process (tests,
 * `engine-main.ts`), all through `serve`: listen, then prove the engine serves. What differs per engine:
 * - kinesalite and dynalite: a row of LEVEL_ENGINES (package, settings, the call that proves it serves);
 *   in memory, or LevelDB under `path`.
 * - s3rver: files under `directory`, plus a middleware for conditional writes (`If-None-Match: *` /
 *   `If-Match` on PutObject and CompleteMultipartUpload), which s3rver ignores and AWS S3 honours, and one
 *   that pages ListObjectsV2 past 1,000 keys (s3rver builds its continuation tokens with DES, which Node
 *   20's OpenSSL 3 refuses: a 500 on any truncated page).
 * kinesis-local 0.6.2 (kinesis-mock, the engine LocalStack ships) is a child process, plain HTTP;
 * `kinesisLocalCommand` is how it runs, here and under `make up` (KINESIS_ENGINE=kinesis-local).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';
import { httpAnswers, stopPid, waitReady } from './supervisor.js';

const require = createRequire(import.meta.url);

export const LOCALHOST = '127.0.0.1';

export interface RunningEngine {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// the in-process path

/** A port that was free a moment ago (bind port 0, read it, close). */
export async function freePort(host = LOCALHOST): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function listen(server: http.Server, port: number, host: string, name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(`${name}: port ${port} on ${host} is already in use`)
          : new Error(`${name}: cannot listen on ${host}:${port}: ${err.message}`),
      );
    };
    const onListening = () => {
      server.off('error', onError);
      resolve((server.address() as net.AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/**
 * Closes a server whose `close(cb)` may have been wrapped by the engine (kinesalite/dynalite close
 * their LevelDB first). Idle keep-alive sockets are closed at once; sockets still busy after
 * `graceMs` are destroyed so a forgotten client cannot hold the close forever.
 */
function closeServer(server: http.Server, graceMs = 3000): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    timer.unref();
    server.close((err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err && (err as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING') reject(err);
      else resolve();
    });
    server.closeIdleConnections();
  });
}

function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

/** One AWS JSON API call: its X-Amz-Target and content type. */
interface JsonApiCall {
  target: string;
  contentType: string;
}

/** `call` with an empty body against the engine on `port`; resolves on 200. */
function probeJsonApi(port: number, call: JsonApiCall, timeoutMs = 15_000): Promise<void> {
  const { target, contentType } = call;
  return new Promise((resolve, reject) => {
    const body = '{}';
    const req = http.request(
      {
        host: LOCALHOST,
        port,
        method: 'POST',
        path: '/',
        agent: false,
        timeout: timeoutMs,
        headers: {
          'Content-Type': contentType,
          'Content-Length': Buffer.byteLength(body),
          'X-Amz-Target': target,
          'X-Amz-Date': '20260101T000000Z',
          Authorization:
            'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/local/aws4_request, ' +
            'SignedHeaders=host;x-amz-date, Signature=00',
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve()
            : reject(new Error(`${target} answered ${res.statusCode}: ${text.slice(0, 300)}`)),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${target} did not answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Every in-process engine: `server` listens on `opts.port` (0 or none: a free one), then `ready`, when
 * given, proves it serves (an engine that listens but does not serve is closed again). `afterClose` runs
 * once the server has closed.
 */
async function serve(
  name: string,
  server: http.Server,
  opts: { port?: number; host?: string },
  extra: { ready?: JsonApiCall; afterClose?: () => void } = {},
): Promise<RunningEngine> {
  const port = await listen(server, opts.port ?? 0, opts.host ?? LOCALHOST, name);
  const engine: RunningEngine = {
    endpoint: `http://${LOCALHOST}:${port}`,
    port,
    close: once(async () => {
      await closeServer(server);
      extra.afterClose?.();
    }),
  };
  if (!extra.ready) return engine;
  try {
    await probeJsonApi(port, extra.ready);
  } catch (err) {
    await engine.close().catch(() => undefined);
    throw new Error(`${name} on port ${port} started but does not serve: ${(err as Error).message}`, { cause: err });
  }
  return engine;
}

// ---------------------------------------------------------------------------------------------
// kinesalite and dynalite

/**
 * kinesalite and dynalite are the same kind of engine: `require(<package>)(options)` is an http.Server
 * over LevelDB under `options.path` (in memory without one). They differ in their settings and in the call
 * that proves they serve: they listen before their LevelDB is open, and the call also surfaces a LevelDB
 * that cannot be opened (e.g. locked by another engine on the same data directory).
 */
const LEVEL_ENGINES = {
  kinesalite: {
    ready: { target: 'Kinesis_20131202.ListStreams', contentType: 'application/x-amz-json-1.1' },
    defaults: {
      /** Time a stream stays CREATING / DELETING / UPDATING (ms). */
      createStreamMs: 0,
      deleteStreamMs: 0,
      updateStreamMs: 0,
      /** Max shards per account (kinesalite's default is 10). */
      shardLimit: 100,
    },
  },
  dynalite: {
    ready: { target: 'DynamoDB_20120810.ListTables', contentType: 'application/x-amz-json-1.0' },
    defaults: {
      /** Time a table stays CREATING / DELETING / UPDATING (ms). */
      createTableMs: 0,
      deleteTableMs: 0,
      updateTableMs: 0,
    },
  },
};
type LevelEngine = keyof typeof LEVEL_ENGINES;

/** Where the engine listens, its LevelDB and its settings (default: LEVEL_ENGINES). */
export type LevelEngineOptions<E extends LevelEngine> = {
  port?: number;
  host?: string;
  /** LevelDB directory (created if missing); in memory when omitted. */
  path?: string;
} & Partial<(typeof LEVEL_ENGINES)[E]['defaults']>;
export type KinesaliteOptions = LevelEngineOptions<'kinesalite'>;
export type DynaliteOptions = LevelEngineOptions<'dynalite'>;

async function startLevelEngine<E extends LevelEngine>(name: E, opts: LevelEngineOptions<E>): Promise<RunningEngine> {
  const { port, host, path: dir, ...settings } = opts;
  if (dir) {
    const abs = path.resolve(dir);
    if (fs.existsSync(abs) && !fs.statSync(abs).isDirectory()) {
      throw new Error(`${name}: data path ${abs} exists and is not a directory`);
    }
    fs.mkdirSync(path.dirname(abs), { recursive: true });
  }
  const given = Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
  const createServer = require(name) as (options: Record<string, unknown>) => http.Server;
  const server = createServer({ ...LEVEL_ENGINES[name].defaults, ...given, path: dir });
  return serve(name, server, { port, host }, { ready: LEVEL_ENGINES[name].ready });
}

export const startKinesalite = (opts: KinesaliteOptions = {}) => startLevelEngine('kinesalite', opts);
export const startDynalite = (opts: DynaliteOptions = {}) => startLevelEngine('dynalite', opts);

// ---------------------------------------------------------------------------------------------
// s3rver

export interface S3rverOptions {
  port?: number;
  host?: string;
  /** Where buckets and objects live (created if missing). */
  directory: string;
  /** Log every request (winston, to stdout). Default false. */
  verbose?: boolean;
}

/** The parts of s3rver (a Koa app) this module touches. */
interface S3rverApp {
  middleware: KoaMiddleware[];
  store: S3rverStore;
  callback(): http.RequestListener;
  logger?: { exceptions?: { unhandle(): void }; close?(): void };
}
interface S3rverStore {
  existsObject(bucket: string, key: string): Promise<boolean>;
  getMetadata(bucket: string, key: string): Promise<{ etag: string }>;
  listObjects(bucket: string, options: Record<string, unknown>): Promise<S3rverListing>;
  getResourcePath(bucket: string, key: string, resource: string): string;
  putObject(object: { bucket: string; key: string }): Promise<unknown>;
  copyObject(
    srcBucket: string,
    srcKey: string,
    destBucket: string,
    destKey: string,
    ...rest: unknown[]
  ): Promise<unknown>;
}
interface S3rverListing {
  objects: { key: string }[];
  commonPrefixes: string[];
  isTruncated: boolean;
}
interface KoaContext {
  method: string;
  path: string;
  query: Record<string, unknown>;
  get(header: string): string;
  store: S3rverStore;
  body?: unknown;
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<unknown>) => Promise<unknown>;
type S3ErrorCtor = new (code: string, message: string, detail?: Record<string, string>) => Error;

/**
 * The write this request makes, when it is one S3 lets you make conditional: PutObject (PUT on a key
 * with no sub-resource; the SDK adds `?x-id=PutObject`) or CompleteMultipartUpload (POST ?uploadId).
 */
function conditionalWriteTarget(ctx: KoaContext): { bucket: string; key: string } | undefined {
  const m = /^\/([^/]+)\/(.+)$/.exec(ctx.path);
  if (!m) return undefined;
  const query = Object.keys(ctx.query);
  const isPut = ctx.method === 'PUT' && query.every((q) => q === 'x-id');
  const isComplete = ctx.method === 'POST' && query.includes('uploadId');
  if (!isPut && !isComplete) return undefined;
  try {
    return { bucket: decodeURIComponent(m[1]), key: decodeURIComponent(m[2]) };
  } catch {
    return undefined;
  }
}

/**
 * AWS S3 conditional writes: `If-None-Match: *` fails with 412 PreconditionFailed when the key
 * exists; `If-Match: <etag>` fails with 412 when the ETag differs and 404 NoSuchKey when the key is
 * missing. Conditional writes to one key are serialized here (check + write under a per-key lock),
 * so of two concurrent `If-None-Match: *` PUTs exactly one wins, as on AWS.
 */
export function conditionalWriteMiddleware(S3Error: S3ErrorCtor): KoaMiddleware {
  const locks = new Map<string, Promise<unknown>>();
  return async (ctx, next) => {
    const ifNoneMatch = ctx.get('if-none-match').trim();
    const ifMatch = ctx.get('if-match').trim();
    if (!ifNoneMatch && !ifMatch) return next();
    const target = conditionalWriteTarget(ctx);
    if (!target) return next();
    const { bucket, key } = target;

    const lockKey = `${bucket}\0${key}`;
    const previous = locks.get(lockKey) ?? Promise.resolve();
    const run = previous
      .catch(() => undefined)
      .then(async () => {
        if (ifNoneMatch) {
          if (ifNoneMatch !== '*') {
            throw new S3Error('NotImplemented', 'A header you provided implies functionality that is not implemented', {
              Header: 'If-None-Match',
            });
          }
          if (await ctx.store.existsObject(bucket, key)) {
            throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
              Condition: 'If-None-Match',
            });
          }
        }
        if (ifMatch) {
          if (!(await ctx.store.existsObject(bucket, key))) {
            throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: key });
          }
          const { etag } = await ctx.store.getMetadata(bucket, key);
          const want = ifMatch.split(',').map((s) => s.trim().replace(/^W\//, ''));
          if (!want.includes('*') && !want.includes(etag) && !want.includes(etag.replace(/"/g, ''))) {
            throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
              Condition: 'If-Match',
            });
          }
        }
        await next();
      });
    locks.set(lockKey, run);
    try {
      await run;
    } finally {
      if (locks.get(lockKey) === run) locks.delete(lockKey);
    }
  };
}

const LIST_TOKEN_PREFIX = 'pagetrail-local/v1/';

/** The continuation token this stack hands out: opaque to clients, `start-after` in disguise. */
export function encodeListToken(bucket: string, startAfter: string): string {
  return Buffer.from(`${LIST_TOKEN_PREFIX}${bucket}/${startAfter}`, 'utf8').toString('base64url');
}

/** The key a token says to start after, or undefined when it is not a token of this stack for `bucket`. */
export function decodeListToken(bucket: string, token: string): string | undefined {
  const text = Buffer.from(token, 'base64url').toString('utf8');
  const head = `${LIST_TOKEN_PREFIX}${bucket}/`;
  return text.startsWith(head) && text.length > head.length ? text.slice(head.length) : undefined;
}

/**
 * ListObjectsV2 past 1,000 keys. s3rver builds (and reads) its continuation tokens with DES, which
 * OpenSSL 3 refuses, so every truncated page (and every page after it) answered 500. Here, for
 * `GET /bucket?list-type=2`: a continuation token of ours becomes `start-after`; s3rver's listing
 * runs with its store told to report "not truncated" (so it never builds a DES token); then the
 * answer gets the real `IsTruncated`, our `NextContinuationToken` (after the page's last key) and the
 * token it was asked for. Authentication, bucket checks, `max-keys` and the XML stay s3rver's.
 */
export function listObjectsV2Middleware(S3Error: S3ErrorCtor): KoaMiddleware {
  return async (ctx, next) => {
    const m = /^\/([^/]+)\/?$/.exec(ctx.path);
    if (ctx.method !== 'GET' || !m || ctx.query['list-type'] !== '2') return next();
    const bucket = decodeURIComponent(m[1]);
    const query = { ...ctx.query };
    const token = typeof query['continuation-token'] === 'string' ? query['continuation-token'] : undefined;
    if (token) {
      const startAfter = decodeListToken(bucket, token);
      if (startAfter === undefined) {
        throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', {
          ArgumentName: 'continuation-token',
        });
      }
      delete query['continuation-token'];
      query['start-after'] = startAfter;
      ctx.query = query;
    }
    const store = ctx.store;
    let truncated = false;
    ctx.store = Object.create(store, {
      listObjects: {
        value: async (b: string, options: Record<string, unknown>) => {
          const result = await store.listObjects(b, options);
          truncated = result.isTruncated;
          return { ...result, isTruncated: false };
        },
      },
    }) as S3rverStore;
    try {
      await next();
    } finally {
      ctx.store = store;
    }
    const result = (ctx.body as { ListBucketResult?: Record<string, unknown> } | undefined)?.ListBucketResult;
    if (!result) return;
    const contents = (result.Contents as { Key: string }[] | undefined) ?? [];
    if (token) {
      result.ContinuationToken = token;
      result.StartAfter = undefined;
    }
    if (truncated && contents.length > 0) {
      result.IsTruncated = true;
      result.NextContinuationToken = encodeListToken(bucket, contents[contents.length - 1].Key);
    }
  };
}

let anyAccessKey = false;
/**
 * s3rver knows one access key (S3RVER/S3RVER) and answers 403 InvalidAccessKeyId to any other,
 * e.g. the `local` key of .env.example. It does not verify SigV4 signatures anyway, so map every
 * unknown key to its dummy account: like kinesalite and dynalite, any credentials then work.
 */
function acceptAnyAccessKey() {
  if (anyAccessKey) return;
  anyAccessKey = true;
  const AWSAccount = require('s3rver/lib/models/account') as {
    registry: Map<string, unknown>;
    DUMMY_ACCOUNT: unknown;
  };
  const registry = AWSAccount.registry;
  const get = registry.get.bind(registry);
  registry.get = (accessKeyId: string) => get(accessKeyId) ?? AWSAccount.DUMMY_ACCOUNT;
}

/**
 * S3 stamps an object's LastModified with its own clock at the write; s3rver reads it from the file's
 * mtime, which the kernel sets. The two agree until the process clock is moved (CI runs the suite again
 * under `faketime`, which Node's statx-based file calls bypass): then every LastModified would be a year
 * behind the engine's "now". Each write (PUT, multipart completion, copy) sets the file's mtime from this
 * process's clock, as S3 would.
 */
function stampWritesWithProcessClock(store: S3rverStore): void {
  const objectFile = (bucket: string, key: string) => store.getResourcePath(bucket, key, 'object');
  const stamp = async (file: string) => {
    const now = new Date();
    await fs.promises.utimes(file, now, now);
  };
  const putObject = store.putObject.bind(store);
  store.putObject = async (object) => {
    const result = await putObject(object);
    await stamp(objectFile(object.bucket, object.key));
    return result;
  };
  const copyObject = store.copyObject.bind(store);
  store.copyObject = async (srcBucket, srcKey, destBucket, destKey, ...rest) => {
    const result = await copyObject(srcBucket, srcKey, destBucket, destKey, ...rest);
    await stamp(objectFile(destBucket, destKey));
    return result;
  };
}

export async function startS3rver(opts: S3rverOptions): Promise<RunningEngine> {
  if (!opts.directory) throw new Error('startS3rver: `directory` is required');
  fs.mkdirSync(opts.directory, { recursive: true });
  const S3rver = require('s3rver') as new (options: Record<string, unknown>) => S3rverApp;
  const S3Error = require('s3rver/lib/models/error') as S3ErrorCtor;
  acceptAnyAccessKey();
  const app = new S3rver({
    directory: opts.directory,
    silent: !opts.verbose,
    // path-style only: with vhostBuckets a Host like `my-machine` would be read as a bucket name
    vhostBuckets: false,
    resetOnClose: false,
  });
  // s3rver's own stack ends with its router; the conditional check goes right before it (after the
  // vhost rewrite, so ctx.path is `/bucket/key`).
  app.middleware.splice(
    app.middleware.length - 1,
    0,
    conditionalWriteMiddleware(S3Error),
    listObjectsV2Middleware(S3Error),
  );
  stampWritesWithProcessClock(app.store);

  // Served by our own http.Server (s3rver.run() binds `localhost`, which may resolve to ::1).
  return serve('s3rver', http.createServer(app.callback()), opts, {
    afterClose: () => {
      app.logger?.exceptions?.unhandle();
      app.logger?.close?.();
    },
  });
}

// ---------------------------------------------------------------------------------------------
// kinesis-local (child process)

export interface KinesisLocalOptions {
  /** Plain-HTTP port; a free one when omitted or 0. */
  port?: number;
  /** TLS port (kinesis-local always opens one); a free one when omitted or 0. */
  tlsPort?: number;
}

/** Answers 200 once kinesis-local serves. */
export const KINESIS_LOCAL_HEALTH = '/healthcheck';

/**
 * How kinesis-local runs: `node <package>/main.js` with the environment it needs, every state-transition
 * delay made small; streams persist under `persistPath` when given, else in memory.
 */
export function kinesisLocalCommand(opts: { port: number; tlsPort: number; persistPath?: string }): {
  command: string;
  args: string[];
  env: Record<string, string>;
} {
  const dir = path.dirname(require.resolve('kinesis-local/package.json'));
  const fast = '10ms';
  const env: Record<string, string> = {
    KINESIS_MOCK_CERT_PATH: path.join(dir, 'server.json'),
    KINESIS_MOCK_PLAIN_PORT: String(opts.port),
    KINESIS_MOCK_TLS_PORT: String(opts.tlsPort),
    CREATE_STREAM_DURATION: fast,
    DELETE_STREAM_DURATION: fast,
    REGISTER_STREAM_CONSUMER_DURATION: fast,
    DEREGISTER_STREAM_CONSUMER_DURATION: fast,
    START_STREAM_ENCRYPTION_DURATION: fast,
    STOP_STREAM_ENCRYPTION_DURATION: fast,
    MERGE_SHARDS_DURATION: fast,
    SPLIT_SHARD_DURATION: fast,
    UPDATE_SHARD_COUNT_DURATION: fast,
    UPDATE_STREAM_MODE_DURATION: fast,
    SHARD_LIMIT: '200',
    // kinesis-mock's levels, not our LOG_LEVEL (pino names); WARN logs a stack trace per 4xx
    LOG_LEVEL: 'ERROR',
    ROOT_LOG_LEVEL: 'ERROR',
  };
  if (opts.persistPath) {
    env.SHOULD_PERSIST_DATA = 'true';
    env.LOAD_DATA_IF_EXISTS = 'true';
    env.PERSIST_PATH = path.resolve(opts.persistPath);
    env.PERSIST_INTERVAL = '1s';
  }
  return { command: process.execPath, args: [path.join(dir, 'main.js')], env };
}

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function killChildrenOnExit(child: ChildProcess) {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of liveChildren) c.kill('SIGKILL');
  });
}

/** kinesis-local as a child of this process, in memory; its last 40 lines of output go into a failure's message. */
export async function startKinesisLocal(opts: KinesisLocalOptions = {}): Promise<RunningEngine> {
  const port = opts.port || (await freePort());
  let tlsPort = opts.tlsPort || (await freePort());
  while (tlsPort === port) tlsPort = await freePort();
  const run = kinesisLocalCommand({ port, tlsPort });
  const child = spawn(run.command, run.args, {
    env: { ...process.env, ...run.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  const keep = (chunk: Buffer) => {
    tail.push(...chunk.toString().split('\n').filter(Boolean));
    if (tail.length > 40) tail.splice(0, tail.length - 40);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  killChildrenOnExit(child);
  // kinesis-local can hang on SIGTERM: SIGKILL after the grace
  const stop = async (graceMs: number) => {
    if (child.pid !== undefined) await stopPid(child.pid, graceMs);
  };

  const endpoint = `http://${LOCALHOST}:${port}`;
  const timeoutMs = 30_000;
  let exitInfo: string | undefined;
  child.once('exit', (code, signal) => (exitInfo = `exited with ${signal ?? `code ${code}`}`));
  child.once('error', (err) => (exitInfo = `failed to start: ${err.message}`));
  const health = () => httpAnswers(`${endpoint}${KINESIS_LOCAL_HEALTH}`, { status: 200, timeoutMs: 500 });
  const result = await waitReady(health, () => exitInfo, timeoutMs, 100);
  if (result === 'ready') return { endpoint, port, close: once(() => stop(2000)) };
  await stop(500);
  const why =
    result === 'timeout' ? `did not answer ${endpoint}${KINESIS_LOCAL_HEALTH} within ${timeoutMs} ms` : result.gone;
  throw new Error(`kinesis-local on port ${port} ${why}; ${tail.length ? `output:\n${tail.join('\n')}` : 'no output'}`);
}
