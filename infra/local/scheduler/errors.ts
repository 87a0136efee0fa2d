/**
 * The errors the emulator answers with, as EventBridge Scheduler does (restJson1): the HTTP status,
 * the `x-amzn-ErrorType` header naming the error, and a JSON body `{ "Message": "…" }`. The AWS SDK
 * turns them into its `ConflictException`, `ResourceNotFoundException`, `ValidationException`, ….
 */
export type SchedulerErrorType =
  | 'ConflictException'
  | 'ResourceNotFoundException'
  | 'ValidationException'
  | 'InternalServerException'
  | 'UnknownOperationException';

const STATUS: Record<SchedulerErrorType, number> = {
  ConflictException: 409,
  ResourceNotFoundException: 404,
  ValidationException: 400,
  InternalServerException: 500,
  UnknownOperationException: 404,
};

export class SchedulerApiError extends Error {
  readonly status: number;
  constructor(
    readonly type: SchedulerErrorType,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SchedulerApiError';
    this.status = STATUS[type];
  }
}

export const validationError = (message: string) => new SchedulerApiError('ValidationException', message);
export const notFound = (message: string) => new SchedulerApiError('ResourceNotFoundException', message);
export const conflict = (message: string) => new SchedulerApiError('ConflictException', message);

/** A stored schedule or group file could not be read or written. */
export class SchedulerStoreError extends Error {
  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${message}`, options);
    this.name = 'SchedulerStoreError';
  }
}
