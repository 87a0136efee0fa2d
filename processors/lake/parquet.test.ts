import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as arrow from 'apache-arrow';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENTS_TABLE, RAW_TABLE, type ColumnDef, type RawRow, type RowOf, type TableDef } from '../../schemas/lake.js';
import { generateEvents, toEventRows } from '../../test/bench/generate.js';
import {
  CREATED_BY,
  DEFAULT_COMPRESSION,
  ParquetRowError,
  WRITER_VERSION,
  arrowSchema,
  encodeArrowIpc,
  encodeParquet,
} from './parquet.js';

/** Generated records as the raw archive's rows. */
const rawRowsOf = (records: ReturnType<typeof generateEvents>): RawRow[] =>
  records.map((r) => ({
    shard_id: r.shardId,
    sequence_number: r.sequenceNumber,
    partition_key: r.partitionKey,
    arrival_time: r.arrivalTime,
    data: r.data,
  }));

const c = <
  const N extends string,
  const T extends 'string' | 'int' | 'bigint' | 'timestamp' | 'binary',
  const B extends boolean,
>(
  name: N,
  type: T,
  nullable: B,
) => ({ name, type, nullable, comment: '' }) as const;

/** Every column type, nullable and not. */
const ALL_TYPES = {
  name: 'all_types',
  prefix: 'test/all_types/',
  comment: '',
  columns: [
    c('s', 'string', false),
    c('s_null', 'string', true),
    c('i', 'int', false),
    c('i_null', 'int', true),
    c('b', 'bigint', false),
    c('b_null', 'bigint', true),
    c('t', 'timestamp', false),
    c('t_null', 'timestamp', true),
    c('bin', 'binary', false),
    c('bin_null', 'binary', true),
  ],
} as const satisfies TableDef;
type AllRow = RowOf<typeof ALL_TYPES>;

const ALL_ROWS: AllRow[] = [
  {
    s: 'plain ascii',
    s_null: null,
    i: 0,
    i_null: null,
    b: 0n,
    b_null: null,
    t: 0,
    t_null: null,
    bin: new Uint8Array([]),
    bin_null: null,
  },
  {
    s: '',
    s_null: '',
    i: -1,
    i_null: 7,
    b: -1n,
    b_null: 9007199254740993n,
    t: 1764288000123,
    t_null: 1764288000999,
    bin: new Uint8Array([0, 255]),
    bin_null: new Uint8Array([]),
  },
  {
    s: 'zoë — 日本語 🚨',
    s_null: 'whatsapp:+15551230001',
    i: 2147483647,
    i_null: -2147483648,
    b: 9223372036854775807n,
    b_null: -9223372036854775808n,
    t: -1,
    t_null: -86_400_001,
    bin: new Uint8Array([1, 2, 3]),
    bin_null: new Uint8Array([9]),
  },
  {
    s: 'e\u0301 combining, tab\there, newline\nhere, quote " and \\',
    s_null: null,
    i: 42,
    i_null: null,
    b: 42n,
    b_null: null,
    t: 4102444800000,
    t_null: null,
    bin: new Uint8Array(300).fill(7),
    bin_null: null,
  },
  {
    s: '\uD83D',
    s_null: '\uDEA8',
    i: 1,
    i_null: 1,
    b: 1n,
    b_null: 1n,
    t: 1,
    t_null: 1,
    bin: new Uint8Array([1]),
    bin_null: new Uint8Array([1]),
  },
];

let dir: string;
let db: DuckDBInstance;
let conn: DuckDBConnection;
let fileNo = 0;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'parquet-test-'));
  db = await DuckDBInstance.create(':memory:');
  conn = await db.connect();
});

afterAll(() => {
  conn?.closeSync();
  db?.closeSync();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function save(bytes: Uint8Array): string {
  const file = path.join(dir, `f${fileNo++}.parquet`);
  writeFileSync(file, bytes);
  return file;
}

async function query(sql: string): Promise<Record<string, unknown>[]> {
  return (await conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
}

const lit = (file: string) => `'${file.replaceAll("'", "''")}'`;

describe('arrowSchema', () => {
  it('maps every column type, keeps nullability and is built once per table', () => {
    const schema = arrowSchema(ALL_TYPES);
    expect(arrowSchema(ALL_TYPES)).toBe(schema);
    const byName = Object.fromEntries(schema.fields.map((f) => [f.name, f]));
    expect(byName.s.type).toBeInstanceOf(arrow.Utf8);
    expect(byName.i.type).toBeInstanceOf(arrow.Int32);
    expect(byName.b.type).toBeInstanceOf(arrow.Int64);
    expect(byName.bin.type).toBeInstanceOf(arrow.Binary);
    const t = byName.t.type as arrow.Timestamp;
    expect(t).toBeInstanceOf(arrow.Timestamp);
    expect(t.unit).toBe(arrow.TimeUnit.MILLISECOND);
    expect(t.timezone).toBe('UTC');
    expect(byName.s.nullable).toBe(false);
    expect(byName.s_null.nullable).toBe(true);
    expect(arrowSchema(EVENTS_TABLE).fields.map((f) => f.name)).toEqual(EVENTS_TABLE.columns.map((col) => col.name));
  });
});

describe('encodeArrowIpc', () => {
  it('is a valid Arrow IPC stream that apache-arrow reads back', () => {
    const table = arrow.tableFromIPC(encodeArrowIpc(ALL_TYPES, ALL_ROWS));
    expect(table.numRows).toBe(ALL_ROWS.length);
    const rows = table.toArray().map((r) => r.toJSON());
    rows.forEach((got, i) => {
      const want = ALL_ROWS[i];
      expect(got.s).toBe(want.s === '\uD83D' ? '\uFFFD' : want.s);
      expect(got.i).toBe(want.i);
      expect(got.i_null).toBe(want.i_null);
      expect(got.b).toBe(want.b);
      expect(got.b_null).toBe(want.b_null);
      expect(got.t).toBe(want.t);
      expect(got.t_null).toBe(want.t_null);
      expect(Array.from(got.bin as Uint8Array)).toEqual(Array.from(want.bin));
    });
  });
});

describe('encodeParquet → DuckDB', () => {
  it('round-trips every column type, nulls, empty and unicode strings, exact milliseconds', async () => {
    const file = save(encodeParquet(ALL_TYPES, ALL_ROWS));
    const got = await query(`
      SELECT *, epoch_ms(t) AS t_ms, epoch_ms(t_null) AS t_null_ms,
        typeof(t) AS t_type, typeof(i) AS i_type, typeof(b) AS b_type, typeof(bin) AS bin_type
      FROM read_parquet(${lit(file)})`);
    expect(got).toHaveLength(ALL_ROWS.length);
    got.forEach((row, k) => {
      const want = ALL_ROWS[k];
      // A lone surrogate is not UTF-8: it is written as U+FFFD, as TextEncoder does.
      const fix = (v: string | null) => (v === '\uD83D' || v === '\uDEA8' ? '\uFFFD' : v);
      expect(row.s).toBe(fix(want.s));
      expect(row.s_null).toBe(fix(want.s_null));
      expect(row.i).toBe(want.i);
      expect(row.i_null).toBe(want.i_null);
      expect(row.b).toBe(want.b);
      expect(row.b_null).toBe(want.b_null);
      expect(row.t_ms).toBe(BigInt(want.t));
      expect(row.t_null_ms).toBe(want.t_null === null ? null : BigInt(want.t_null));
      expect((row.t as Date).getTime()).toBe(want.t);
      expect(row.bin).toEqual(Buffer.from(want.bin));
      expect(row.bin_null).toEqual(want.bin_null === null ? null : Buffer.from(want.bin_null));
      expect(row.t_type).toBe('TIMESTAMP WITH TIME ZONE');
      expect(row.i_type).toBe('INTEGER');
      expect(row.b_type).toBe('BIGINT');
      expect(row.bin_type).toBe('BLOB');
    });
    // Empty string and null stay distinct.
    const [counts] = await query(
      `SELECT count(*) FILTER (s_null IS NULL) AS nulls, count(*) FILTER (s_null = '') AS empties ` +
        `FROM read_parquet(${lit(file)})`,
    );
    expect(counts).toEqual({ nulls: 2n, empties: 1n });
  });

  it('keeps the UTC instant: a session time zone does not shift the values', async () => {
    const file = save(encodeParquet(ALL_TYPES, ALL_ROWS.slice(1, 2)));
    await conn.run(`SET TimeZone = 'America/New_York'`);
    try {
      const [row] = await query(
        `SELECT strftime(t AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S.%g') AS utc, epoch_ms(t) AS ms ` +
          `FROM read_parquet(${lit(file)})`,
      );
      expect(row).toEqual({ utc: '2025-11-28 00:00:00.123', ms: 1764288000123n });
    } finally {
      await conn.run(`SET TimeZone = 'UTC'`);
    }
  });

  it('round-trips generated EVENTS_TABLE and RAW_TABLE rows exactly', async () => {
    const records = generateEvents({ events: 3000, seed: 7 });
    const rows = toEventRows(records);
    const file = save(encodeParquet(EVENTS_TABLE, rows));
    const cols = EVENTS_TABLE.columns
      .map((col) => (col.type === 'timestamp' ? `epoch_ms("${col.name}") AS "${col.name}"` : `"${col.name}"`))
      .join(', ');
    const got = await query(`SELECT ${cols} FROM read_parquet(${lit(file)})`);
    expect(got).toHaveLength(rows.length);
    got.forEach((row, k) => {
      const want = rows[k] as Record<string, unknown>;
      for (const col of EVENTS_TABLE.columns) {
        const w = want[col.name];
        expect(row[col.name], `${col.name} row ${k}`).toEqual(
          col.type === 'timestamp' && w !== null ? BigInt(w as number) : w,
        );
      }
    });

    const raw = rawRowsOf(records.slice(0, 500));
    const rawFile = save(encodeParquet(RAW_TABLE, raw));
    const back = await query(
      `SELECT sequence_number, epoch_ms(arrival_time) AS ms, data FROM read_parquet(${lit(rawFile)})`,
    );
    back.forEach((row, k) => {
      expect(row.sequence_number).toBe(raw[k].sequence_number);
      expect(row.ms).toBe(BigInt(raw[k].arrival_time));
      expect(Buffer.compare(row.data as Buffer, raw[k].data)).toBe(0);
    });
  });

  it('encodes lone surrogates value by value (they must not pair up across values)', async () => {
    const rows = [
      { ...ALL_ROWS[0], s: 'a\uD83D', s_null: 'ok' },
      { ...ALL_ROWS[0], s: '\uDEA8b', s_null: 'ë' },
      { ...ALL_ROWS[0], s: '🚨', s_null: null },
    ];
    const file = save(encodeParquet(ALL_TYPES, rows));
    const got = await query(`SELECT s, s_null, octet_length(encode(s)) AS bytes FROM read_parquet(${lit(file)})`);
    expect(got).toEqual([
      { s: 'a\uFFFD', s_null: 'ok', bytes: 4n },
      { s: '\uFFFDb', s_null: 'ë', bytes: 4n },
      { s: '🚨', s_null: null, bytes: 4n },
    ]);
  });

  it('writes a column whose first null is late, and a column that is all nulls', async () => {
    const rows = Array.from({ length: 1000 }, (_, i) => ({
      ...ALL_ROWS[0],
      s: `r${i}`,
      s_null: i >= 997 ? null : `v${i}`,
      i_null: null,
    }));
    const file = save(encodeParquet(ALL_TYPES, rows));
    const got = await query(
      `SELECT count(s_null) AS s_null, count(i_null) AS i_null, max(s_null) FILTER (s = 'r996') AS last ` +
        `FROM read_parquet(${lit(file)})`,
    );
    expect(got[0]).toEqual({ s_null: 997n, i_null: 0n, last: 'v996' });
  });

  it('writes an empty file for no rows', async () => {
    const file = save(encodeParquet(EVENTS_TABLE, []));
    const [row] = await query(`SELECT count(*) AS n FROM read_parquet(${lit(file)})`);
    expect(row.n).toBe(0n);
  });
});

describe('Parquet file layout', () => {
  it('timestamps are INT64 MILLIS adjusted to UTC; strings are UTF8; nullability is kept', async () => {
    const file = save(encodeParquet(ALL_TYPES, ALL_ROWS));
    const schema = await query(
      `SELECT name, type, converted_type, logical_type, repetition_type FROM parquet_schema(${lit(file)}) ` +
        `WHERE type IS NOT NULL`,
    );
    const by = Object.fromEntries(schema.map((r) => [r.name as string, r]));
    for (const name of ['t', 't_null']) {
      expect(by[name].type).toBe('INT64');
      expect(by[name].logical_type).toMatch(/^TimestampType\(isAdjustedToUTC=1, unit=TimeUnit\(MILLIS=/);
    }
    expect(by.s).toMatchObject({ type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' });
    expect(by.s_null.repetition_type).toBe('OPTIONAL');
    expect(by.i).toMatchObject({ type: 'INT32', repetition_type: 'REQUIRED' });
    expect(by.b.type).toBe('INT64');
    expect(by.bin).toMatchObject({ type: 'BYTE_ARRAY', converted_type: null });
  });

  it('uses the chosen compression for every column chunk, and the one asked for', async () => {
    const rows = toEventRows(generateEvents({ events: 2000, seed: 3 }));
    for (const [opts, want] of [
      [{}, DEFAULT_COMPRESSION.toUpperCase()],
      [{ compression: 'zstd' as const }, 'ZSTD'],
      [{ compression: 'none' as const }, 'UNCOMPRESSED'],
    ] as const) {
      const file = save(encodeParquet(EVENTS_TABLE, rows, opts));
      const codecs = await query(`SELECT DISTINCT compression FROM parquet_metadata(${lit(file)})`);
      expect(codecs.map((r) => r.compression)).toEqual([want]);
    }
    expect(DEFAULT_COMPRESSION).toBe('snappy');
  });

  it(
    'stores each column as its `storage` says: dictionary by default, PLAIN for distinct values, ' +
      'no statistics for payloads',
    async () => {
      const rows = toEventRows(generateEvents({ events: 2000, seed: 3 }));
      for (const [table, body] of [
        [EVENTS_TABLE, encodeParquet(EVENTS_TABLE, rows)],
        [RAW_TABLE, encodeParquet(RAW_TABLE, rawRowsOf(generateEvents({ events: 500, seed: 4 })))],
      ] as const) {
        const file = save(body);
        const meta = await query(
          `SELECT path_in_schema AS col, encodings, stats_min_value IS NOT NULL AS has_stats ` +
            `FROM parquet_metadata(${lit(file)})`,
        );
        const byCol = new Map(meta.map((m) => [String(m.col), m]));
        for (const col of table.columns as readonly ColumnDef[]) {
          const m = byCol.get(col.name)!;
          const dictionary = String(m.encodings).includes('DICTIONARY');
          expect({ col: col.name, dictionary }).toEqual({ col: col.name, dictionary: col.storage === undefined });
          // a column of nulls only has no min/max either way
          if (col.storage === 'blob')
            expect({ col: col.name, stats: m.has_stats }).toEqual({ col: col.name, stats: false });
        }
        expect(table.columns.filter((c: ColumnDef) => c.storage === 'blob').length).toBe(1);
      }
    },
  );

  it('splits row groups at rowGroupRows and sets a fixed created_by', async () => {
    const rows = toEventRows(generateEvents({ events: 2500, seed: 5 }));
    const file = save(encodeParquet(EVENTS_TABLE, rows, { rowGroupRows: 1000 }));
    const [meta] = await query(`SELECT created_by, num_rows, num_row_groups FROM parquet_file_metadata(${lit(file)})`);
    expect(CREATED_BY).toContain(`w${WRITER_VERSION} `);
    expect(meta).toEqual({
      created_by: CREATED_BY,
      num_rows: BigInt(rows.length),
      num_row_groups: BigInt(Math.ceil(rows.length / 1000)),
    });
  });
});

describe('determinism', () => {
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

  it('the same rows give identical bytes, call after call', () => {
    const rows = toEventRows(generateEvents({ events: 4000, seed: 11 }));
    const a = encodeParquet(EVENTS_TABLE, rows);
    encodeParquet(ALL_TYPES, ALL_ROWS); // reuse of the shared buffer in between
    const b = encodeParquet(
      EVENTS_TABLE,
      rows.map((r) => ({ ...r })),
    );
    expect(sha(b)).toBe(sha(a));
  });

  it('and across processes (no clock, no random ids, no hash seeds in the output)', () => {
    const script = path.join(dir, 'det.ts');
    const here = path.dirname(fileURLToPath(import.meta.url));
    writeFileSync(
      script,
      `import { createHash } from 'node:crypto';
       import { encodeParquet } from ${JSON.stringify(path.join(here, 'parquet.ts'))};
       import { EVENTS_TABLE } from ${JSON.stringify(path.join(here, '../../schemas/lake.ts'))};
       import { generateEvents, toEventRows } from ${JSON.stringify(path.join(here, '../../test/bench/generate.ts'))};
       const rows = toEventRows(generateEvents({ events: 1500, seed: 13 }));
       process.stdout.write(createHash('sha256').update(encodeParquet(EVENTS_TABLE, rows)).digest('hex'));`,
    );
    const run = () =>
      execFileSync(process.execPath, ['--import', 'tsx', script], { cwd: path.join(here, '../..'), encoding: 'utf8' });
    const first = run();
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(run()).toBe(first);
    expect(first).toBe(sha(encodeParquet(EVENTS_TABLE, toEventRows(generateEvents({ events: 1500, seed: 13 })))));
  });
});

describe('rows that do not fit the table', () => {
  const good = ALL_ROWS[1];
  it.each([
    ['null in a NOT NULL string', { s: null }, /all_types\.s row 1: null in a NOT NULL column/],
    ['number in a string column', { s: 5 }, /all_types\.s row 1: expected a string/],
    ['fraction in an int column', { i: 1.5 }, /all_types\.i row 1: expected a 32-bit integer/],
    ['int overflow', { i: 2 ** 31 }, /expected a 32-bit integer/],
    ['NaN timestamp', { t: Number.NaN }, /all_types\.t row 1: expected epoch milliseconds/],
    ['string timestamp', { t: '2026-01-01' }, /expected epoch milliseconds/],
    ['bigint out of range', { b: 2n ** 63n }, /expected a 64-bit bigint/],
    ['string in a binary column', { bin: 'x' }, /expected a Uint8Array/],
  ])('%s', (_, patch, message) => {
    const rows = [ALL_ROWS[0], { ...good, ...patch }] as unknown as AllRow[];
    expect(() => encodeParquet(ALL_TYPES, rows)).toThrow(ParquetRowError);
    expect(() => encodeParquet(ALL_TYPES, rows)).toThrow(message);
  });
});
