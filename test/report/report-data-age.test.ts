import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryDuckDb } from '../../analysis/query/duckdb-engine.js';
import { LakeCache } from '../../analysis/query/lake-cache.js';
import { buildReport, incidentFile } from '../../analysis/report/build.js';
import { dataAgeLine } from '../../analysis/report/data-age.js';
import { clock } from '../../analysis/report/timeline-format.js';
import { loadOnCallConfig } from '../../schemas/oncall/config.js';
import { beforeMidnight } from '../helpers/clock.js';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { lakeOfDemoScenario } from '../lake/helpers.js';

/**
 * Every page of the report states its data's age ("lake data as of …, N s ago": the lake's newest
 * flush), and with S3 down the report is made from the local cache and says so in every header. The
 * lake is real (stream → lake handler → s3rver); "S3 down" is a client pointed at a closed port; the
 * age is taken at an injected clock, 26 s after the flush s3rver stamped.
 */
const T0 = beforeMidnight(2);
let stack: LocalStack;
let bucket: string;
let cacheDir: string;
const outDirs: string[] = [];
let flushedAt: number;
let incidents: { incident_id: string; alarm_name: string }[];

beforeAll(async () => {
  stack = await startLocalStack({ shards: 1 });
  const written = await lakeOfDemoScenario(stack, T0);
  incidents = written.incidents;
  bucket = written.lake.bucket;
  const raw = await stack.clients.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'raw/' }));
  flushedAt = Math.max(...(raw.Contents ?? []).map((o) => o.LastModified!.getTime()));
  cacheDir = await mkdtemp(path.join(os.tmpdir(), 'pagetrail-report-cache-'));
}, 90_000);
afterAll(async () => {
  await stack?.stop();
  for (const d of [cacheDir, ...outDirs]) if (d) await rm(d, { recursive: true, force: true });
});

/** The report over `s3` (through one lake cache, as `make report` reads it), its age taken 26 s after the flush. */
async function report(s3: S3Client) {
  const cache = new LakeCache(s3, bucket, cacheDir);
  const outDir = await mkdtemp(path.join(os.tmpdir(), 'pagetrail-report-age-'));
  outDirs.push(outDir);
  const result = await buildReport({
    query: (sql) => queryDuckDb(sql, { bucket, cacheDir, cache }),
    oncall: loadOnCallConfig('infra/local/oncall/demo.json'),
    from: T0 - 3600_000,
    to: T0 + 3600_000,
    outDir,
    now: () => flushedAt + 26_000,
    dataAsOf: () => dataAgeLine(cache, { now: () => flushedAt + 26_000 }),
  });
  const pages = [result.index, ...incidents.map((i) => path.join(outDir, incidentFile(i.incident_id)))];
  return { result, headers: await Promise.all(pages.map(async (p) => headerOf(await readFile(p, 'utf8')))) };
}

const headerOf = (doc: string) => /<header>([\s\S]*?)<\/header>/.exec(doc)?.[1] ?? '';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe('the report states its data age', () => {
  it('every page: the lake data as of its last flush, and how long ago', async () => {
    const { result, headers } = await report(stack.clients.s3);
    expect(result.incidents).toHaveLength(incidents.length);
    const line = `lake data as of ${clock('UTC').time(flushedAt)} UTC, 26 s ago`;
    for (const h of headers) {
      expect(h).toContain(line);
      expect(h).not.toContain('S3 unreachable');
    }
  });

  it('S3 down: the same report from the local cache, and every page says it read the cache', async () => {
    const down = new S3Client({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${await closedPort()}`,
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      const { result, headers } = await report(down);
      expect(result.incidents).toHaveLength(incidents.length);
      for (const h of headers)
        expect(h).toContain(
          `lake data as of ${clock('UTC').time(flushedAt)} UTC, 26 s ago · S3 unreachable (ECONNREFUSED): ` +
            `read from the local cache (${cacheDir}), as of its last listing`,
        );
    } finally {
      down.destroy();
    }
  });
});
