/** Errors of `make query` and the query engines, each carrying its data. */

/** A query names a table or view the lake does not have. */
export class UnknownTableError extends Error {
  constructor(
    readonly table: string,
    readonly known: readonly { name: string; kind: 'table' | 'view' }[],
    options?: { cause?: unknown },
  ) {
    const list = (kind: string) =>
      known
        .filter((k) => k.kind === kind)
        .map((k) => k.name)
        .join(', ');
    super(
      `unknown table "${table}"; the lake has tables ${list('table')} and views ${list('view')} ` +
        `(SHOW TABLES describes them)`,
      options,
    );
    this.name = 'UnknownTableError';
  }
}

/** `NAME=` names no named query. */
export class UnknownNamedQueryError extends Error {
  constructor(
    readonly queryName: string,
    readonly known: readonly string[],
  ) {
    super(`no named query "${queryName}"; named queries: ${known.join(', ')} (NAME=list describes them)`);
    this.name = 'UnknownNamedQueryError';
  }
}

/** S3 cannot be reached and the local cache holds no listing of the prefix to answer from. */
export class LakeUnreachableError extends Error {
  constructor(
    readonly bucket: string,
    readonly prefix: string,
    readonly cacheDir: string,
    options?: { cause?: unknown },
  ) {
    const why = options?.cause instanceof Error ? `: ${options.cause.message || options.cause.name}` : '';
    super(
      `S3 unreachable for s3://${bucket}/${prefix}${why}, ` +
        `and the cache (${cacheDir}) has no earlier listing of it to answer from`,
      options,
    );
    this.name = 'LakeUnreachableError';
  }
}

/** An Athena query that did not finish within its deadline (`timeoutMs` of queryAthena). */
export class AthenaTimeoutError extends Error {
  constructor(
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(`Athena query did not finish within ${timeoutMs} ms`, options);
    this.name = 'AthenaTimeoutError';
  }
}
