import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { TableDef } from '../../schemas/lake.js';

/**
 * A local copy of the lake objects a query needs (DuckDB cannot read s3:// offline). Objects are
 * fetched by partition, skipped when the cached copy has the same ETag, and the query is given the
 * exact list of current keys, so an object deleted from the lake is never read from the cache.
 */
export class LakeCache {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    readonly dir: string,
  ) {}

  /** Fetches the table's objects in partitions accepted by `dtFilter`; returns local file paths. */
  async sync(table: TableDef, dtFilter: (dt: string) => boolean): Promise<{ files: string[]; fetched: number; cached: number }> {
    const wanted: { key: string; etag: string }[] = [];
    let token: string | undefined;
    do {
      const res = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: table.prefix, ContinuationToken: token }));
      for (const o of res.Contents ?? []) {
        const m = /\/dt=(\d{4}-\d{2}-\d{2})\/[^/]+\.parquet$/.exec(o.Key!);
        if (m && dtFilter(m[1])) wanted.push({ key: o.Key!, etag: o.ETag ?? '' });
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);

    let fetched = 0;
    const files: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < wanted.length) {
        const { key, etag } = wanted[next++];
        const file = resolve(join(this.dir, this.bucket, key));
        files.push(file);
        if (await this.isCurrent(file, etag)) continue;
        await mkdir(dirname(file), { recursive: true });
        const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
        const tmp = `${file}.part`;
        await pipeline(res.Body as Readable, createWriteStream(tmp));
        await rename(tmp, file);
        await writeFile(`${file}.etag`, etag);
        fetched++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, wanted.length) }, worker));
    files.sort();
    return { files, fetched, cached: wanted.length - fetched };
  }

  private async isCurrent(file: string, etag: string): Promise<boolean> {
    try {
      await stat(file);
      return (await readFile(`${file}.etag`, 'utf8')) === etag;
    } catch {
      return false;
    }
  }
}
