import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { TableDef } from '../../schemas/lake.js';
import { LakeUnreachableError } from './errors.js';

/** One object of a listing. */
export interface ListedObject {
  key: string;
  etag: string;
  /** ISO time S3 reports the object written (a flush's time). */
  lastModified?: string;
}

/** A listing of a prefix: from S3, or (S3 unreachable) the last one this cache saved. */
export interface Listing {
  objects: ListedObject[];
  /** With a delimiter: the common prefixes (e.g. `raw/dt=2026-11-28/`). */
  prefixes: string[];
  /** When S3 answered this listing (ISO). */
  listedAt: string;
  fromCache: boolean;
}

export interface SyncResult {
  files: string[];
  fetched: number;
  cached: number;
  /** Answering from the cache (S3 unreachable): objects of the saved listing not in the cache, skipped. */
  missing: number;
}

/** Why S3 could not be reached (the first failure), once the cache answers instead. */
export interface OfflineState {
  reason: string;
  cause: unknown;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

/** No answer from S3 (connection refused, timeout, DNS) or a 5xx: the engine is down, not the request wrong. */
export function isUnreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { code?: string; $metadata?: { httpStatusCode?: number } };
  if (e.name === 'TimeoutError' || (e.code !== undefined && NETWORK_CODES.has(e.code))) return true;
  if (e.$metadata !== undefined) return e.$metadata.httpStatusCode === undefined || e.$metadata.httpStatusCode >= 500;
  return false;
}

const reasonOf = (err: unknown) => {
  const e = err as { code?: string; name?: string; message?: string };
  return e.code ?? (e.name && e.name !== 'Error' ? e.name : undefined) ?? e.message ?? String(err);
};

/**
 * A local copy of the lake objects a query needs (DuckDB cannot read s3:// offline). Objects are
 * fetched by partition, skipped when the cached copy has the same ETag, and the query is given the
 * exact list of current keys, so an object deleted from the lake is never read from the cache.
 *
 * Every listing is saved in the cache; when S3 cannot be reached, the cache answers from the last
 * saved listing (the objects of it it holds) and `offline` says why: the answer is as of that listing.
 */
export class LakeCache {
  /** Set at the first listing S3 did not answer; later listings then read the cache directly. */
  offline: OfflineState | undefined;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    readonly dir: string,
  ) {}

  /** Lists a prefix (every page; with `delimiter`, also the common prefixes). */
  async list(prefix: string, delimiter?: string): Promise<Listing> {
    if (!this.offline) {
      try {
        const listing = await this.listS3(prefix, delimiter);
        await this.saveListing(prefix, delimiter, listing);
        return listing;
      } catch (err) {
        if (!isUnreachable(err)) throw err;
        this.offline = { reason: reasonOf(err), cause: err };
      }
    }
    const saved = await this.loadListing(prefix, delimiter);
    if (!saved) throw new LakeUnreachableError(this.bucket, prefix, this.dir, { cause: this.offline.cause });
    return saved;
  }

  /** Fetches the table's objects (`.<ext>` files) in partitions accepted by `dtFilter`; returns local file paths. */
  async sync(table: TableDef, dtFilter: (dt: string) => boolean, ext = 'parquet'): Promise<SyncResult> {
    const re = new RegExp(`/dt=(\\d{4}-\\d{2}-\\d{2})/[^/]+\\.${ext}$`);
    const listing = await this.list(table.prefix);
    const wanted = listing.objects.filter((o) => {
      const m = re.exec(o.key);
      return m !== null && dtFilter(m[1]);
    });
    const files: string[] = [];
    if (listing.fromCache) {
      let missing = 0;
      for (const { key, etag } of wanted) {
        const file = this.fileOf(key);
        if (await this.isCurrent(file, etag)) files.push(file);
        else missing++;
      }
      return { files: files.sort(), fetched: 0, cached: files.length, missing };
    }

    let fetched = 0;
    let next = 0;
    const worker = async () => {
      while (next < wanted.length) {
        const { key, etag } = wanted[next++];
        const file = this.fileOf(key);
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
    return { files, fetched, cached: wanted.length - fetched, missing: 0 };
  }

  private fileOf(key: string): string {
    return resolve(join(this.dir, this.bucket, key));
  }

  private async listS3(prefix: string, delimiter: string | undefined): Promise<Listing> {
    const objects: ListedObject[] = [];
    const prefixes: string[] = [];
    const listedAt = new Date().toISOString();
    let token: string | undefined;
    do {
      const res = await this.s3.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          Delimiter: delimiter,
          ContinuationToken: token,
        }),
      );
      for (const o of res.Contents ?? [])
        objects.push({ key: o.Key!, etag: o.ETag ?? '', lastModified: o.LastModified?.toISOString() });
      for (const p of res.CommonPrefixes ?? []) if (p.Prefix) prefixes.push(p.Prefix);
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return { objects, prefixes, listedAt, fromCache: false };
  }

  private listingFile(prefix: string, delimiter: string | undefined): string {
    return resolve(
      join(this.dir, this.bucket, '.listings', `${encodeURIComponent(`${prefix}|${delimiter ?? ''}`)}.json`),
    );
  }

  private async saveListing(prefix: string, delimiter: string | undefined, listing: Listing): Promise<void> {
    const file = this.listingFile(prefix, delimiter);
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.part`;
    await writeFile(
      tmp,
      JSON.stringify({ objects: listing.objects, prefixes: listing.prefixes, listedAt: listing.listedAt }),
    );
    await rename(tmp, file);
  }

  private async loadListing(prefix: string, delimiter: string | undefined): Promise<Listing | undefined> {
    try {
      const saved = JSON.parse(await readFile(this.listingFile(prefix, delimiter), 'utf8')) as Omit<
        Listing,
        'fromCache'
      >;
      return { ...saved, fromCache: true };
    } catch {
      return undefined;
    }
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
