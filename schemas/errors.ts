/** A stream record that is not a valid envelope. `path` points at the failing field. */
export class RecordDecodeError extends Error {
  readonly path: string;
  constructor(
    readonly reason: string,
    path: readonly PropertyKey[],
    options?: { cause?: unknown },
  ) {
    const where = path.length ? path.map(String).join('.') : '(record)';
    super(`invalid stream record at ${where}: ${reason}`, options);
    this.name = 'RecordDecodeError';
    this.path = where;
  }
}
