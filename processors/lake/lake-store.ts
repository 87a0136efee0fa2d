import { gunzipSync, gzipSync } from 'node:zlib';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { JoinSnapshot } from './join.js';
import type { LakeObject } from './objects.js';
import { LakeWriteError, StateSnapshotError } from './errors.js';

/** Key prefix of the join-state snapshots (not a table; expired by a lifecycle rule on AWS). */
export const STATE_PREFIX = 'state/';

/** A state key's name under `state/<group>/<shard>/`: `<lastSeq>[-e<epoch>].json.gz`. */
export function parseStateName(name: string): { lastSeq: string; epoch: number } | undefined {
  const m = /^(\d+)(?:-e(\d+))?\.json\.gz$/.exec(name);
  return m ? { lastSeq: m[1], epoch: Number(m[2] ?? 0) } : undefined;
}

/** The lake bucket as the processors use it: whole-object puts (atomic on S3), state snapshots, listings. */
export class LakeStore {
  constructor(
    readonly s3: S3Client,
    readonly bucket: string,
    private readonly concurrency = 8,
  ) {}

  /** Puts every object; resolves once all are durable. A retry rewrites the same keys. */
  async putAll(objects: readonly LakeObject[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < objects.length) {
        const o = objects[next++];
        try {
          await this.s3.send(
            new PutObjectCommand({ Bucket: this.bucket, Key: o.key, Body: o.body, ContentType: o.contentType }),
          );
        } catch (cause) {
          throw new LakeWriteError(o.key, { cause });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, objects.length) }, worker));
  }

  /** The join state as of `lastSeq`, written by a flush recorded in `epoch` (see `objectName`). */
  stateKey(group: string, shardId: string, lastSeq: string, epoch = 0): string {
    return `${STATE_PREFIX}${group}/${shardId}/${lastSeq}${epoch > 0 ? `-e${epoch}` : ''}.json.gz`;
  }

  async putState(key: string, snapshot: JoinSnapshot): Promise<void> {
    const body = gzipSync(JSON.stringify(snapshot));
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: 'application/json',
          ContentEncoding: 'gzip',
        }),
      );
    } catch (cause) {
      throw new LakeWriteError(key, { cause });
    }
  }

  async getState(key: string): Promise<JoinSnapshot> {
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const bytes = await res.Body!.transformToByteArray();
      return JSON.parse(gunzipSync(bytes).toString('utf8')) as JoinSnapshot;
    } catch (cause) {
      throw new StateSnapshotError(key, { cause, missing: (cause as { name?: string }).name === 'NoSuchKey' });
    }
  }

  async getBytes(key: string): Promise<Uint8Array> {
    const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return res.Body!.transformToByteArray();
  }

  async delete(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  /** Every key under a prefix (paginated). */
  async list(prefix: string): Promise<{ key: string; size: number }[]> {
    const out: { key: string; size: number }[] = [];
    let token: string | undefined;
    do {
      const res = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of res.Contents ?? []) out.push({ key: o.Key!, size: o.Size ?? 0 });
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out;
  }
}
