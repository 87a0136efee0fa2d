/**
 * The local AWS engines, started in this process (tests, `engine-main.ts`) or, for kinesis-local,
 * as a child process. Every starter resolves once the engine answers and returns the same handle:
 *
 *   { endpoint: 'http://127.0.0.1:PORT', port, close(): Promise<void> }
 *
 * - kinesalite 3.3.3 (Kinesis): in memory, or LevelDB under `path`.
 * - dynalite 4.0.0 (DynamoDB): in memory, or LevelDB under `path`.
 * - s3rver 3.7.1 (S3): files under `directory`, plus a middleware for conditional writes
 *   (`If-None-Match: *` / `If-Match` on PutObject and CompleteMultipartUpload), which s3rver ignores
 *   and AWS S3 honours, and one that pages ListObjectsV2 past 1,000 keys (s3rver builds its
 *   continuation tokens with DES, which Node 20's OpenSSL 3 refuses: a 500 on any truncated page).
 * - kinesis-local 0.6.2 (kinesis-mock, the engine LocalStack ships): a child process, plain HTTP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const LOCALHOST = '127.0.0.1';

export interface RunningEngine {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

export type EngineKind = 'kinesis' | 's3' | 'dynamodb';

// ---------------------------------------------------------------------------------------------
// helpers

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

function handle(server: http.Server, port: number, close?: () => Promise<void>): RunningEngine {
  return {
    endpoint: `http://${LOCALHOST}:${port}`,
    port,
    close: once(close ?? (() => closeServer(server))),
  };
}

// ---------------------------------------------------------------------------------------------
// kinesalite

export interface KinesaliteOptions {
  port?: number;
  host?: string;
  /** LevelDB directory (created if missing); in memory when omitted. */
  path?: string;
  /** Time a stream stays CREATING / DELETING / UPDATING (ms). Default 0 / 0 / 0. */
  createStreamMs?: number;
  deleteStreamMs?: number;
  updateStreamMs?: number;
  /** Max shards per account (kinesalite's default is 10). Default 100. */
  shardLimit?: number;
}

type LevelEngineFactory = (options: Record<string, unknown>) => http.Server;

function checkDataDir(name: string, dir: string | undefined) {
  if (!dir) return;
  const abs = path.resolve(dir);
  if (fs.existsSync(abs) && !fs.statSync(abs).isDirectory()) {
    throw new Error(`${name}: data path ${abs} exists and is not a directory`);
  }
  fs.mkdirSync(path.dirname(abs), { recursive: true });
}

/**
 * One cheap JSON API call against the engine just started. kinesalite and dynalite listen before
 * their LevelDB is open; this makes "started" mean "serves requests" (and surfaces a LevelDB that
 * cannot be opened, e.g. locked by another engine on the same data directory).
 */
function probeJsonApi(port: number, target: string, contentType: string, timeoutMs = 15_000): Promise<void> {
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

async function startLevelEngine(
  name: string,
  server: http.Server,
  opts: { port?: number; host?: string },
  probe: { target: string; contentType: string },
): Promise<RunningEngine> {
  const port = await listen(server, opts.port ?? 0, opts.host ?? LOCALHOST, name);
  const engine = handle(server, port);
  try {
    await probeJsonApi(port, probe.target, probe.contentType);
  } catch (err) {
    await engine.close().catch(() => undefined);
    throw new Error(`${name} on port ${port} started but does not serve: ${(err as Error).message}`, { cause: err });
  }
  return engine;
}

export async function startKinesalite(opts: KinesaliteOptions = {}): Promise<RunningEngine> {
  const kinesalite = require('kinesalite') as LevelEngineFactory;
  checkDataDir('kinesalite', opts.path);
  const server = kinesalite({
    path: opts.path,
    createStreamMs: opts.createStreamMs ?? 0,
    deleteStreamMs: opts.deleteStreamMs ?? 0,
    updateStreamMs: opts.updateStreamMs ?? 0,
    shardLimit: opts.shardLimit ?? 100,
  });
  return startLevelEngine('kinesalite', server, opts, {
    target: 'Kinesis_20131202.ListStreams',
    contentType: 'application/x-amz-json-1.1',
  });
}

// ---------------------------------------------------------------------------------------------
// dynalite

export interface DynaliteOptions {
  port?: number;
  host?: string;
  /** LevelDB directory (created if missing); in memory when omitted. */
  path?: string;
  /** Time a table stays CREATING / DELETING / UPDATING (ms). Default 0 / 0 / 0. */
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}

export async function startDynalite(opts: DynaliteOptions = {}): Promise<RunningEngine> {
  const dynalite = require('dynalite') as LevelEngineFactory;
  checkDataDir('dynalite', opts.path);
  const server = dynalite({
    path: opts.path,
    createTableMs: opts.createTableMs ?? 0,
    deleteTableMs: opts.deleteTableMs ?? 0,
    updateTableMs: opts.updateTableMs ?? 0,
  });
  return startLevelEngine('dynalite', server, opts, {
    target: 'DynamoDB_20120810.ListTables',
    contentType: 'application/x-amz-json-1.0',
  });
}

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

  // Serve with our own http.Server (s3rver.run() binds `localhost`, which may resolve to ::1).
  const server = http.createServer(app.callback());
  const port = await listen(server, opts.port ?? 0, opts.host ?? LOCALHOST, 's3rver');
  return handle(server, port, async () => {
    await closeServer(server);
    app.logger?.exceptions?.unhandle();
    app.logger?.close?.();
  });
}

// ---------------------------------------------------------------------------------------------
// kinesis-local (child process)

export interface KinesisLocalOptions {
  /** Plain-HTTP port; a free one when omitted or 0. */
  port?: number;
  /** TLS port (kinesis-local always opens one); a free one when omitted or 0. */
  tlsPort?: number;
  /** Persist streams under this directory (SHOULD_PERSIST_DATA); in memory when omitted. */
  persistPath?: string;
  /** Append the child's stdout/stderr here; otherwise the last lines are kept for error messages. */
  logFile?: string;
  /** kinesis-mock LOG_LEVEL (ERROR, WARN, INFO, DEBUG, TRACE). Default ERROR (WARN logs a stack trace per 4xx). */
  logLevel?: string;
  /** Extra environment for the child (wins over everything else). */
  env?: Record<string, string>;
  /** How long to wait for `/healthcheck`. Default 30 s. */
  startTimeoutMs?: number;
}

export function kinesisLocalPackageDir(): string {
  return path.dirname(require.resolve('kinesis-local/package.json'));
}

/** Environment kinesis-local needs, with every state-transition delay made small. */
export function kinesisLocalEnv(opts: {
  port: number;
  tlsPort: number;
  persistPath?: string;
  logLevel?: string;
}): Record<string, string> {
  const fast = '10ms';
  const env: Record<string, string> = {
    KINESIS_MOCK_CERT_PATH: path.join(kinesisLocalPackageDir(), 'server.json'),
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
    // our LOG_LEVEL (pino names, lower case) is not kinesis-mock's
    LOG_LEVEL: opts.logLevel ?? 'ERROR',
    ROOT_LOG_LEVEL: 'ERROR',
  };
  if (opts.persistPath) {
    env.SHOULD_PERSIST_DATA = 'true';
    env.LOAD_DATA_IF_EXISTS = 'true';
    env.PERSIST_PATH = path.resolve(opts.persistPath);
    env.PERSIST_INTERVAL = '1s';
  }
  return env;
}

/** Resolves true when `GET url` answers with any HTTP status (or with `status` when given). */
export function httpAnswers(url: string, opts: { timeoutMs?: number; status?: number } = {}): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: opts.timeoutMs ?? 1000, agent: false }, (res) => {
      res.resume();
      resolve(opts.status === undefined || res.statusCode === opts.status);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for a child to exit: SIGTERM, then SIGKILL after `graceMs` (kinesis-local can hang on SIGTERM). */
export async function stopChild(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
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

export async function startKinesisLocal(opts: KinesisLocalOptions = {}): Promise<RunningEngine> {
  const port = opts.port || (await freePort());
  let tlsPort = opts.tlsPort || (await freePort());
  while (tlsPort === port) tlsPort = await freePort();
  const env = {
    ...process.env,
    ...kinesisLocalEnv({ port, tlsPort, persistPath: opts.persistPath, logLevel: opts.logLevel }),
    ...opts.env,
  };
  const main = path.join(kinesisLocalPackageDir(), 'main.js');

  const tail: string[] = [];
  let logFd: number | undefined;
  if (opts.logFile) {
    fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
    logFd = fs.openSync(opts.logFile, 'a');
  }
  if (opts.persistPath) fs.mkdirSync(opts.persistPath, { recursive: true });
  const child = spawn(process.execPath, [main], {
    env,
    stdio: ['ignore', logFd ?? 'pipe', logFd ?? 'pipe'],
  });
  if (logFd !== undefined) fs.closeSync(logFd);
  const keep = (chunk: Buffer) => {
    tail.push(...chunk.toString().split('\n').filter(Boolean));
    if (tail.length > 40) tail.splice(0, tail.length - 40);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  killChildrenOnExit(child);

  const endpoint = `http://${LOCALHOST}:${port}`;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
  let exitInfo: string | undefined;
  child.once('exit', (code, signal) => (exitInfo = `exited with ${signal ?? `code ${code}`}`));
  child.once('error', (err) => (exitInfo = `failed to start: ${err.message}`));
  for (;;) {
    if (exitInfo) break;
    if (await httpAnswers(`${endpoint}/healthcheck`, { status: 200, timeoutMs: 500 })) {
      child.stdout?.resume();
      child.stderr?.resume();
      return {
        endpoint,
        port,
        close: once(() => stopChild(child)),
      };
    }
    if (Date.now() > deadline) break;
    await sleep(100);
  }
  await stopChild(child, 500);
  const where = opts.logFile ? `see ${opts.logFile}` : tail.length ? `output:\n${tail.join('\n')}` : 'no output';
  throw new Error(
    `kinesis-local on port ${port} ` +
      `${exitInfo ?? `did not answer ${endpoint}/healthcheck within ${opts.startTimeoutMs ?? 30_000} ms`}; ${where}`,
  );
}
