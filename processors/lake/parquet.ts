/**
 * Lake rows → Parquet bytes, for DuckDB (local) and Athena (Glue tables) to read.
 *
 * Path: rows → one Arrow IPC stream (schema + one record batch) → parquet-wasm (arrow-rs's Parquet
 * writer compiled to WebAssembly) → bytes. The IPC stream is assembled by hand, straight from the
 * rows into reused buffers, with no Arrow builders:
 *  - one loop per column, generated once per table and column (a plain property load per row
 *    instead of a megamorphic `row[name]`), validates each value as it encodes it, and writes
 *    offsets, null bitmaps and fixed-width values into pre-sized typed arrays;
 *  - string values are UTF-8 encoded one by one, straight into a column buffer kept between calls:
 *    short ASCII values by a char-code loop (no native call), the rest by `Buffer#write`. No string
 *    is concatenated or flattened (the earlier join + `Buffer.byteLength` cost ~2× more);
 *  - the column buffers are then copied once into their place in the stream; validity bitmaps only
 *    for columns that hold nulls; timestamps as (low, high) 32-bit words (no BigInt per value).
 * Only the flatbuffer metadata comes from apache-arrow. Choices and measured figures:
 * docs/adr/0001-parquet-writer.md.
 *
 * Deterministic: the output is a pure function of (table, rows, options). parquet-wasm writes no
 * clock time and no random ids, and `created_by` is fixed here (parquet.test.ts checks it, also
 * across processes).
 */
import * as arrow from 'apache-arrow';
import { BufferRegion, FieldNode, Message, RecordBatch as RecordBatchHeader } from 'apache-arrow/ipc/metadata/message';
// The package's `node` export is the wasm-bindgen Node build: it compiles and instantiates the wasm
// synchronously at import (~40 ms once), so encodeParquet is a plain synchronous function.
import {
  Compression,
  EnabledStatistics,
  Table as WasmTable,
  WriterPropertiesBuilder,
  WriterVersion,
  writeParquet,
} from 'parquet-wasm';
import type { ColumnDef, RowOf, TableDef } from '../../schemas/lake.js';

export type ParquetCompression = 'zstd' | 'snappy' | 'lz4_raw' | 'gzip' | 'none';

/** Chosen by measurement (docs/adr/0001-parquet-writer.md); Athena (engine v3) and DuckDB read it. */
export const DEFAULT_COMPRESSION: ParquetCompression = 'snappy';

/** Max rows per row group. A processor flush (≤ FLUSH_MAX_ROWS rows) is one row group. */
export const DEFAULT_ROW_GROUP_ROWS = 128 * 1024;

export interface ParquetOptions {
  compression?: ParquetCompression;
  /** Max rows per row group (default DEFAULT_ROW_GROUP_ROWS). */
  rowGroupRows?: number;
}

const CODECS: Record<ParquetCompression, Compression> = {
  zstd: Compression.ZSTD,
  snappy: Compression.SNAPPY,
  lz4_raw: Compression.LZ4_RAW,
  gzip: Compression.GZIP,
  none: Compression.UNCOMPRESSED,
};

/**
 * The writer's version: bumped whenever the same rows would give other bytes, so an object says which
 * writer made it (in `created_by`). A flush replayed by a newer writer rewrites its objects (same
 * keys, same rows) in the newer encoding. 1: every column dictionary-encoded with statistics.
 * 2: `storage` of schemas/lake.ts (PLAIN for nearly-distinct columns, no statistics for payloads).
 */
export const WRITER_VERSION = 2;

/** Parquet `created_by`: fixed, so the bytes do not depend on the library's version string. */
export const CREATED_BY = `pagetrail-lake w${WRITER_VERSION} parquet-wasm 0.8`;

function arrowType(column: ColumnDef): arrow.DataType {
  switch (column.type) {
    case 'string':
      return new arrow.Utf8();
    case 'int':
      return new arrow.Int32();
    case 'bigint':
      return new arrow.Int64();
    case 'timestamp':
      // The timezone makes arrow-rs write isAdjustedToUTC=true: an instant, not a wall-clock time.
      return new arrow.TimestampMillisecond('UTC');
    case 'binary':
      return new arrow.Binary();
  }
}

/** A row that does not fit its table's definition. */
export class ParquetRowError extends TypeError {
  constructor(
    readonly table: string,
    readonly column: string,
    readonly row: number,
    problem: string,
  ) {
    super(`${table}.${column} row ${row}: ${problem}`);
    this.name = 'ParquetRowError';
  }
}

/** One column after its loop: validity, offsets, fixed-width data, where its string bytes are. */
interface Scanned {
  nullCount: number;
  /** Validity bitmap (bit set = value present), only when nullCount > 0. */
  validity: Uint8Array | null;
  /** Utf8/Binary value offsets, in bytes. */
  offsets: Int32Array | null;
  /** Utf8: index of the column's buffer in the table's string sinks (else -1). */
  sink: number;
  /** Utf8 / Binary: bytes of values. */
  bytes: number;
  /** Int32 / Int64 / Timestamp (as low, high Int32 words) values. */
  data: Int32Array | BigInt64Array | null;
}

/**
 * Growable byte buffers kept between calls, one per string column of a table: `reserve(j, at, more)`
 * returns column j's buffer with room for `more` bytes at `at`, keeping the bytes before `at`.
 */
interface StringSinks {
  bufs: Buffer[];
  reserve(j: number, at: number, more: number): Buffer;
}

type Scan = (
  rows: readonly unknown[],
  n: number,
  firstNull: (i: number, n: number) => Uint8Array,
  bad: (column: number, row: number, value: unknown) => never,
  sinks: StringSinks,
) => Scanned[];

interface Compiled {
  schema: arrow.Schema;
  /** The framed IPC schema message (continuation, length, flatbuffer, padding). */
  schemaMessage: Uint8Array;
  /** The table's loop. */
  scan: Scan;
  /** Its string columns' buffers. */
  sinks: StringSinks;
}

const compiled = new WeakMap<TableDef, Compiled>();

/** Values up to this many UTF-16 units are tried as ASCII by a char-code loop before a native write. */
const SHORT = 48;

/**
 * The loop of a table, generated once: one pass over the rows, every column of a row read while the
 * row is in cache (one loop per column was ~4× slower: each pass re-fetched every row object), each
 * property name a literal, so every load is a plain (monomorphic) property load rather than a
 * megamorphic `row[name]`. Each value is checked against its column type as it is encoded (anything
 * else throws ParquetRowError through `bad`). Strings: room for 3 bytes per UTF-16 unit is reserved
 * (the UTF-8 bound), then short ASCII values are copied by a char-code loop and the rest written by
 * `Buffer#write` (UTF-8; a lone surrogate becomes U+FFFD, as TextEncoder writes it), value by value,
 * so nothing pairs up across values; offsets are byte offsets from the start.
 */
function scanSource(table: TableDef): string {
  const head: string[] = [];
  const body: string[] = [];
  const out: string[] = [];
  let sink = 0;
  table.columns.forEach((col, j) => {
    const key = JSON.stringify(col.name);
    const valid = col.nullable ? `if (nb${j} !== null) nb${j}[i >> 3] |= 1 << (i & 7);` : '';
    const onNull = col.nullable ? `{ if (nb${j} === null) nb${j} = firstNull(i, n); nc${j}++; }` : `bad(${j}, i, v);`;
    head.push(`let nb${j} = null, nc${j} = 0;`);
    let test: string;
    let store: string;
    let after = '';
    let result: string;
    switch (col.type) {
      case 'string': {
        const k = sink++;
        head.push(
          `const o${j} = new Int32Array(n + 1); let b${j} = sinks.bufs[${k}], cap${j} = b${j}.length, at${j} = 0;`,
        );
        test = `typeof v === 'string'`;
        store = `const L = v.length;
    if (at${j} + 3 * L > cap${j}) { b${j} = sinks.reserve(${k}, at${j}, 3 * L); cap${j} = b${j}.length; }
    let k = 0;
    if (L <= ${SHORT}) for (; k < L; k++) { const x = v.charCodeAt(k); if (x > 127) break; b${j}[at${j} + k] = x; }
    at${j} += k === L ? L : b${j}.write(v, at${j});`;
        after = `o${j}[i + 1] = at${j};`;
        result = `{ nullCount: nc${j}, validity: nb${j}, offsets: o${j}, bytes: at${j}, sink: ${k}, data: null }`;
        break;
      }
      case 'binary':
        head.push(`const o${j} = new Int32Array(n + 1); let c${j} = 0;`);
        test = 'v instanceof Uint8Array';
        store = `c${j} += v.byteLength;`;
        after = `o${j}[i + 1] = c${j};`;
        result = `{ nullCount: nc${j}, validity: nb${j}, offsets: o${j}, bytes: c${j}, sink: -1, data: null }`;
        break;
      case 'int':
        head.push(`const d${j} = new Int32Array(n);`);
        test = `typeof v === 'number' && (v | 0) === v`;
        store = `d${j}[i] = v;`;
        result = `{ nullCount: nc${j}, validity: nb${j}, offsets: null, bytes: 0, sink: -1, data: d${j} }`;
        break;
      case 'bigint':
        head.push(`const d${j} = new BigInt64Array(n);`);
        test =
          `(typeof v === 'bigint' && BigInt.asIntN(64, v) === v) || ` +
          `(typeof v === 'number' && Number.isSafeInteger(v))`;
        store = `d${j}[i] = typeof v === 'bigint' ? v : BigInt(v);`;
        result = `{ nullCount: nc${j}, validity: nb${j}, offsets: null, bytes: 0, sink: -1, data: d${j} }`;
        break;
      case 'timestamp':
        // Int64 little-endian as (low, high) words: exact for every integer ms within ±2^53, no BigInt.
        head.push(`const d${j} = new Int32Array(2 * n);`);
        test = `typeof v === 'number' && v >= -8.64e15 && v <= 8.64e15`;
        store =
          `const ms = Math.floor(v), hi = Math.floor(ms / 4294967296); ` +
          `d${j}[2 * i] = ms - hi * 4294967296; d${j}[2 * i + 1] = hi;`;
        result = `{ nullCount: nc${j}, validity: nb${j}, offsets: null, bytes: 0, sink: -1, data: d${j} }`;
        break;
    }
    body.push(
      [
        `  v = r[${key}];`,
        `  if (${test}) { ${store} ${valid} }`,
        `  else if (v === null || v === undefined) ${onNull}`,
        `  else bad(${j}, i, v);`,
        `  ${after}`,
      ].join('\n'),
    );
    out.push(result);
  });
  return [
    `'use strict';`,
    head.join('\n'),
    'let v;',
    'for (let i = 0; i < n; i++) {',
    '  const r = rows[i];',
    body.join('\n'),
    '}',
    `return [${out.join(', ')}];`,
  ].join('\n');
}

/** Buffers for a table's string columns, kept between calls (grown as needed). */
function stringSinks(count: number): StringSinks {
  return {
    bufs: Array.from({ length: count }, () => Buffer.allocUnsafe(64 << 10)),
    reserve(j: number, at: number, more: number): Buffer {
      const old = this.bufs[j];
      const next = Buffer.allocUnsafe(Math.ceil(Math.max(2 * old.length, at + more) / 65536) * 65536);
      next.set(old.subarray(0, at));
      this.bufs[j] = next;
      return next;
    },
  };
}

function compile(table: TableDef): Compiled {
  let c = compiled.get(table);
  if (c) return c;
  const schema = new arrow.Schema(table.columns.map((col) => new arrow.Field(col.name, arrowType(col), col.nullable)));
  // Column names go into the source as JSON string literals only: any name is safe.
  const scan = new Function('rows', 'n', 'firstNull', 'bad', 'sinks', scanSource(table)) as Scan;
  const sinks = stringSinks(table.columns.filter((col) => col.type === 'string').length);
  c = { schema, schemaMessage: frame(Message.encode(Message.from(schema))), scan, sinks };
  compiled.set(table, c);
  return c;
}

/** The Arrow schema of a lake table (built once per table). */
export function arrowSchema(table: TableDef): arrow.Schema {
  return compile(table).schema;
}

/** An IPC message: continuation marker, metadata length, flatbuffer, zero padding to 8 bytes. */
function frame(flatbuffer: Uint8Array): Uint8Array {
  const size = (flatbuffer.byteLength + 8 + 7) & ~7;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setInt32(0, -1, true);
  view.setInt32(4, size - 8, true);
  out.set(flatbuffer, 8);
  return out;
}

const pad8 = (n: number) => (n + 7) & ~7;

/** A validity bitmap for a column whose first null is row i: rows 0..i-1 are valid. */
function firstNull(i: number, n: number): Uint8Array {
  const bitmap = new Uint8Array(pad8((n + 7) >> 3));
  bitmap.fill(0xff, 0, i >> 3);
  for (let k = i & ~7; k < i; k++) bitmap[k >> 3] |= 1 << (k & 7);
  return bitmap;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'object' && v !== null) return v.constructor?.name ?? 'object';
  return `${typeof v} ${String(v)}`;
}

const EXPECTED: Record<ColumnDef['type'], string> = {
  string: 'a string',
  int: 'a 32-bit integer',
  bigint: 'a 64-bit bigint',
  timestamp: 'epoch milliseconds',
  binary: 'a Uint8Array',
};

/**
 * The IPC stream is assembled in a buffer kept between calls: parquet-wasm copies it into wasm
 * memory at once, and reusing it saves the page faults of a fresh allocation (~0.7 ms per MB
 * here). Every byte of the used part is written on each call (padding explicitly zeroed).
 */
let scratch = new Uint8Array(0);

function scratchOf(size: number): Uint8Array<ArrayBuffer> {
  if (scratch.length < size || scratch.length > 4 * size + (64 << 20))
    scratch = new Uint8Array(Math.ceil(size / 65536) * 65536);
  return scratch.subarray(0, size);
}

/**
 * Rows of a lake table as an Arrow IPC stream (schema message, one record batch, end-of-stream).
 * Throws ParquetRowError for a value that does not fit its column (type, or null in NOT NULL).
 */
export function encodeArrowIpc<T extends TableDef>(table: T, rows: readonly RowOf<T>[]): Uint8Array {
  return ipcStream(table, rows).slice();
}

/** As encodeArrowIpc, into the shared scratch buffer: valid until the next call. */
function ipcStream<T extends TableDef>(table: T, rows: readonly RowOf<T>[]): Uint8Array {
  const { schemaMessage, scan, sinks } = compile(table);
  const n = rows.length;
  const cols = table.columns;
  const bad = (j: number, i: number, v: unknown): never => {
    const c = cols[j];
    throw new ParquetRowError(
      table.name,
      c.name,
      i,
      v === null || v === undefined ? 'null in a NOT NULL column' : `expected ${EXPECTED[c.type]}, got ${describe(v)}`,
    );
  };
  // The loop, then buffer sizes in IPC order per column: validity, [offsets], data.
  const scanned = scan(rows as readonly unknown[], n, firstNull, bad, sinks);
  const sizes = cols.map((c, j) => {
    const s = scanned[j];
    const validity = s.nullCount > 0 ? (n + 7) >> 3 : 0;
    return c.type === 'string' || c.type === 'binary'
      ? [validity, 4 * (n + 1), s.bytes]
      : [validity, s.data!.byteLength];
  });

  // Layout: every buffer 8-byte aligned in the body.
  const nodes: FieldNode[] = [];
  const regions: BufferRegion[] = [];
  const starts: number[][] = [];
  let bodyLength = 0;
  cols.forEach((_, j) => {
    nodes.push(new FieldNode(n, scanned[j].nullCount));
    starts.push(
      sizes[j].map((size) => {
        regions.push(new BufferRegion(bodyLength, size));
        const at = bodyLength;
        bodyLength += pad8(size);
        return at;
      }),
    );
  });
  const batchMessage = frame(Message.encode(Message.from(new RecordBatchHeader(n, nodes, regions, null), bodyLength)));
  const bodyStart = schemaMessage.length + batchMessage.length;
  const total = bodyStart + bodyLength + 8;
  const stream = scratchOf(total);
  stream.set(schemaMessage, 0);
  stream.set(batchMessage, schemaMessage.length);

  // Every buffer in place.
  cols.forEach((c, j) => {
    const s = scanned[j];
    const at = starts[j].map((x) => bodyStart + x);
    sizes[j].forEach((size, k) => {
      stream.fill(0, at[k] + size, at[k] + pad8(size));
    });
    if (s.validity) stream.set(s.validity.subarray(0, sizes[j][0]), at[0]);
    if (c.type === 'string') {
      new Int32Array(stream.buffer, at[1], n + 1).set(s.offsets!);
      stream.set(sinks.bufs[s.sink].subarray(0, s.bytes), at[2]);
    } else if (c.type === 'binary') {
      const offsets = s.offsets!;
      new Int32Array(stream.buffer, at[1], n + 1).set(offsets);
      const dest = at[2];
      const key = c.name;
      for (let i = 0; i < n; i++) {
        const v = (rows[i] as Record<string, unknown>)[key];
        if (v instanceof Uint8Array) stream.set(v, dest + offsets[i]);
      }
    } else {
      const data = s.data!;
      stream.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at[1]);
    }
  });
  // A buffer grown for one unusually large batch is given back (it never shrinks otherwise).
  scanned.forEach((s) => {
    if (s.sink >= 0 && sinks.bufs[s.sink].length > 4 * s.bytes + (64 << 20))
      sinks.bufs[s.sink] = Buffer.allocUnsafe(64 << 10);
  });
  // End-of-stream marker.
  const view = new DataView(stream.buffer, stream.byteOffset, total);
  view.setInt32(total - 8, -1, true);
  view.setInt32(total - 4, 0, true);
  return stream;
}

/** Parquet bytes of rows of a lake table (one row group per `rowGroupRows` rows). */
export function encodeParquet<T extends TableDef>(
  table: T,
  rows: readonly RowOf<T>[],
  opts: ParquetOptions = {},
): Uint8Array {
  const ipc = ipcStream(table, rows);
  let props = new WriterPropertiesBuilder()
    .setCompression(CODECS[opts.compression ?? DEFAULT_COMPRESSION])
    .setMaxRowGroupSize(opts.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS)
    .setWriterVersion(WriterVersion.V1)
    .setStatisticsEnabled(EnabledStatistics.Chunk)
    .setCreatedBy(CREATED_BY);
  // writeParquet consumes its properties, so they are built per call (a few µs).
  for (const col of table.columns) {
    if (col.storage === undefined) continue;
    props = props.setColumnDictionaryEnabled(col.name, false);
    if (col.storage === 'blob') props = props.setColumnStatisticsEnabled(col.name, EnabledStatistics.None);
  }
  return writeParquet(WasmTable.fromIPCStream(ipc), props.build());
}
